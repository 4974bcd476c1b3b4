import type { HealthStatus } from '../model.js';
import { finishDeployment, type FinishValues } from '../store/deployment.repository.js';
import { updateFraiseState } from '../store/fraise-state.repository.js';
import type { Db } from '../store/store.js';

/*
 * Ending a deployment, and what it means for "what runs where" (tb_fraise_state), in one
 * transaction: the deployment's row, the daily counters and the state never disagree.
 */

export interface Completion extends FinishValues {
  fraise: string;
  environment: string;
  /** Who asked for it (shown as last_deployed_by). */
  requestedBy: string | null;
  /** The version now running, when the deployment changed it (success, rolled back). */
  runningVersion?: string | null;
  /** The health of the environment after this deployment, when it is known. */
  health?: HealthStatus;
}

export async function completeDeployment(trx: Db, id: number, completion: Completion): Promise<boolean> {
  const { fraise, environment, requestedBy, runningVersion, health, ...finish } = completion;
  const ended = await finishDeployment(trx, id, finish);
  if (!ended) return false;
  if (finish.status === 'success' || finish.status === 'rolled_back' || health !== undefined) {
    await updateFraiseState(trx, fraise, environment, {
      ...(runningVersion !== undefined ? { currentVersion: runningVersion } : {}),
      ...(health !== undefined ? { status: health } : {}),
      ...(finish.status === 'success' ? { lastDeployedAt: finish.completedAt, lastDeployedBy: requestedBy } : {}),
      lastDeploymentId: id,
      updatedAt: finish.completedAt,
    });
  }
  return true;
}
