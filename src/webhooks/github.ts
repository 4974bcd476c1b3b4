import { at, firstString, type JsonObject, stringAt, strings } from './payload.js';
import type { GitProvider, ParsedEvent, RepositoryInfo, VerifyOutcome } from './provider.js';
import { type EventCommon, headCommit, nothing, parsedEvent, pushUpdate } from './push.js';
import { findHmacSecret, parseHexDigest } from './signature.js';

/*
 * GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, `X-GitHub-Event`,
 * `X-GitHub-Delivery` (the same id when a delivery is redelivered). The legacy SHA-1
 * `X-Hub-Signature` is never accepted.
 */

/** Headers that only Gitea, Forgejo and Gogs send: such a delivery is theirs, even with X-GitHub-Event. */
const FOREIGN_EVENT_HEADERS = ['x-gitea-event', 'x-forgejo-event', 'x-gogs-event'];

export const github: GitProvider = {
  name: 'github',

  detect: (headers) => headers['x-github-event'] !== undefined,

  describe: (headers) => ({
    event: headers['x-github-event'] || null,
    deliveryId: headers['x-github-delivery'] || null,
    signature: headers['x-hub-signature-256'] ?? null,
  }),

  verify(context): VerifyOutcome {
    const foreign = FOREIGN_EVENT_HEADERS.find((name) => context.headers[name] !== undefined);
    if (foreign) {
      // Gitea signs X-Hub-Signature-256 too: refuse it here so it is read by the provider that wrote it.
      return { valid: false, reason: `this delivery carries ${foreign}: it comes from Gitea, Forgejo or Gogs; send it to /webhook/gitea` };
    }
    if (!context.signature) {
      return { valid: false, reason: 'missing X-Hub-Signature-256 header: set the webhook secret on GitHub' };
    }
    const digest = parseHexDigest(context.signature, 'sha256=');
    if (!digest) return { valid: false, reason: 'malformed X-Hub-Signature-256: expected "sha256=" and 64 lower-case hex digits' };
    const secret = findHmacSecret(context.body, digest, context.secrets);
    return secret !== undefined
      ? { valid: true, secret }
      : { valid: false, reason: 'X-Hub-Signature-256 does not match the body signed with any configured secret' };
  },

  parse(context): ParsedEvent {
    const payload = context.json() as JsonObject;
    const event = context.event ?? inferEvent(payload);
    const common: EventCommon = { repository: repositoryOf(payload), sender: senderOf(payload), eventType: event };
    switch (event) {
      case 'push': {
        const after = stringAt(payload, 'after');
        return parsedEvent(
          common,
          pushUpdate(stringAt(payload, 'ref'), after, stringAt(payload, 'before'), headCommit(payload, after), payload.deleted === true),
        );
      }
      case 'ping':
        return parsedEvent(common, nothing('ping'), { note: 'ping: the webhook reaches Fraisier' });
      case 'pull_request':
        return parsedEvent(common, nothing('pull_request'));
      default:
        return parsedEvent(common, nothing('other'));
    }
  },
};

/** A GraphQL caller may leave the event out: read it from the payload's shape. */
function inferEvent(payload: JsonObject): string {
  if (payload.zen !== undefined && payload.hook_id !== undefined) return 'ping';
  if (typeof payload.ref === 'string' && payload.after !== undefined && payload.before !== undefined) return 'push';
  if (payload.pull_request !== undefined) return 'pull_request';
  return 'unknown';
}

function repositoryOf(payload: JsonObject): RepositoryInfo | null {
  const repository = at(payload, 'repository');
  if (!repository) return null;
  return {
    fullName: stringAt(repository, 'full_name'),
    urls: strings(at(repository, 'clone_url'), at(repository, 'ssh_url'), at(repository, 'html_url'), at(repository, 'git_url')),
  };
}

function senderOf(payload: JsonObject): string | null {
  return firstString(stringAt(payload, 'sender', 'login'), stringAt(payload, 'pusher', 'name'));
}
