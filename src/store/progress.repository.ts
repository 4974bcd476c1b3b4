import type { DeploymentProgress } from '../model.js';
import type { Db } from './store.js';

/** Progress events of deployments, in sequence order. */

export async function listProgress(db: Db, deploymentId: number, afterSequence = 0): Promise<DeploymentProgress[]> {
  const rows = await db
    .selectFrom('tb_deployment_progress')
    .select(['fk_deployment', 'sequence', 'step', 'progress', 'message', 'created_at'])
    .where('fk_deployment', '=', deploymentId)
    .where('sequence', '>', afterSequence)
    .orderBy('sequence', 'asc')
    .execute();
  return rows.map((row) => ({
    deploymentId: String(row.fk_deployment),
    sequence: Number(row.sequence),
    step: row.step,
    progress: Number(row.progress),
    message: row.message,
    timestamp: row.created_at,
  }));
}

export async function insertProgress(db: Db, event: DeploymentProgress): Promise<void> {
  await db
    .insertInto('tb_deployment_progress')
    .values({
      fk_deployment: Number(event.deploymentId),
      sequence: event.sequence,
      step: event.step,
      progress: event.progress,
      message: event.message,
      created_at: event.timestamp,
    })
    .execute();
}
