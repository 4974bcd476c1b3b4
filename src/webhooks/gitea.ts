import { at, firstString, type JsonObject, stringAt, strings } from './payload.js';
import type { GitProvider, ParsedEvent, RepositoryInfo, VerifyOutcome, WebhookHeaders } from './provider.js';
import { type EventCommon, headCommit, nothing, parsedEvent, pushUpdate } from './push.js';
import { findHmacSecret, parseHexDigest } from './signature.js';

/*
 * Gitea, Forgejo and Gogs: `X-Gitea-Signature` / `X-Forgejo-Signature` / `X-Gogs-Signature` =
 * bare hex HMAC-SHA256 of the body (sent as empty strings when the hook has no secret). They
 * also send GitHub's headers (`X-GitHub-Event`, `X-GitHub-Delivery`, `X-Hub-Signature-256`),
 * which is why detection looks for theirs first. The payload follows GitHub's.
 */

const FLAVOURS = ['forgejo', 'gitea', 'gogs'] as const;

function header(headers: WebhookHeaders, suffix: string): string | null {
  for (const flavour of FLAVOURS) {
    const value = headers[`x-${flavour}-${suffix}`];
    if (value) return value;
  }
  return null;
}

export const gitea: GitProvider = {
  name: 'gitea',

  detect: (headers) => FLAVOURS.some((flavour) => headers[`x-${flavour}-event`] !== undefined),

  describe: (headers) => ({
    event: header(headers, 'event'),
    deliveryId: header(headers, 'delivery'),
    signature: header(headers, 'signature'),
  }),

  verify(context): VerifyOutcome {
    if (!context.signature) {
      return { valid: false, reason: 'missing X-Gitea-Signature header (or X-Forgejo-Signature, X-Gogs-Signature): set the webhook secret' };
    }
    const digest = parseHexDigest(context.signature);
    if (!digest) return { valid: false, reason: 'malformed X-Gitea-Signature: expected 64 lower-case hex digits' };
    const secret = findHmacSecret(context.body, digest, context.secrets);
    return secret !== undefined
      ? { valid: true, secret }
      : { valid: false, reason: 'X-Gitea-Signature does not match the body signed with any configured secret' };
  },

  parse(context): ParsedEvent {
    const payload = context.json() as JsonObject;
    const event = context.event ?? (typeof payload.ref === 'string' && payload.after !== undefined ? 'push' : 'unknown');
    const common: EventCommon = { repository: repositoryOf(payload), sender: senderOf(payload), eventType: event };
    switch (event) {
      case 'push': {
        const after = stringAt(payload, 'after');
        return parsedEvent(common, pushUpdate(stringAt(payload, 'ref'), after, stringAt(payload, 'before'), headCommit(payload, after)));
      }
      case 'pull_request':
        return parsedEvent(common, nothing('pull_request'));
      default:
        return parsedEvent(common, nothing('other'));
    }
  },
};

function repositoryOf(payload: JsonObject): RepositoryInfo | null {
  const repository = at(payload, 'repository');
  if (!repository) return null;
  return {
    fullName: stringAt(repository, 'full_name'),
    urls: strings(at(repository, 'clone_url'), at(repository, 'ssh_url'), at(repository, 'html_url')),
  };
}

function senderOf(payload: JsonObject): string | null {
  return firstString(
    stringAt(payload, 'sender', 'login'),
    stringAt(payload, 'sender', 'username'),
    stringAt(payload, 'pusher', 'login'),
    stringAt(payload, 'pusher', 'username'),
  );
}
