import { type DeploymentStatus, QUEUED_STATUSES, RUNNING_STATUSES } from '../model.js';
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

/** A run of a job that waits or runs. */
export interface ActiveJobRun extends JobKey {
  id: number;
  status: 'pending' | 'waiting' | 'in_progress' | 'paused';
  /** The cron occurrence it was queued for (scheduled runs), else null. */
  runKey: string | null;
}

/** Runs queued (PENDING; job runs never wait on gates) or running (IN_PROGRESS, PAUSED), of every job or (given `of`) of one job; oldest first. */
export async function activeJobRuns(db: Db, of?: JobKey): Promise<ActiveJobRun[]> {
  let query = db
    .selectFrom('tb_deployment as d')
    .innerJoin('tb_deployment_request as r', 'r.id', 'd.fk_request')
    .select(['d.id', 'd.fraise', 'd.environment', 'd.job', 'd.status', 'r.run_key'])
    .where('d.job', 'is not', null)
    .where('d.status', 'in', [...QUEUED_STATUSES, ...RUNNING_STATUSES]);
  if (of) query = query.where('d.fraise', '=', of.fraise).where('d.environment', '=', of.environment).where('d.job', '=', of.job);
  const rows = await query.orderBy('d.id', 'asc').execute();
  return rows.map((r) => ({
    id: Number(r.id),
    fraise: r.fraise,
    environment: r.environment,
    job: r.job!,
    status: r.status as ActiveJobRun['status'],
    runKey: r.run_key,
  }));
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
