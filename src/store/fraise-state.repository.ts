import type { Selectable } from 'kysely';
import type { FraiseStatusView } from '../../db/database.js';
import type { FraiseState, HealthStatus } from '../model.js';
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
