import { createHash } from 'node:crypto';
import type { z } from 'zod';
import {
  DESTINATION_SCHEMAS,
  type DestinationSettings,
  describeTarget,
  NOTIFICATION_LISTS,
  type NotificationList,
  type NotificationType,
} from './notification-schemas.js';
import { formatPath, type PathSegment } from './problems.js';
import { type RawConfig, type RawEnvironmentNotifications, toSeconds } from './raw-schema.js';
import type { NotificationDestination, NotificationEvent, NotificationScope, NotificationsConfig } from './types.js';

/*
 * `notifications:` blocks, at the top level, under a top-level environment name, and under an
 * environment of a fraise (where the Python Fraisier read them). Each list is checked entry by
 * entry against its type's schema. How the blocks combine for one deployment is
 * notifications/routes.ts.
 */

export interface NotificationReport {
  (severity: 'error' | 'warning', path: PathSegment[], message: string, key?: string): void;
  /** Reports zod issues of `schema` validated at `prefix`. */
  issues: (schema: z.ZodType, issues: readonly z.core.$ZodIssue[], prefix: PathSegment[]) => void;
}

export const DEFAULT_GIVE_UP_AFTER_SECONDS = 24 * 3600;
export const DEFAULT_RETRY_INITIAL_SECONDS = 5;
export const DEFAULT_RETRY_MAX_SECONDS = 3600;
export const DEFAULT_NOTIFICATION_TIMEOUT_SECONDS = 15;

const EVENT_OF: Record<NotificationList, NotificationEvent> = {
  on_started: 'started',
  on_success: 'success',
  on_failure: 'failure',
  on_rollback: 'rollback',
  on_approval: 'approval',
};

/** Types that keep something open (an incident, an issue) from a failure to the next success. */
export const STATEFUL_TYPES: readonly NotificationType[] = ['pagerduty', 'github_issue', 'gitlab_issue', 'gitea_issue'];

export function normalizeNotifications(raw: RawConfig, report: NotificationReport, unavailable: ReadonlySet<string>): NotificationsConfig {
  const block = raw.notifications;
  const top = normalizeScope(block, ['notifications'], report, unavailable);
  const environments: Record<string, NotificationScope> = {};
  for (const [name, env] of Object.entries(raw.environments ?? {})) {
    const scope = normalizeScope(env.notifications, ['environments', name, 'notifications'], report, unavailable);
    if (scope) environments[name] = scope;
  }
  const seconds = (value: Parameters<typeof toSeconds>[0] | undefined, fallback: number) => (value === undefined ? fallback : toSeconds(value));
  const config: NotificationsConfig = {
    ...(top ? { top } : {}),
    environments,
    giveUpAfterSeconds: seconds(block?.give_up_after, DEFAULT_GIVE_UP_AFTER_SECONDS),
    retryInitialSeconds: seconds(block?.retry_initial, DEFAULT_RETRY_INITIAL_SECONDS),
    retryMaxSeconds: seconds(block?.retry_max, DEFAULT_RETRY_MAX_SECONDS),
    timeoutSeconds: seconds(block?.timeout, DEFAULT_NOTIFICATION_TIMEOUT_SECONDS),
  };
  if (config.giveUpAfterSeconds <= 0) report('error', ['notifications'], 'must be more than 0', 'give_up_after');
  if (config.retryInitialSeconds <= 0) report('error', ['notifications'], 'must be more than 0', 'retry_initial');
  if (config.retryMaxSeconds < config.retryInitialSeconds) report('error', ['notifications'], `must be at least retry_initial (${config.retryInitialSeconds}s)`, 'retry_max');
  if (config.timeoutSeconds <= 0) report('error', ['notifications'], 'must be more than 0', 'timeout');
  return config;
}

