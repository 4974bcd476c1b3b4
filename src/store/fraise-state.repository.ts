import type { Selectable } from 'kysely';
import type { FraiseStatusView } from '../../db/database.js';
import type { FraiseState, HealthStatus } from '../model.js';
import { lockKeyOf } from './deployment.repository.js';
import { isUniqueViolation } from './driver-errors.js';
import type { Db } from './store.js';

/** What runs where, one row per (fraise, environment), read through v_fraise_status. */

export async function listFraiseStates(db: Db): Promise<FraiseState[]> {
  const rows = await db.selectFrom('v_fraise_status').selectAll().execute();
  return rows.map(toFraiseState);
}

export async function findFraiseState(db: Db, fraise: string, environment: string): Promise<FraiseState | undefined> {
  const row = await db
    .selectFrom('v_fraise_status')
    .selectAll()
    .where('fraise', '=', fraise)
    .where('environment', '=', environment)
    .executeTakeFirst();
  return row ? toFraiseState(row) : undefined;
}

/**
 * Makes sure every configured (fraise, environment) has a state row. Two processes may do this
 * at once: a row the other one inserted first is fine.
 */
export async function ensureFraiseStates(
  db: Db,
  pairs: readonly { fraise: string; environment: string; targetProvider: string }[],
  now: string,
): Promise<number> {
  const existing = await db.selectFrom('tb_fraise_state').select(['fraise', 'environment']).execute();
  const known = new Set(existing.map((row) => `${row.fraise}\u0000${row.environment}`));
  let inserted = 0;
  for (const pair of pairs) {
    if (known.has(`${pair.fraise}\u0000${pair.environment}`)) continue;
    try {
      await db
        .insertInto('tb_fraise_state')
        .values({
          fraise: pair.fraise,
          environment: pair.environment,
          status: 'unknown',
          target_provider: pair.targetProvider,
          updated_at: now,
        })
        .execute();
      inserted++;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }
  return inserted;
}

export interface FraiseStateUpdate {
  currentVersion?: string | null;
  status?: HealthStatus;
  lastDeployedAt?: string;
  lastDeployedBy?: string | null;
  lastDeploymentId?: number;
  targetProvider?: string;
  updatedAt: string;
}

export async function updateFraiseState(db: Db, fraise: string, environment: string, update: FraiseStateUpdate): Promise<void> {
  const values = {
    ...(update.currentVersion !== undefined ? { current_version: update.currentVersion } : {}),
    ...(update.status !== undefined ? { status: update.status } : {}),
    ...(update.lastDeployedAt !== undefined ? { last_deployed_at: update.lastDeployedAt } : {}),
    ...(update.lastDeployedBy !== undefined ? { last_deployed_by: update.lastDeployedBy } : {}),
    ...(update.lastDeploymentId !== undefined ? { fk_last_deployment: update.lastDeploymentId } : {}),
    ...(update.targetProvider !== undefined ? { target_provider: update.targetProvider } : {}),
    updated_at: update.updatedAt,
  };
  const result = await db
    .updateTable('tb_fraise_state')
    .set(values)
    .where('fraise', '=', fraise)
    .where('environment', '=', environment)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) > 0) return;
  try {
    await db
      .insertInto('tb_fraise_state')
      .values({ fraise, environment, status: 'unknown', ...values })
      .execute();
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    await db.updateTable('tb_fraise_state').set(values).where('fraise', '=', fraise).where('environment', '=', environment).execute();
  }
}

function toFraiseState(row: Selectable<FraiseStatusView>): FraiseState {
  return {
    fraise: row.fraise,
    environment: row.environment,
    currentVersion: row.current_version,
    status: row.status,
    targetProvider: row.target_provider,
    lastDeployedAt: row.last_deployed_at,
    lastDeployedBy: row.last_deployed_by,
    lastDeploymentId: row.last_deployment_id === null ? null : String(row.last_deployment_id),
    lastDeploymentStatus: row.last_deployment_status,
  };
}

/** A deployed environment as the health monitor sees it: its recorded status and when the row last changed. */
export interface MonitoredState {
  fraise: string;
  environment: string;
  status: HealthStatus;
  updatedAt: string;
  /** A deployment of it runs now (its lock key is held): the deployment sets its status. */
  deploying: boolean;
}

/** Every (fraise, environment) with something deployed (a current version). */
export async function listDeployedStates(db: Db): Promise<MonitoredState[]> {
  const [rows, running] = await Promise.all([
    db.selectFrom('tb_fraise_state').select(['fraise', 'environment', 'status', 'updated_at']).where('current_version', 'is not', null).execute(),
    db.selectFrom('tb_deployment').select('lock_key').where('lock_key', 'is not', null).execute(),
  ]);
  const locked = new Set(running.map((row) => row.lock_key));
  return rows.map((row) => ({
    fraise: row.fraise,
    environment: row.environment,
    status: row.status,
    updatedAt: row.updated_at,
    deploying: locked.has(lockKeyOf(row.fraise, row.environment)),
  }));
}

/**
 * Records a change of health seen by a check that read the row as (`from`, `seenAt`): only if
 * the row is still what the check read. False when a deployment, or another instance's monitor,
 * wrote it in the meantime: the change is then theirs to record and announce, never twice.
 */
export async function changeFraiseStatus(
  db: Db,
  change: { fraise: string; environment: string; from: HealthStatus; seenAt: string; to: HealthStatus; at: string },
): Promise<boolean> {
  const result = await db
    .updateTable('tb_fraise_state')
    .set({ status: change.to, updated_at: change.at })
    .where('fraise', '=', change.fraise)
    .where('environment', '=', change.environment)
    .where('status', '=', change.from)
    .where('updated_at', '=', change.seenAt)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
