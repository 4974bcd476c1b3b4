import type { DeploymentStatus } from '../model.js';
import type { Db } from './store.js';

/*
 * Job runs: deployments of kind "job" (tb_deployment rows with a `job`), as the scheduler sees
 * them.
 */

/** A job of an environment. */
export interface JobKey {
  fraise: string;
  environment: string;
  job: string;
}

/** Jobs with a run PENDING or IN_PROGRESS. */
export async function activeJobRuns(db: Db): Promise<JobKey[]> {
  const rows = await db
    .selectFrom('tb_deployment')
    .select(['fraise', 'environment', 'job'])
    .where('job', 'is not', null)
    .where('status', 'in', ['pending', 'in_progress'])
    .execute();
  return rows.map((r) => ({ fraise: r.fraise, environment: r.environment, job: r.job! }));
}

/** How the last ended run of a job ended (superseded runs aside), or undefined when none has. */
export async function lastJobRunStatus(db: Db, fraise: string, environment: string, job: string): Promise<DeploymentStatus | undefined> {
  const row = await db
    .selectFrom('tb_deployment')
    .select('status')
    .where('fraise', '=', fraise)
    .where('environment', '=', environment)
    .where('job', '=', job)
    .where('status', 'in', ['success', 'failed', 'cancelled', 'rolled_back'])
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.status;
}
