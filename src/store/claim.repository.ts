import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import { dialectOf } from '../../db/dialect.js';
import { type DeploymentStatus, QUEUED_STATUSES, RUNNING_STATUSES } from '../model.js';
import { type ControlRequests, NO_REQUESTS, toRequests } from './control.repository.js';
import { isUniqueViolation } from './driver-errors.js';
import { staleLease, startDeployment, type StartValues } from './deployment.repository.js';
import type { Db } from './store.js';

/*
 * The dispatcher's side of the queue: which queued (PENDING or WAITING) deployments could start, taking one (atomic:
 * only one instance ever gets it), renewing its lease, and finding leases that expired.
 *
 * Fencing: every claim takes the next generation of its lock key (tb_target_fence) and keeps it
 * on the row (`fence`). The holder's writes (lease, touch, progress, end) are conditional on the
 * row still running (IN_PROGRESS or PAUSED) with that generation, so a holder whose lease was
 * taken from it (a cut link, a process stopped for a while) can no longer record anything once
 * another took over.
 */

export interface Candidate {
  id: number;
  fraise: string;
  environment: string;
  job: string | null;
  /** PENDING, or WAITING on a gate of its environment. */
  status: DeploymentStatus;
}

/** Queued deployments (PENDING or WAITING), oldest first: a waiting one keeps its place. */
export async function pendingCandidates(db: Db, limit: number): Promise<Candidate[]> {
  // Up to `limit` of each status, so that deployments waiting long at their gates never hide
  // the PENDING ones queued after them; merged back into queue order.
  const read = (status: (typeof QUEUED_STATUSES)[number]) =>
    db.selectFrom('tb_deployment').select(['id', 'fraise', 'environment', 'job', 'status']).where('status', '=', status).orderBy('id', 'asc').limit(limit).execute();
  const rows = (await Promise.all(QUEUED_STATUSES.map(read))).flat().sort((a, b) => Number(a.id) - Number(b.id));
  return rows.map((r) => ({ id: Number(r.id), fraise: r.fraise, environment: r.environment, job: r.job, status: r.status }));
}

export type ClaimResult = 'claimed' | 'gone' | 'pair-busy' | 'host-busy';

/**
 * PENDING (or WAITING, its gates now passed) → IN_PROGRESS for one deployment. On PostgreSQL and MySQL the row is locked with
 * FOR UPDATE SKIP LOCKED first, so an instance never waits on a row another one is taking; the
 * conditional update and the unique lock_key / host_slot indexes make it exact on every dialect.
 * It runs its own transaction, so it takes the database rather than an open transaction.
 */
export async function claimDeployment(
  db: Kysely<Database>,
  id: number,
  values: StartValues,
  /** Also written in the claim's transaction (the notifications of the start), told which attempt this is. */
  within?: (trx: Db, attempt: number) => Promise<unknown>,
): Promise<ClaimResult> {
  try {
    return await db.transaction().execute(async (trx) => {
      if (dialectOf(trx) !== 'sqlite') {
        const row = await trx
          .selectFrom('tb_deployment')
          .select('id')
          .where('id', '=', id)
          .where('status', 'in', QUEUED_STATUSES)
          .forUpdate()
          .skipLocked()
          .executeTakeFirst();
        if (!row) return 'gone';
      }
      if (!(await startDeployment(trx, id, values))) return 'gone';
      // The lock key is ours now (its unique index let no one else in): the next generation.
      const fence = await nextGeneration(trx, values.lockKey);
      await trx.updateTable('tb_deployment').set({ fence }).where('id', '=', id).execute();
      if (within) {
        const row = await trx.selectFrom('tb_deployment').select('attempt').where('id', '=', id).executeTakeFirstOrThrow();
        await within(trx, Number(row.attempt));
      }
      return 'claimed';
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return /host_slot/.test((error as Error).message) ? 'host-busy' : 'pair-busy';
  }
}

/**
 * Adds one to the generation of `lockKey` and returns it (the first claim of a key gets 1). Call
 * it in the claim's transaction, once the lock key is held.
 */
export async function nextGeneration(trx: Db, lockKey: string): Promise<number> {
  const bumped = await trx
    .updateTable('tb_target_fence')
    .set((eb) => ({ generation: eb('generation', '+', 1) }))
    .where('lock_key', '=', lockKey)
    .executeTakeFirst();
  if (Number(bumped.numUpdatedRows) === 0) {
    await trx.insertInto('tb_target_fence').values({ lock_key: lockKey, generation: 1 }).execute();
    return 1;
  }
  const row = await trx.selectFrom('tb_target_fence').select('generation').where('lock_key', '=', lockKey).executeTakeFirstOrThrow();
  return Number(row.generation);
}

/** The generation a deployment's current claim holds (null when it never ran). */
export async function fenceOf(db: Db, id: number): Promise<number | null> {
  const row = await db.selectFrom('tb_deployment').select('fence').where('id', '=', id).executeTakeFirst();
  return row?.fence === null || row?.fence === undefined ? null : Number(row.fence);
}

/**
 * Extends the lease; false when it is no longer ours (the sweeper ended it, or it was claimed
 * again under a newer generation). Also says what was asked of it (cancel, pause, resume, promote).
 */
export async function renewLease(
  db: Db,
  id: number,
  owner: string,
  now: string,
  expiresAt: string,
  fence?: number,
): Promise<{ held: boolean; requests: ControlRequests }> {
  let update = db
    .updateTable('tb_deployment')
    .set({ heartbeat_at: now, lease_expires_at: expiresAt })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .where('status', 'in', RUNNING_STATUSES);
  if (fence !== undefined) update = update.where('fence', '=', fence);
  const result = await update.executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) return { held: false, requests: NO_REQUESTS };
  const row = await db
    .selectFrom('tb_deployment')
    .select(['cancel_requested', 'pause_requested_by', 'resume_requested_by', 'promoted_by'])
    .where('id', '=', id)
    .executeTakeFirst();
  return { held: true, requests: row ? toRequests(row) : NO_REQUESTS };
}

/**
 * Records that the target is about to be changed (an interrupted run past this point is not
 * retried). With `fence`, it is also the check made before every change of the target: false
 * when the deployment is no longer IN_PROGRESS under that generation (the change must not happen).
 */
export async function markTouched(db: Db, id: number, at: string, fence?: number): Promise<boolean> {
  let update = db
    .updateTable('tb_deployment')
    .set((eb) => ({ touched_at: eb.fn.coalesce('touched_at', eb.val(at)) }))
    .where('id', '=', id);
  if (fence !== undefined) update = update.where('fence', '=', fence).where('status', 'in', RUNNING_STATUSES);
  const result = await update.executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Records the process group of the command a deployment runs now (null: none runs), so that a
 * Fraisier started after this one died can end what it left running. Only while the generation
 * is still the holder's.
 */
export async function recordProcess(db: Db, id: number, fence: number, process: { pgid: number; identity: string | null } | null): Promise<void> {
  await db
    .updateTable('tb_deployment')
    .set({ process_group: process?.pgid ?? null, process_identity: process?.identity ?? null })
    .where('id', '=', id)
    .where('fence', '=', fence)
    .where('status', 'in', RUNNING_STATUSES)
    .execute();
}

/** Gives the lease up now (on shutdown), so that the next sweep can act at once. */
export async function releaseLease(db: Db, id: number, owner: string, now: string, fence?: number): Promise<void> {
  let update = db
    .updateTable('tb_deployment')
    .set({ lease_expires_at: now })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .where('status', 'in', RUNNING_STATUSES);
  if (fence !== undefined) update = update.where('fence', '=', fence);
  await update.execute();
}

export interface ExpiredLease {
  id: number;
  fraise: string;
  environment: string;
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  touched: boolean;
  attempt: number;
  /** The process group of the command it was running, and which process led it. */
  processGroup: number | null;
  processIdentity: string | null;
}

export async function expiredLeases(db: Db, now: string, previousSelf?: string): Promise<ExpiredLease[]> {
  const rows = await db
    .selectFrom('tb_deployment')
    .select(['id', 'fraise', 'environment', 'lease_owner', 'lease_expires_at', 'touched_at', 'attempt', 'process_group', 'process_identity'])
    .where('status', 'in', RUNNING_STATUSES)
    .where(staleLease(now, previousSelf))
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    fraise: r.fraise,
    environment: r.environment,
    leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at,
    touched: r.touched_at !== null,
    attempt: Number(r.attempt),
    processGroup: r.process_group === null ? null : Number(r.process_group),
    processIdentity: r.process_identity,
  }));
}

