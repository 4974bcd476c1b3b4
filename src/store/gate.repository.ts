import { isCommitish } from '../git/refs.js';
import type { ApprovalRecord, GateFacts } from '../gates/types.js';
import { type DeploymentStatus, type HealthStatus, QUEUED_STATUSES } from '../model.js';
import type { Db } from './store.js';

/*
 * What the gates of a protected environment read and write (docs/gates.md). Every verdict and
 * every decision bumps the deployment's gate_version under a compare-and-set: of two instances
 * that evaluated the same deployment on the same facts, one records its verdict (and its
 * progress line), the other finds the version moved and records nothing. A decision (approve,
 * reject) bumps it too, so a verdict read before the decision can never be recorded after it.
 */

/** A queued deployment as its gates see it. */
export interface GateSubject {
  id: number;
  fraise: string;
  environment: string;
  job: string | null;
  kind: 'deploy' | 'rollback' | 'job';
  status: DeploymentStatus;
  requestedAt: string;
  requestedBy: string | null;
  gitCommit: string | null;
  waitingSince: string | null;
  freezeOverrideBy: string | null;
  gateVersion: number;
  /** The gates JSON as last recorded (compared with a new verdict: unchanged, nothing is written). */
  gates: string | null;
  wakeAt: string | null;
}

export async function findGateSubject(db: Db, id: number): Promise<GateSubject | undefined> {
  const row = await db
    .selectFrom('tb_deployment as d')
    .innerJoin('tb_deployment_request as r', 'r.id', 'd.fk_request')
    .select([
      'd.id',
      'd.fraise',
      'd.environment',
      'd.job',
      'd.status',
      'd.requested_at',
      'd.git_commit',
      'd.waiting_since',
      'd.freeze_override_by',
      'd.gate_version',
      'd.gates',
      'd.wake_at',
      'r.kind',
      'r.requested_by',
    ])
    .where('d.id', '=', id)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    id: Number(row.id),
    fraise: row.fraise,
    environment: row.environment,
    job: row.job,
    kind: row.kind as GateSubject['kind'],
    status: row.status,
    requestedAt: row.requested_at,
    requestedBy: row.requested_by,
    gitCommit: row.git_commit,
    waitingSince: row.waiting_since,
    freezeOverrideBy: row.freeze_override_by,
    gateVersion: Number(row.gate_version),
    gates: row.gates,
    wakeAt: row.wake_at,
  };
}

/** The decisions recorded on a deployment (carried ones included), oldest first. */
export async function listApprovals(db: Db, deploymentId: number): Promise<ApprovalRecord[]> {
  const rows = await db
    .selectFrom('tb_deployment_approval')
    .select(['actor', 'decision', 'comment', 'at'])
    .where('fk_deployment', '=', deploymentId)
    .orderBy('id', 'asc')
    .execute();
  return rows.map((row) => ({ by: row.actor, decision: row.decision === 'reject' ? 'reject' : 'approve', at: row.at, comment: row.comment }));
}

/**
 * What the promotion rule's source environment says of `commit`: what runs there and how it is
 * (tb_fraise_state: the monitor and the deployments keep it), and when the commit last ended
 * SUCCESS there. A commit typed short (an API deploy) matches the full id it was deployed as.
 */
export async function readPromotionSource(
  db: Db,
  fraise: string,
  environment: string,
  commit: string | null,
): Promise<NonNullable<GateFacts['promotionSource']>> {
  const state = await db
    .selectFrom('tb_fraise_state')
    .select(['current_version', 'status', 'updated_at'])
    .where('fraise', '=', fraise)
    .where('environment', '=', environment)
    .executeTakeFirst();
  let succeededAt: string | null = null;
  if (commit) {
    const wanted = commit.toLowerCase();
    const row = await db
      .selectFrom('tb_deployment')
      .select('completed_at')
      .where('fraise', '=', fraise)
      .where('environment', '=', environment)
      .where('job', 'is', null)
      .where('status', '=', 'success')
      .where((eb) =>
        eb.or([
          eb('new_version', '=', wanted),
          eb('git_commit', '=', wanted),
          ...(isCommitish(wanted) && wanted.length < 40 ? [eb('new_version', 'like', `${wanted}%`)] : []),
        ]),
      )
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    succeededAt = row?.completed_at ?? null;
  }
  return {
    succeededAt,
    currentVersion: state?.current_version ?? null,
    health: (state?.status ?? 'unknown') as HealthStatus,
    healthSince: state?.updated_at ?? null,
  };
}

export interface VerdictWrite {
  /** The gate_version the verdict was read at: recorded only if it is still that. */
  fromVersion: number;
  /** JSON of the GateState[]. */
  gates: string;
  at: string;
}

