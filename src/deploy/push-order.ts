import { isZeroSha, sameCommit, shortVersion } from '../git/refs.js';
import { isQueued } from '../model.js';
import type { DeploymentHeads, RecordedPush } from '../store/deployment.repository.js';

/*
 * Newest commit wins: where a push stands against what an environment already runs or waits
 * for, told from what the providers said (each push names the commit the branch was at before
 * it), without git. Pure, so every case is tested without a store.
 *
 * - Its commit is the newest one (running, being deployed or queued): a replay, nothing to queue.
 * - Its `before` is the newest one: the branch moved on from there (forwards, or back on a
 *   forced push): queue it.
 * - Its commit is one of the others: nothing to queue either.
 * - Its commit is found walking back from one of them through recorded pushes: it is older, a
 *   delivery that arrived late. It is recorded as SUPERSEDED and never runs.
 * - Otherwise nothing recorded says: queue it; the fetch step asks git.
 */

/** A push to order: its commit, where the branch was before it, and the `fraise/environment` it deploys. */
export interface PushToOrder {
  commit: string;
  before: string | null;
  target: string;
}

export type PushOrder =
  /** Queue it. */
  | { kind: 'queue' }
  /** Its commit is already deployed, being deployed or queued: nothing is queued. */
  | { kind: 'replay'; message: string }
  /** Older than a commit deployed or queued: recorded as SUPERSEDED with this message. */
  | { kind: 'older'; message: string };

/** How many recorded pushes of an environment are walked back. */
export const RECORDED_PUSHES = 200;

interface Head {
  commit: string;
  /** "already deployed to hello/production" ... */
  where: string;
}

/** The order told by the heads alone; undefined when the recorded pushes must be read. */
export function orderByHeads(push: PushToOrder, heads: DeploymentHeads): PushOrder | undefined {
  const list = headList(heads, push.target);
  const newest = list[0];
  if (!newest) return { kind: 'queue' };
  if (sameCommit(push.commit, newest.commit)) return replay(push, newest);
  const before = isZeroSha(push.before) ? null : push.before;
  if (before && sameCommit(before, newest.commit)) return { kind: 'queue' };
  const other = list.find((head) => sameCommit(push.commit, head.commit));
  return other ? replay(push, other) : undefined;
}

/** The order told by the recorded pushes: older when the commit is found walking back from a head. */
export function orderByRecord(push: PushToOrder, heads: DeploymentHeads, pushes: readonly RecordedPush[]): PushOrder {
  const befores = new Map<string, string[]>();
  for (const recorded of pushes) {
    if (isZeroSha(recorded.before)) continue;
    const key = recorded.commit.toLowerCase();
    const list = befores.get(key) ?? [];
    list.push(recorded.before.toLowerCase());
    befores.set(key, list);
  }
  const wanted = push.commit.toLowerCase();
  for (const head of headList(heads, push.target)) {
    const seen = new Set<string>([head.commit.toLowerCase()]);
    const queue = [head.commit.toLowerCase()];
    while (queue.length) {
      for (const before of befores.get(queue.shift()!) ?? []) {
        if (before === wanted) {
          return { kind: 'older', message: `commit ${shortVersion(wanted)} is older than ${shortVersion(head.commit)} ${head.where}` };
        }
        if (!seen.has(before)) {
          seen.add(before);
          queue.push(before);
        }
      }
    }
  }
  return { kind: 'queue' };
}

/** Newest first: what is queued (the newest request wins), what runs, then what is deployed. */
function headList(heads: DeploymentHeads, target: string): Head[] {
  const list: Head[] = [];
  for (const active of heads.active) {
    if (!active.gitCommit) continue;
    // A deployment waiting on a gate is queued as a pending one is: a newer push supersedes it.
    list.push({ commit: active.gitCommit, where: isQueued(active.status) ? `already queued for ${target}` : `already being deployed to ${target}` });
  }
  if (heads.current) list.push({ commit: heads.current, where: `already deployed to ${target}` });
  return list;
}

function replay(push: PushToOrder, head: Head): PushOrder {
  return { kind: 'replay', message: `commit ${shortVersion(push.commit)} is ${head.where}: nothing queued` };
}