/** One block; undefined when there is none. */
export function normalizeScope(
  raw: RawEnvironmentNotifications | undefined,
  path: PathSegment[],
  report: NotificationReport,
  unavailable: ReadonlySet<string>,
): NotificationScope | undefined {
  if (!raw) return undefined;
  const scope: NotificationScope = { enabled: raw.enabled ?? true, inherit: raw.inherit ?? true, lists: {} };
  if (raw.inherit !== undefined && path[0] === 'notifications') report('warning', path, 'the top level inherits from nothing: inherit applies to environments', 'inherit');
  for (const list of NOTIFICATION_LISTS) {
    const value = raw[list];
    if (value === undefined || value === null) continue;
    const listPath = [...path, list];
    if (typeof value === 'string') {
      report('warning', listPath, `a script path: Fraisier runs no notification script (nor did the Python Fraisier); list destinations instead, e.g. ${list}: [{type: slack, webhook_url: "\${SLACK_WEBHOOK_URL}"}]`);
      continue;
    }
    const event = EVENT_OF[list];
    const destinations: NotificationDestination[] = [];
    value.forEach((entry, index) => {
      const destination = normalizeDestination(entry as { type: NotificationType } & Record<string, unknown>, event, [...listPath, index], report, unavailable);
      if (destination && !destinations.some((d) => d.fingerprint === destination.fingerprint)) destinations.push(destination);
    });
    scope.lists[event] = destinations;
  }
  return scope;
}

function normalizeDestination(
  entry: { type: NotificationType } & Record<string, unknown>,
  event: NotificationEvent,
  path: PathSegment[],
  report: NotificationReport,
  unavailable: ReadonlySet<string>,
): NotificationDestination | undefined {
  const { type } = entry;
  if (type === 'bitbucket_issue') {
    report('warning', path, 'cannot be delivered: Bitbucket Cloud removed its issue tracker and its API (2026-08-20); nothing is sent to it (use github_issue, gitlab_issue or gitea_issue, or another type)', 'type');
    return undefined;
  }
  const stateful = STATEFUL_TYPES.includes(type);
  if (stateful && (event === 'started' || event === 'approval')) {
    report('warning', path, `${type} opens on failures and rollbacks and resolves on successes: under on_${event} it is not sent`, 'type');
    return undefined;
  }
  const prefix = `${formatPath(path)}.`;
  const isUnavailable = [...unavailable].some((p) => p.startsWith(prefix));
  let settings: DestinationSettings;
  if (isUnavailable) {
    // Loaded to read only: its secret is not there to check, and it will not send.
    settings = entry as unknown as DestinationSettings;
  } else {
    const schema = DESTINATION_SCHEMAS[type];
    const result = schema.safeParse(entry);
    if (!result.success) {
      report.issues(schema, result.error.issues, path);
      return undefined;
    }
    settings = result.data as DestinationSettings;
    if (!checkSettings(settings, path, report)) return undefined;
  }
  const destination = {
    type,
    path: formatPath(path),
    target: safeTarget(settings),
    fingerprint: fingerprintOf(settings),
    ...(isUnavailable ? { unavailable: true as const } : {}),
  };
  Object.defineProperty(destination, 'settings', { value: Object.freeze({ ...settings }), enumerable: false });
  return destination as NotificationDestination;
}

/** What the schema alone cannot say. */
function checkSettings(settings: DestinationSettings, path: PathSegment[], report: NotificationReport): boolean {
  if (settings.type === 'gitea_issue' && !settings.api_base) {
    report('error', path, 'a gitea_issue needs api_base: the address of your Gitea or Forgejo (e.g. https://git.example.com)', 'type');
    return false;
  }
  if (settings.type === 'webhook' && settings.secret !== undefined) {
    for (const secret of Array.isArray(settings.secret) ? settings.secret : [settings.secret]) {
      if (secret.startsWith('whsec_') && !/^[A-Za-z0-9+/]{32,}={0,2}$/.test(secret.slice(6))) {
        report('error', path, 'a "whsec_" secret is whsec_ followed by base64 of 24 to 64 bytes', 'secret');
        return false;
      }
    }
  }
  if (settings.type === 'email' && settings.secure && settings.use_tls === false) {
    report('error', path, 'secure: true is TLS from the first byte; use_tls: false contradicts it', 'use_tls');
    return false;
  }
  return true;
}

function safeTarget(settings: DestinationSettings): string {
  try {
    return describeTarget(settings);
  } catch {
    return settings.type;
  }
}

/** sha256 of the settings with keys in a fixed order (32 hex characters). */
export function fingerprintOf(settings: DestinationSettings): string {
  return createHash('sha256').update(canonical(settings)).digest('hex').slice(0, 32);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