/**
 * PENDING or WAITING → WAITING with its gates and wake-up time (waiting_since kept from its first
 * wait). False when the deployment is no longer queued or its gate_version moved.
 */
export async function recordWaiting(db: Db, id: number, values: VerdictWrite & { wakeAt: string | null }): Promise<boolean> {
  const result = await db
    .updateTable('tb_deployment')
    .set((eb) => ({
      status: 'waiting',
      gates: values.gates,
      wake_at: values.wakeAt,
      waiting_since: eb.fn.coalesce('waiting_since', eb.val(values.at)),
      gate_version: eb('gate_version', '+', 1),
    }))
    .where('id', '=', id)
    .where('status', 'in', QUEUED_STATUSES)
    .where('gate_version', '=', values.fromVersion)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * PENDING or WAITING → CANCELLED, refused by a gate (`reason`). It never started: no lock, lease
 * or statistics to release. False when it is no longer queued or its gate_version moved.
 */
export async function recordRefusal(db: Db, id: number, values: VerdictWrite & { reason: string }): Promise<boolean> {
  const result = await db
    .updateTable('tb_deployment')
    .set((eb) => ({
      status: 'cancelled',
      gates: values.gates,
      wake_at: null,
      completed_at: values.at,
      error_message: values.reason,
      gate_version: eb('gate_version', '+', 1),
    }))
    .where('id', '=', id)
    .where('status', 'in', QUEUED_STATUSES)
    .where('gate_version', '=', values.fromVersion)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** The gates a deployment passed, recorded in the transaction that starts it. */
export async function recordPassedGates(db: Db, id: number, gates: string): Promise<void> {
  await db.updateTable('tb_deployment').set({ gates }).where('id', '=', id).execute();
}

export type DecisionResult = 'recorded' | 'duplicate' | 'not-queued';

/**
 * Records an approver's decision on a queued deployment, in the caller's transaction. The
 * deployment's row is bumped first (gate_version: a verdict read before this decision is no
 * longer recorded), which also locks it, so two decisions on it are taken one after the other
 * and the second by the same actor reads the first. 'duplicate': this actor already decided;
 * 'not-queued': it started or ended meanwhile (either way nothing is changed).
 */
export async function recordDecision(
  trx: Db,
  decision: { deploymentId: number; actor: string; decision: 'approve' | 'reject'; comment: string | null; at: string },
): Promise<DecisionResult> {
  const bumped = await trx
    .updateTable('tb_deployment')
    .set((eb) => ({ gate_version: eb('gate_version', '+', 1) }))
    .where('id', '=', decision.deploymentId)
    .where('status', 'in', QUEUED_STATUSES)
    .executeTakeFirst();
  if (Number(bumped.numUpdatedRows) !== 1) return 'not-queued';
  const actor = decision.actor.slice(0, 200);
  const existing = await trx
    .selectFrom('tb_deployment_approval')
    .select('id')
    .where('fk_deployment', '=', decision.deploymentId)
    .where('actor', '=', actor)
    .executeTakeFirst();
  if (existing) {
    // Still under the row's lock: the version goes back to what it was, nothing changed.
    await trx
      .updateTable('tb_deployment')
      .set((eb) => ({ gate_version: eb('gate_version', '-', 1) }))
      .where('id', '=', decision.deploymentId)
      .execute();
    return 'duplicate';
  }
  await trx
    .insertInto('tb_deployment_approval')
    .values({ fk_deployment: decision.deploymentId, actor, decision: decision.decision, comment: decision.comment, at: decision.at })
    .execute();
  return 'recorded';
}

/**
 * Copies the approvals (not the rejections) of superseded deployments to the one that replaced
 * them (`carry_approvals`), in the transaction that superseded them: each actor once (its
 * latest), never one the newer deployment already has. Returns how many were copied.
 */
export async function copyApprovals(trx: Db, fromIds: readonly number[], toId: number): Promise<number> {
  if (fromIds.length === 0) return 0;
  const rows = await trx
    .selectFrom('tb_deployment_approval')
    .select(['actor', 'comment', 'at', 'fk_deployment'])
    .where('fk_deployment', 'in', [...fromIds, toId])
    .where('decision', '=', 'approve')
    .orderBy('id', 'asc')
    .execute();
  const present = new Set(rows.filter((row) => Number(row.fk_deployment) === toId).map((row) => row.actor));
  const latest = new Map<string, { actor: string; comment: string | null; at: string }>();
  for (const row of rows) {
    if (Number(row.fk_deployment) === toId || present.has(row.actor)) continue;
    latest.set(row.actor, row);
  }
  if (latest.size === 0) return 0;
  await trx
    .insertInto('tb_deployment_approval')
    .values([...latest.values()].map((row) => ({ fk_deployment: toId, actor: row.actor, decision: 'approve', comment: row.comment, at: row.at })))
    .execute();
  return latest.size;
}
