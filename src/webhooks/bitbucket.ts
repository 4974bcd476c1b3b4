import { arrayAt, asObject, at, firstString, type JsonObject, stringAt, strings } from './payload.js';
import type { GitProvider, ParsedEvent, RefUpdate, RepositoryInfo, VerifyOutcome } from './provider.js';
import { type EventCommon, nothing, parsedEvent, pushUpdate } from './push.js';
import { findHmacSecret, parseHexDigest } from './signature.js';

/*
 * Bitbucket Cloud and Server / Data Center: `X-Hub-Signature: sha256=<hex>` (SHA-256 under the
 * header name GitHub uses for SHA-1), `X-Event-Key`. Cloud pushes are `repo:push` with
 * `push.changes[]`; Server pushes are `repo:refs_changed` with `changes[]`. Server's "Test
 * connection" is `diagnostics:ping` with the body `{"test": true}`. Delivery id: Cloud's
 * `X-Request-UUID`, Server's `X-Request-Id`. One push may move several refs: the first is the
 * delivery's ref, the others ride along in `also`.
 */

const ZERO = '0000000000000000000000000000000000000000';

export const bitbucket: GitProvider = {
  name: 'bitbucket',

  detect: (headers) => headers['x-event-key'] !== undefined,

  describe: (headers) => ({
    event: headers['x-event-key'] || null,
    deliveryId: headers['x-request-uuid'] || headers['x-request-id'] || null,
    signature: headers['x-hub-signature'] ?? null,
  }),

  verify(context): VerifyOutcome {
    if (!context.signature) return { valid: false, reason: 'missing X-Hub-Signature header: set the webhook secret on Bitbucket' };
    const digest = parseHexDigest(context.signature, 'sha256=');
    if (!digest) return { valid: false, reason: 'malformed X-Hub-Signature: expected "sha256=" and 64 lower-case hex digits' };
    const secret = findHmacSecret(context.body, digest, context.secrets);
    return secret !== undefined
      ? { valid: true, secret }
      : { valid: false, reason: 'X-Hub-Signature does not match the body signed with any configured secret' };
  },

  parse(context): ParsedEvent {
    const payload = context.json() as JsonObject;
    const event = context.event ?? stringAt(payload, 'eventKey') ?? (payload.push !== undefined ? 'repo:push' : 'unknown');
    const common: EventCommon = { repository: repositoryOf(payload), sender: senderOf(payload), eventType: event };
    let updates: RefUpdate[] | undefined;
    if (event === 'diagnostics:ping') return parsedEvent(common, nothing('ping'), { note: 'Bitbucket test connection (diagnostics:ping)' });
    if (event === 'repo:push') updates = arrayAt(payload, 'push', 'changes').map(cloudChange).filter((u) => u !== undefined);
    else if (event === 'repo:refs_changed') updates = arrayAt(payload, 'changes').map((c) => serverChange(c, payload)).filter((u) => u !== undefined);
    else if (event.startsWith('pullrequest:') || event.startsWith('pr:')) return parsedEvent(common, nothing('pull_request'));
    else return parsedEvent(common, nothing('other'));
    const [first, ...also] = updates;
    if (!first) return parsedEvent(common, nothing('other'), { note: 'a push that moves no ref' });
    return parsedEvent(common, first, { also });
  },
};

/** Cloud: `{new, old}`; `new` is null when the ref was deleted, `old` when it was created. */
function cloudChange(change: unknown): RefUpdate | undefined {
  const created = asObject(at(change, 'new'));
  const removed = asObject(at(change, 'old'));
  const side = created ?? removed;
  if (!side) return undefined;
  const name = stringAt(side, 'name');
  const type = stringAt(side, 'type');
  const ref = name === null ? null : type === 'tag' || type === 'annotated_tag' ? `refs/tags/${name}` : `refs/heads/${name}`;
  const author = firstString(
    stringAt(created, 'target', 'author', 'user', 'display_name'),
    stringAt(created, 'target', 'author', 'display_name'),
    stringAt(created, 'target', 'author', 'raw'),
  );
  return pushUpdate(
    ref,
    created ? stringAt(created, 'target', 'hash') : ZERO,
    removed ? stringAt(removed, 'target', 'hash') : ZERO,
    { message: stringAt(created, 'target', 'message'), author },
    !created,
  );
}

/** Server: `{refId, fromHash, toHash, type: ADD | UPDATE | DELETE}`. */
function serverChange(change: unknown, payload: JsonObject): RefUpdate | undefined {
  const ref = firstString(stringAt(change, 'refId'), stringAt(change, 'ref', 'id'));
  if (!ref) return undefined;
  const after = stringAt(change, 'toHash');
  // Newer Server versions describe the pushed head in `toCommit`.
  const head = stringAt(payload, 'toCommit', 'id') === after ? at(payload, 'toCommit') : undefined;
  return pushUpdate(
    ref,
    after,
    stringAt(change, 'fromHash'),
    { message: stringAt(head, 'message'), author: firstString(stringAt(head, 'author', 'name'), stringAt(head, 'author', 'emailAddress')) },
    stringAt(change, 'type') === 'DELETE',
  );
}

function repositoryOf(payload: JsonObject): RepositoryInfo | null {
  const repository = at(payload, 'repository');
  if (!repository) return null;
  const projectKey = stringAt(repository, 'project', 'key');
  const slug = stringAt(repository, 'slug');
  return {
    fullName: firstString(stringAt(repository, 'full_name'), projectKey && slug ? `${projectKey}/${slug}` : null),
    urls: strings(
      at(repository, 'links', 'html', 'href'),
      ...arrayAt(repository, 'links', 'clone').map((link) => at(link, 'href')),
      ...arrayAt(repository, 'links', 'self').map((link) => at(link, 'href')),
    ),
  };
}

function senderOf(payload: JsonObject): string | null {
  return firstString(
    stringAt(payload, 'actor', 'nickname'),
    stringAt(payload, 'actor', 'username'),
    stringAt(payload, 'actor', 'slug'),
    stringAt(payload, 'actor', 'name'),
    stringAt(payload, 'actor', 'display_name'),
  );
}
