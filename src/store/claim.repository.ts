import { dialectOf } from '../../db/migrations/helpers.js';
import { isUniqueViolation } from './dialect-sql.js';
import { startDeployment, type StartValues } from './deployment.repository.js';
import type { Db, Store } from './store.js';

/*
 * The dispatcher's side of the queue: which PENDING deployments could start, taking one (atomic:
 * only one instance ever gets it), renewing its lease, and finding leases that expired.
 */

export interface Candidate {
  id: number;
  fraise: string;
  environment: string;
  job: string | null;
}

/** PENDING deployments, oldest first. */
export async function pendingCandidates(db: Db, limit: number): Promise<Candidate[]> {
  const rows = await db
    .selectFrom('tb_deployment')
    .select(['id', 'fraise', 'environment', 'job'])
    .where('status', '=', 'pending')
    .orderBy('id', 'asc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ id: Number(r.id), fraise: r.fraise, environment: r.environment, job: r.job }));
}

export type ClaimResult = 'claimed' | 'gone' | 'pair-busy' | 'host-busy';

/**
 * PENDING → IN_PROGRESS for one deployment. On PostgreSQL and MySQL the row is locked with
 * FOR UPDATE SKIP LOCKED first, so an instance never waits on a row another one is taking; the
 * conditional update and the unique lock_key / host_slot indexes make it exact on every dialect.
 */
export async function claimDeployment(store: Store, id: number, values: StartValues): Promise<ClaimResult> {
  try {
    return await store.db.transaction().execute(async (trx) => {
      if (dialectOf(trx) !== 'sqlite') {
        const row = await trx
          .selectFrom('tb_deployment')
          .select('id')
          .where('id', '=', id)
          .where('status', '=', 'pending')
          .forUpdate()
          .skipLocked()
          .executeTakeFirst();
        if (!row) return 'gone';
      }
      return (await startDeployment(trx, id, values)) ? 'claimed' : 'gone';
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return /host_slot/.test((error as Error).message) ? 'host-busy' : 'pair-busy';
  }
}

/** Extends the lease; false when it is no longer ours (the sweeper ended it). Also says if a cancel was asked. */
export async function renewLease(
  db: Db,
  id: number,
  owner: string,
  now: string,
  expiresAt: string,
): Promise<{ held: boolean; cancelRequested: boolean }> {
  const result = await db
    .updateTable('tb_deployment')
    .set({ heartbeat_at: now, lease_expires_at: expiresAt })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .where('status', '=', 'in_progress')
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) return { held: false, cancelRequested: false };
  const row = await db.selectFrom('tb_deployment').select('cancel_requested').where('id', '=', id).executeTakeFirst();
  return { held: true, cancelRequested: Number(row?.cancel_requested ?? 0) === 1 };
}

/** Records that the target has been changed (an interrupted run past this point is not retried). */
export async function markTouched(db: Db, id: number, at: string): Promise<void> {
  await db.updateTable('tb_deployment').set({ touched_at: at }).where('id', '=', id).where('touched_at', 'is', null).execute();
}

/** Gives the lease up now (on shutdown), so that the next sweep can act at once. */
export async function releaseLease(db: Db, id: number, owner: string, now: string): Promise<void> {
  await db
    .updateTable('tb_deployment')
    .set({ lease_expires_at: now })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .where('status', '=', 'in_progress')
    .execute();
}

export interface ExpiredLease {
  id: number;
  fraise: string;
  environment: string;
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  touched: boolean;
  attempt: number;
}

export async function expiredLeases(db: Db, now: string): Promise<ExpiredLease[]> {
  const rows = await db
    .selectFrom('tb_deployment')
    .select(['id', 'fraise', 'environment', 'lease_owner', 'lease_expires_at', 'touched_at', 'attempt'])
    .where('status', '=', 'in_progress')
    .where((eb) => eb.or([eb('lease_expires_at', '<', now), eb('lease_expires_at', 'is', null)]))
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    fraise: r.fraise,
    environment: r.environment,
    leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at,
    touched: r.touched_at !== null,
    attempt: Number(r.attempt),
  }));
}

/** IN_PROGRESS with an expired lease → PENDING again (nothing was changed yet). False if someone else acted first. */
export async function requeueExpired(db: Db, id: number, now: string): Promise<boolean> {
  const result = await db
    .updateTable('tb_deployment')
    .set({ status: 'pending', started_at: null, lock_key: null, host_slot: null, lease_owner: null, lease_expires_at: null, heartbeat_at: null })
    .where('id', '=', id)
    .where('status', '=', 'in_progress')
    .where((eb) => eb.or([eb('lease_expires_at', '<', now), eb('lease_expires_at', 'is', null)]))
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
