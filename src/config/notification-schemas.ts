import { z } from 'zod';
import type { PathSegment } from './problems.js';

/*
 * The destinations a `notifications:` list may name, with the keys the Python Fraisier reads for
 * each (slack, discord, teams, webhook, email, the four *_issue types) and the ones added here
 * (pagerduty; the webhook's signing secret; email's `secure`). Checked once at load, like a
 * target's settings; the channels that send get these typed settings. No heavy import here: the
 * configuration loads on every CLI start.
 */

export const NOTIFICATION_TYPES = [
  'slack',
  'discord',
  'teams',
  'pagerduty',
  'webhook',
  'email',
  'github_issue',
  'gitlab_issue',
  'gitea_issue',
  'bitbucket_issue',
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/** The lists of a `notifications:` block, each named after the event it is for. */
export const NOTIFICATION_LISTS = ['on_started', 'on_success', 'on_failure', 'on_rollback', 'on_approval'] as const;
export type NotificationList = (typeof NOTIFICATION_LISTS)[number];

const HTTP_URL_ERROR = 'expected an http(s) URL';
const httpUrl = z.string().refine((value) => /^https?:\/\/[^\s/]+/i.test(value), { error: HTTP_URL_ERROR });
const email = z.string().regex(/^[^\s@<>]+@[^\s@<>]+$/, { error: 'expected an e-mail address such as ops@example.com' });
const repo = z.string().regex(/^[^\s/]+(\/[^\s/]+)+$/, { error: 'expected the repository as owner/name (GitLab: group/subgroup/project)' });

const slack = z.strictObject({ type: z.literal('slack'), webhook_url: httpUrl });

const discord = z.strictObject({ type: z.literal('discord'), webhook_url: httpUrl, username: z.string().min(1).max(80).optional() });

const teams = z.strictObject({
  type: z.literal('teams'),
  /** A Workflows ("When a Teams webhook request is received") URL: the old connectors are retired. */
  webhook_url: httpUrl,
  /** Written under failures, e.g. "@oncall" (the Python Fraisier's key). */
  mention_on_failure: z.string().min(1).optional(),
});

const pagerduty = z.strictObject({
  type: z.literal('pagerduty'),
  /** The Events API v2 integration key of the service (32 characters). */
  routing_key: z.string().min(1, { error: 'the integration (routing) key of a PagerDuty Events API v2 integration' }),
  severity: z.enum(['critical', 'error', 'warning', 'info']).optional(),
  /** payload.source (default: "fraisier"). */
  source: z.string().min(1).optional(),
  /** Default https://events.pagerduty.com/v2/enqueue (EU accounts: https://events.eu.pagerduty.com/v2/enqueue). */
  api_url: httpUrl.optional(),
});

const secretList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
  error: 'expected a signing secret ("whsec_..." or any string), or a list of them while one is rotated',
});

const webhook = z.strictObject({
  type: z.literal('webhook'),
  url: httpUrl,
  method: z.enum(['POST', 'PUT', 'PATCH']).optional(),
  headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { error: 'expected an HTTP header name' }), z.string()).optional(),
  /** Standard Webhooks signatures (one per secret), and X-Hub-Signature-256 with the first. */
  secret: secretList.optional(),
});

const mail = z.strictObject({
  type: z.literal('email'),
  smtp_host: z.string().min(1).optional(),
  smtp_port: z.number().int().min(1).max(65535).optional(),
  from_email: email,
  to_emails: z.array(email).min(1, { error: 'at least one recipient' }),
  smtp_user: z.string().min(1).optional(),
  smtp_password: z.string().optional(),
  subject_prefix: z.string().optional(),
  /** STARTTLS, required (the Python Fraisier's default, true); false sends in clear. */
  use_tls: z.boolean().optional(),
  /** Implicit TLS from the first byte (port 465). */
  secure: z.boolean().optional(),
});

const issueKeys = {
  token: z.string().min(1, { error: 'an API token that may open, comment on and close issues' }),
  repo,
  /** GitHub: the API root (https://api.github.com, or https://ghe.example.com/api/v3); GitLab, Gitea: the server's root. */
  api_base: httpUrl.optional(),
  labels: z.array(z.string().min(1)).optional(),
  assignees: z.array(z.string().min(1)).optional(),
};
const githubIssue = z.strictObject({ type: z.literal('github_issue'), ...issueKeys });
const gitlabIssue = z.strictObject({ type: z.literal('gitlab_issue'), ...issueKeys });
const giteaIssue = z.strictObject({ type: z.literal('gitea_issue'), ...issueKeys });
const bitbucketIssue = z.strictObject({ type: z.literal('bitbucket_issue'), ...issueKeys });

