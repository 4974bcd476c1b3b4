import { maskSecrets } from '../config/secrets.js';
import type { EnvironmentConfig } from '../config/types.js';
import type { EventBus } from '../events/bus.js';
import {
  deploymentHeads,
  findDeployments,
  finishDeployment,
  insertDeployment,
  type NewDeployment,
  recentPushes,
  supersedePendingOlder,
} from '../store/deployment.repository.js';
import { copyApprovals } from '../store/gate.repository.js';
import type { Db } from '../store/store.js';
import type { Deployment } from '../model.js';
import { orderByHeads, orderByRecord, type PushOrder, RECORDED_PUSHES } from './push-order.js';

/*
 * The queue is the tb_deployment table: a PENDING or WAITING row is a queued deployment (WAITING:
 * held by a gate of its environment). Enqueueing runs inside the caller's transaction (a webhook
 * records its delivery in the same one), and a newer request for the same (fraise, environment)
 * supersedes the older ones still queued, taking their approvals over when the environment's
 * approvals rule says `carry_approvals`.
 */

export interface EnqueueInput extends Omit<NewDeployment, 'targetProvider' | 'targetConfig'> {
  env: EnvironmentConfig;
}

export interface Enqueued {
  id: number;
  /** The deployment as queued (built from what was written: no read back). */
  deployment: Deployment;
  /** Queued (PENDING or WAITING) deployments this one replaced (now SUPERSEDED). */
  superseded: number[];
}

export async function enqueue(trx: Db, input: EnqueueInput): Promise<Enqueued> {
  const row = newDeployment(input);
  const id = await insertDeployment(trx, row);
  const superseded = await supersedeOlder(trx, {
    fraise: input.fraise,
    environment: input.environment,
    job: input.job ?? null,
    newerThan: id,
    at: input.requestedAt,
    carryApprovals: carriesApprovals(input.env),
  });
  return { id, superseded, deployment: queuedDeployment(id, row) };
}

/** A deployment a push asks for: where its branch was before the push orders it against the others. */
export interface PushEnqueueInput extends EnqueueInput {
  gitCommit: string;
  /** The push's `before` (null, or all zeros, when the branch is new). */
  before: string | null;
}

export type PushEnqueued =
  /** Queued, or recorded as SUPERSEDED (`older` says why) when it is older than what is deployed or queued. */
  | (Enqueued & { older?: string })
  /** Its commit is already deployed, being deployed or queued: nothing was written. */
  | { replay: string };

/**
 * Enqueues what a push asks for, unless its commit is already deployed or queued (a replay) or
 * is older than one that is (a late delivery): newest commit wins. Inside the caller's
 * transaction; explicit deployments (API, CLI, rollback) use `enqueue` and are not ordered.
 */
export async function enqueuePush(trx: Db, input: PushEnqueueInput): Promise<PushEnqueued> {
  const push = { commit: input.gitCommit, before: input.before, target: `${input.fraise}/${input.environment}` };
  let order: PushOrder | undefined;
  if (!input.force) {
    const heads = await deploymentHeads(trx, input.fraise, input.environment);
    order = orderByHeads(push, heads) ?? orderByRecord(push, heads, await recentPushes(trx, input.fraise, input.environment, RECORDED_PUSHES));
  }
  if (order?.kind === 'replay') return { replay: order.message };
  if (order?.kind !== 'older') return enqueue(trx, input);
  // Recorded, so that the delivery shows what became of it; it never waits in the queue.
  const row = newDeployment(input);
  const id = await insertDeployment(trx, row);
  await finishDeployment(trx, id, { status: 'superseded', completedAt: input.requestedAt, errorMessage: order.message });
  const deployment: Deployment = { ...queuedDeployment(id, row), status: 'superseded', completedAt: input.requestedAt, errorMessage: order.message };
  return { id, deployment, superseded: [], older: order.message };
}

