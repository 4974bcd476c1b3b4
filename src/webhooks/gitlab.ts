import { at, firstString, type JsonObject, stringAt, strings } from './payload.js';
import type { GitProvider, ParsedEvent, RepositoryInfo, VerifyContext, VerifyOutcome } from './provider.js';
import { type EventCommon, headCommit, nothing, parsedEvent, pushUpdate } from './push.js';
import { findTokenSecret, hmacSha256, parseBase64Digest, safeEqual } from './signature.js';

/*
 * GitLab authenticates a delivery in one of two ways, and sends both when both are set:
 * - `X-Gitlab-Token`: the secret token itself, in clear (compared in constant time);
 * - a signing token (Standard Webhooks, GitLab's `webhook_signing_token`): `webhook-signature:
 *   v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`. GitLab issues the
 *   signing token as `whsec_<base64 of a 32-byte key>`: the HMAC key is the base64-decoded part
 *   after the prefix, as the Standard Webhooks libraries GitLab's MR tests with do. The timestamp
 *   must be within 5 minutes of our clock, which stops old deliveries from being replayed.
 * Configure either kind under `git.gitlab.secret_token` (a list: both kinds may be listed).
 * Delivery id: on a signed delivery `webhook-id`, which the signature covers, so that a captured
 * delivery re-sent with a new `Idempotency-Key` or `X-Gitlab-Event-UUID` (neither is signed) is
 * still the same delivery; else `Idempotency-Key` (the same across retries), else
 * `X-Gitlab-Event-UUID`.
 */

const SIGNING_TOKEN_PREFIX = 'whsec_';
const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;

/** GitLab's sample push (lib/gitlab/data_builder/push.rb), sent by "Test" when the repository is empty. */
const SAMPLE = { after: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7', webUrl: 'http://test.example.com/gitlab/gitlab' };

export const gitlab: GitProvider = {
  name: 'gitlab',

  detect: (headers) => headers['x-gitlab-event'] !== undefined,

  describe: (headers) => ({
    event: headers['x-gitlab-event'] || null,
    deliveryId:
      (headers['webhook-signature'] && headers['webhook-id']) || headers['idempotency-key'] || headers['x-gitlab-event-uuid'] || headers['webhook-id'] || null,
    signature: headers['x-gitlab-token'] ?? null,
  }),

  verify(context): VerifyOutcome {
    let reason: string | undefined;
    if (context.headers['webhook-signature']) {
      const signed = verifySigningToken(context);
      if (signed.valid) return signed;
      reason = signed.reason;
    }
    if (context.signature) {
      const secret = findTokenSecret(context.signature, context.secrets);
      if (secret !== undefined) return { valid: true, secret };
      reason ??= 'X-Gitlab-Token does not match any configured secret token';
    }
    return {
      valid: false,
      reason: reason ?? 'missing X-Gitlab-Token header (or webhook-signature): set a secret token or a signing token on the GitLab webhook',
    };
  },

  parse(context): ParsedEvent {
    const payload = context.json() as JsonObject;
    const kind = firstString(stringAt(payload, 'object_kind'), stringAt(payload, 'event_name'), kindOfHeader(context.event));
    const common: EventCommon = { repository: repositoryOf(payload), sender: senderOf(payload), eventType: context.event ?? kind ?? 'unknown' };
    switch (kind) {
      case 'push':
      case 'tag_push': {
        const after = stringAt(payload, 'after');
        if (after === SAMPLE.after && stringAt(payload, 'project', 'web_url') === SAMPLE.webUrl) {
          return parsedEvent(common, nothing('ping'), { note: 'GitLab test hook (sample data of a repository without commits)' });
        }
        const ref = stringAt(payload, 'ref');
        // For an annotated tag `after` is the tag object; checkout_sha is the commit it names.
        const commit = kind === 'tag_push' ? (stringAt(payload, 'checkout_sha') ?? after) : after;
        return parsedEvent(common, pushUpdate(ref, commit, stringAt(payload, 'before'), headCommit(payload, after)));
      }
      case 'merge_request':
        return parsedEvent(common, nothing('pull_request'));
      default:
        return parsedEvent(common, nothing('other'));
    }
  },
};

function verifySigningToken(context: VerifyContext): VerifyOutcome {
  const id = context.headers['webhook-id'];
  const timestamp = context.headers['webhook-timestamp'];
  if (!id || !timestamp) return { valid: false, reason: 'webhook-signature needs the webhook-id and webhook-timestamp headers' };
  if (!/^\d{1,12}$/.test(timestamp)) return { valid: false, reason: 'malformed webhook-timestamp: expected seconds since 1970' };
  const skew = Math.abs(context.now.getTime() / 1000 - Number(timestamp));
  if (skew > TIMESTAMP_TOLERANCE_SECONDS) {
    return { valid: false, reason: `webhook-timestamp is ${Math.round(skew)} s away from this server's clock (at most ${TIMESTAMP_TOLERANCE_SECONDS} s)` };
  }
  const digests = (context.headers['webhook-signature'] ?? '')
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => parseBase64Digest(entry.slice(3)))
    .filter((digest) => digest !== undefined);
  if (digests.length === 0) return { valid: false, reason: 'malformed webhook-signature: expected "v1," and a base64 HMAC-SHA256' };
  const keys = context.secrets.filter((s) => s.startsWith(SIGNING_TOKEN_PREFIX));
  if (keys.length === 0) {
    return { valid: false, reason: 'webhook-signature is set, but no configured GitLab secret is a signing token (they start with "whsec_")' };
  }
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), context.body]);
  let found: string | undefined;
  for (const secret of keys) {
    const key = Buffer.from(secret.slice(SIGNING_TOKEN_PREFIX.length), 'base64');
    if (key.length === 0) continue;
    const mac = hmacSha256(key, signed);
    for (const digest of digests) if (safeEqual(mac, digest) && found === undefined) found = secret;
  }
  return found !== undefined ? { valid: true, secret: found } : { valid: false, reason: 'webhook-signature does not match the body signed with any configured signing token' };
}

function kindOfHeader(event: string | null): string | null {
  switch (event) {
    case 'Push Hook':
      return 'push';
    case 'Tag Push Hook':
      return 'tag_push';
    case 'Merge Request Hook':
      return 'merge_request';
    default:
      return null;
  }
}

function repositoryOf(payload: JsonObject): RepositoryInfo | null {
  const project = at(payload, 'project');
  const repository = at(payload, 'repository');
  if (!project && !repository) return null;
  return {
    fullName: stringAt(project, 'path_with_namespace'),
    urls: strings(
      at(project, 'git_http_url'),
      at(project, 'git_ssh_url'),
      at(project, 'web_url'),
      at(project, 'http_url'),
      at(project, 'ssh_url'),
      at(repository, 'git_http_url'),
      at(repository, 'git_ssh_url'),
      at(repository, 'homepage'),
      at(repository, 'url'),
    ),
  };
}

function senderOf(payload: JsonObject): string | null {
  return firstString(stringAt(payload, 'user_username'), stringAt(payload, 'user', 'username'), stringAt(payload, 'user_name'));
}
