import { isZeroSha } from '../git/refs.js';
import { arrayAt, asObject, at, firstString, stringAt } from './payload.js';
import type { EventKind, ParsedEvent, RefUpdate } from './provider.js';

/* The parts of a push that GitHub, GitLab and Gitea (which copied GitHub) write the same way. */

/** A ref update from a push: a deletion when `after` is all zeros (or the payload says so). */
export function pushUpdate(
  ref: string | null,
  after: string | null,
  before: string | null,
  head: { message: string | null; author: string | null },
  deleted = false,
): RefUpdate {
  const gone = deleted || isZeroSha(after);
  const tag = ref?.startsWith('refs/tags/') ?? false;
  const kind: EventKind = tag ? (gone ? 'tag_delete' : 'tag_push') : gone ? 'branch_delete' : 'push';
  return { kind, ref, after, before, commitMessage: gone ? null : head.message, commitAuthor: gone ? null : head.author };
}

/** What every provider reads the same way: the repository, the sender, the event type. */
export interface EventCommon {
  repository: ParsedEvent['repository'];
  sender: string | null;
  eventType: string;
}

/**
 * A parsed event from its common part and its ref update. Built field by field: in V8 an object
 * literal of two spreads takes microseconds, and the objects it makes are slow to read after.
 */
export function parsedEvent(common: EventCommon, update: RefUpdate, extra?: { note?: string; also?: RefUpdate[] }): ParsedEvent {
  const event: ParsedEvent = {
    repository: common.repository,
    sender: common.sender,
    eventType: common.eventType,
    kind: update.kind,
    ref: update.ref,
    after: update.after,
    before: update.before,
    commitMessage: update.commitMessage,
    commitAuthor: update.commitAuthor,
  };
  if (extra?.note !== undefined) event.note = extra.note;
  if (extra?.also?.length) event.also = extra.also;
  return event;
}

/** A delivery that moves no ref (ping, pull request, anything else). */
export function nothing(kind: 'ping' | 'pull_request' | 'other'): RefUpdate {
  return { kind, ref: null, after: null, before: null, commitMessage: null, commitAuthor: null };
}

/**
 * The message and author of the pushed head: `head_commit` when there is one, else the commit
 * of `commits` whose id is `after`, else the last one listed.
 */
export function headCommit(payload: unknown, after: string | null): { message: string | null; author: string | null } {
  let commit = asObject(at(payload, 'head_commit'));
  if (!commit) {
    const commits = arrayAt(payload, 'commits').map(asObject).filter((c) => c !== undefined);
    commit = commits.find((c) => c.id === after) ?? commits[commits.length - 1];
  }
  if (!commit) return { message: null, author: null };
  return {
    message: stringAt(commit, 'message'),
    author: firstString(stringAt(commit, 'author', 'name'), stringAt(commit, 'author', 'username'), stringAt(commit, 'author', 'email')),
  };
}