/** What is written for an enqueued deployment: the target recorded without its secrets. */
export function newDeployment(input: EnqueueInput): NewDeployment {
  // Every field named (`satisfies` fails to compile when one is added and not copied here),
  // not a rest and a spread: in V8 those take microseconds, and this runs for every delivery.
  return {
    fraise: input.fraise,
    environment: input.environment,
    kind: input.kind,
    trigger: input.trigger,
    requestedBy: input.requestedBy,
    requestedAt: input.requestedAt,
    gitBranch: input.gitBranch ?? null,
    gitCommit: input.gitCommit ?? null,
    toVersion: input.toVersion ?? null,
    job: input.job ?? null,
    force: input.force ?? false,
    webhookEventId: input.webhookEventId ?? null,
    context: input.context ?? null,
    runKey: input.runKey ?? null,
    freezeOverrideBy: input.freezeOverrideBy ?? null,
    targetProvider: input.env.target.provider,
    targetConfig: maskSecrets(input.env.target.config),
  } satisfies Required<NewDeployment>;
}

/** The deployment as it stands once queued (built from what was written: no read back). */
export function queuedDeployment(id: number, input: NewDeployment): Deployment {
  return {
    id: String(id),
    fraise: input.fraise,
    environment: input.environment,
    job: input.job ?? null,
    kind: input.kind,
    status: 'pending',
    triggeredBy: input.trigger,
    requestedBy: input.requestedBy,
    requestedAt: input.requestedAt,
    startedAt: input.requestedAt,
    completedAt: null,
    durationSeconds: null,
    oldVersion: null,
    newVersion: null,
    gitCommit: input.gitCommit ?? null,
    gitBranch: input.gitBranch ?? null,
    target: { provider: input.targetProvider, config: input.targetConfig },
    errorMessage: null,
    webhookEventId: input.webhookEventId === undefined || input.webhookEventId === null ? null : String(input.webhookEventId),
    pausedUntil: null,
    pauseMessage: null,
    promoted: false,
    gates: null,
    waitingUntil: null,
  };
}

/** The reason recorded on a deployment replaced by a newer one. */
export function supersededBy(newerId: number): string {
  return `superseded by deployment ${newerId}`;
}

/** Whether a newer deployment of `env` takes over the approvals of those it supersedes (`carry_approvals`). */
export function carriesApprovals(env: EnvironmentConfig | undefined): boolean {
  return env?.protection?.approvals?.carryApprovals === true;
}

/**
 * Ends the queued (PENDING or WAITING) deployments of a pair older than `newerThan` as SUPERSEDED
 * by it, and with `carryApprovals` copies their approvals to it (same transaction). The
 * requester's own approval carried over does not count unless self-approval is on: the
 * evaluation leaves it out. Returns their ids.
 */
export async function supersedeOlder(
  trx: Db,
  target: { fraise: string; environment: string; job: string | null; newerThan: number; at: string; carryApprovals?: boolean },
): Promise<number[]> {
  const { carryApprovals, ...pair } = target;
  const ids = await supersedePendingOlder(trx, { ...pair, errorMessage: supersededBy(target.newerThan) });
  if (carryApprovals && target.job === null && ids.length > 0) await copyApprovals(trx, ids, target.newerThan);
  return ids;
}

/** Reads back deployments by id (for answers and events), in the order given. */
export async function readDeployments(db: Db, ids: readonly number[]): Promise<Deployment[]> {
  const byId = new Map((await findDeployments(db, ids)).map((d) => [Number(d.id), d]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

/**
 * Publishes `completed` for deployments that ended without a run of this process to announce
 * them (superseded, cancelled before starting, skipped, interrupted): read back only when
 * someone will hear of them.
 */
export async function announceCompleted(db: Db, bus: EventBus, ids: readonly number[]): Promise<void> {
  if (ids.length === 0 || !bus.wantsCompleted) return;
  for (const deployment of await readDeployments(db, ids)) bus.publish({ type: 'completed', deployment });
}
