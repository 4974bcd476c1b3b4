import { sql } from 'kysely';
import { dialectOf } from '../../db/dialect.js';
import { type DeploymentProgress, RUNNING_STATUSES, type TrafficShare } from '../model.js';
import { lastSequence } from './claim.repository.js';
import type { Db } from './store.js';

/** Progress events of deployments, in sequence order. */

/** At most `limit` events after `afterSequence`, oldest first: a page (the caller reads the next from the last sequence). */
export async function listProgress(db: Db, deploymentId: number, afterSequence: number, limit: number): Promise<DeploymentProgress[]> {
  const rows = await selectProgress(db, deploymentId).where('sequence', '>', afterSequence).orderBy('sequence', 'asc').limit(limit).execute();
  return rows.map(toProgress);
}

/** One progress event, by its sequence. */
export async function findProgress(db: Db, deploymentId: number, sequence: number): Promise<DeploymentProgress | undefined> {
  const row = await selectProgress(db, deploymentId).where('sequence', '=', sequence).executeTakeFirst();
  return row && toProgress(row);
}

function selectProgress(db: Db, deploymentId: number) {
  return db
    .selectFrom('tb_deployment_progress')
    .select(['fk_deployment', 'sequence', 'step', 'progress', 'message', 'created_at', 'traffic'])
    .where('fk_deployment', '=', deploymentId);
}

function toProgress(row: { fk_deployment: number; sequence: number; step: string; progress: number; message: string | null; created_at: string; traffic: string | null }): DeploymentProgress {
  return {
    deploymentId: String(row.fk_deployment),
    sequence: Number(row.sequence),
    step: row.step,
    progress: Number(row.progress),
    message: row.message,
    timestamp: row.created_at,
    ...(row.traffic ? { traffic: JSON.parse(row.traffic) as TrafficShare[] } : {}),
  };
}

/**
 * Appends a line after a deployment's last progress event, in the caller's transaction, for a
 * deployment no run of this process writes to (it waits at its gates, or its holder died).
 * Returns the event, to publish once the transaction committed.
 */
export async function appendProgress(trx: Db, deploymentId: number, line: { step: string; message: string; at: string }): Promise<DeploymentProgress> {
  const event: DeploymentProgress = {
    deploymentId: String(deploymentId),
    sequence: (await lastSequence(trx, deploymentId)) + 1,
    step: line.step,
    progress: 0,
    message: line.message,
    timestamp: line.at,
  };
  await insertProgress(trx, event);
  return event;
}

/**
 * Records one progress event. With `fence` the row is only written while its deployment still
 * runs (IN_PROGRESS or PAUSED) under that generation, in the same statement (a stale holder's events are refused;
 * on PostgreSQL the deployment's row is share-locked, so an end being committed is waited for and
 * seen). Returns false when it was refused.
 */
export async function insertProgress(db: Db, event: DeploymentProgress, fence?: number): Promise<boolean> {
  const traffic = event.traffic ? JSON.stringify(event.traffic) : null;
  if (fence !== undefined) {
    const postgres = dialectOf(db) === 'postgres';
    // PostgreSQL types a bare parameter in a select list as text: integers are cast.
    const int = (value: number) => (postgres ? sql<number>`cast(${value} as integer)` : sql<number>`${value}`);
    const result = await db
      .insertInto('tb_deployment_progress')
      .columns(['fk_deployment', 'sequence', 'step', 'progress', 'message', 'created_at', 'traffic'])
      .expression(
        db
          .selectFrom('tb_deployment')
          .select([
            'id',
            int(event.sequence).as('sequence'),
            sql<string>`${event.step}`.as('step'),
            int(event.progress).as('progress'),
            sql<string | null>`${event.message}`.as('message'),
            sql<string>`${event.timestamp}`.as('created_at'),
            sql<string | null>`${traffic}`.as('traffic'),
          ])
          .where('id', '=', Number(event.deploymentId))
          .where('status', 'in', RUNNING_STATUSES)
          .where('fence', '=', fence)
          .$if(postgres, (qb) => qb.forShare()),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }
  await db
    .insertInto('tb_deployment_progress')
    .values({
      fk_deployment: Number(event.deploymentId),
      sequence: event.sequence,
      step: event.step,
      progress: event.progress,
      message: event.message,
      created_at: event.timestamp,
      traffic,
    })
    .execute();
  return true;
}