/**
 * Running (IN_PROGRESS or PAUSED) with an expired lease → PENDING again (nothing was changed
 * yet). What operators asked (cancel, pause, promote) stays for the next run; the pause of the
 * run that died does not. False if someone else acted first.
 */
export async function requeueExpired(db: Db, id: number, now: string, previousSelf?: string): Promise<boolean> {
  const result = await db
    .updateTable('tb_deployment')
    .set({
      status: 'pending',
      started_at: null,
      lock_key: null,
      host_slot: null,
      lease_owner: null,
      lease_expires_at: null,
      heartbeat_at: null,
      process_group: null,
      process_identity: null,
      resume_requested_by: null,
      paused_until: null,
      pause_message: null,
    })
    .where('id', '=', id)
    .where('status', 'in', RUNNING_STATUSES)
    .where(staleLease(now, previousSelf))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** The last progress sequence recorded for a deployment. */
export async function lastSequence(db: Db, id: number): Promise<number> {
  const row = await db
    .selectFrom('tb_deployment_progress')
    .select((eb) => eb.fn.max('sequence').as('last'))
    .where('fk_deployment', '=', id)
    .executeTakeFirst();
  return Number(row?.last ?? 0);
}

/** What a claimed deployment was asked to do, as its request and its claim recorded it. */
export interface ClaimedRun {
  id: number;
  fraise: string;
  environment: string;
  job: string | null;
  kind: 'deploy' | 'rollback' | 'job';
  gitCommit: string | null;
  gitBranch: string | null;
  toVersion: string | null;
  requestedBy: string | null;
  context: Record<string, string>;
  oldVersion: string | null;
  fence: number | null;
}

/** Reads a deployment with its request, for the run that claimed it. Throws when there is none. */
export async function findClaimedRun(db: Db, id: number): Promise<ClaimedRun> {
  const row = await db
    .selectFrom('tb_deployment as d')
    .innerJoin('tb_deployment_request as r', 'r.id', 'd.fk_request')
    .select(['d.id', 'd.fraise', 'd.environment', 'd.job', 'd.old_version', 'd.fence', 'r.kind', 'r.git_commit', 'r.git_branch', 'r.to_version', 'r.requested_by', 'r.context'])
    .where('d.id', '=', id)
    .executeTakeFirstOrThrow();
  return {
    id,
    fraise: row.fraise,
    environment: row.environment,
    job: row.job,
    kind: row.kind as ClaimedRun['kind'],
    gitCommit: row.git_commit,
    gitBranch: row.git_branch,
    toVersion: row.to_version,
    requestedBy: row.requested_by,
    context: row.context ? (JSON.parse(row.context) as Record<string, string>) : {},
    oldVersion: row.old_version,
    fence: row.fence === null ? null : Number(row.fence),
  };
}