/** The schema of each destination type's settings. */
export const DESTINATION_SCHEMAS = {
  slack,
  discord,
  teams,
  pagerduty,
  webhook,
  email: mail,
  github_issue: githubIssue,
  gitlab_issue: gitlabIssue,
  gitea_issue: giteaIssue,
  bitbucket_issue: bitbucketIssue,
} satisfies Record<NotificationType, z.ZodObject>;

export type SlackSettings = z.infer<typeof slack>;
export type DiscordSettings = z.infer<typeof discord>;
export type TeamsSettings = z.infer<typeof teams>;
export type PagerDutySettings = z.infer<typeof pagerduty>;
export type WebhookSettings = z.infer<typeof webhook>;
export type EmailSettings = z.infer<typeof mail>;
export type GitIssueSettings = z.infer<typeof githubIssue> | z.infer<typeof gitlabIssue> | z.infer<typeof giteaIssue> | z.infer<typeof bitbucketIssue>;
export type DestinationSettings =
  | SlackSettings
  | DiscordSettings
  | TeamsSettings
  | PagerDutySettings
  | WebhookSettings
  | EmailSettings
  | GitIssueSettings;

/** Keys of a destination whose values are secrets (credentials, or URLs that are one). */
const SECRET_SETTING = new Set(['webhook_url', 'url', 'routing_key', 'token', 'smtp_password', 'secret', 'headers']);

/**
 * Whether the value at `path` is a notification secret: a key of SECRET_SETTING (or a header's
 * value) inside a destination of a `notifications:` list. Such a value may stay unavailable when
 * the configuration is loaded to read only, and is never shown.
 */
export function isNotificationSecretPath(path: readonly PathSegment[]): boolean {
  const at = path.lastIndexOf('notifications');
  if (at < 0) return false;
  const [list, index, key] = path.slice(at + 1);
  return typeof list === 'string' && (NOTIFICATION_LISTS as readonly string[]).includes(list) && typeof index === 'number' && typeof key === 'string' && SECRET_SETTING.has(key);
}

/** The secret values of a destination's settings (to mask them in errors and responses). */
export function secretValues(settings: DestinationSettings): string[] {
  const values: string[] = [];
  for (const [key, value] of Object.entries(settings)) {
    if (!SECRET_SETTING.has(key) || value === undefined) continue;
    if (typeof value === 'string') values.push(value);
    else if (Array.isArray(value)) values.push(...value.filter((v): v is string => typeof v === 'string'));
    else if (typeof value === 'object' && value) values.push(...Object.values(value as Record<string, string>));
  }
  return values.filter((v) => v.length >= 4);
}

/** Where a destination sends, with nothing secret: a URL's origin, a repository, a mail server. */
export function describeTarget(settings: DestinationSettings): string {
  const origin = (url: string) => {
    try {
      const parsed = new URL(url);
      return `${parsed.origin}${parsed.pathname.length > 1 || parsed.search ? '/********' : ''}`;
    } catch {
      return '********';
    }
  };
  switch (settings.type) {
    case 'slack':
    case 'discord':
    case 'teams':
      return origin(settings.webhook_url);
    case 'webhook':
      return `${settings.method ?? 'POST'} ${origin(settings.url)}`;
    case 'pagerduty':
      return `${settings.api_url ? new URL(settings.api_url).origin : 'https://events.pagerduty.com'} (routing key ********)`;
    case 'email':
      return `smtp://${settings.smtp_host ?? 'localhost'}:${settings.smtp_port ?? (settings.secure ? 465 : 587)} → ${settings.to_emails.join(', ')}`;
    default:
      return `${settings.api_base ? new URL(settings.api_base).host : defaultIssueHost(settings.type)} ${settings.repo}`;
  }
}

function defaultIssueHost(type: GitIssueSettings['type']): string {
  return type === 'github_issue' ? 'github.com' : type === 'gitlab_issue' ? 'gitlab.com' : type === 'bitbucket_issue' ? 'bitbucket.org' : 'gitea';
}
