import type { EnvironmentConfig, JobConfig } from '../config/types.js';
import type { EventBus } from '../events/bus.js';
import type { Metrics } from '../metrics.js';
import type { TriggerType } from '../model.js';
import { isUniqueViolation } from '../store/driver-errors.js';
import type { Store } from '../store/store.js';
import { announceCompleted, type Enqueued, enqueue } from './queue.js';

/*
 * Queuing a run of a job, for the scheduler (a cron occurrence) and for runJob (on demand). A
 * scheduled run carries its occurrence's run key: when several instances share the store, each
 * one's scheduler fires the same tick, and the unique index on the key lets only the first
 * insert in.
 */

/** The key of one cron occurrence of a job: the same on every instance that fires it. */
export function runKeyOf(env: EnvironmentConfig, job: string, occurrence: Date): string {
  return `${env.fraise}/${env.name}/${job}@${occurrence.toISOString()}`;
}

export interface JobRunRequest {
  env: EnvironmentConfig;
  job: JobConfig;
  trigger: TriggerType;
  requestedBy: string;
  requestedAt: string;
  /** Handed to the job's command as env vars. */
  context: Record<string, string>;
  /** Scheduled runs: the occurrence's key (runKeyOf); absent for runs on demand. */
  runKey?: string;
}

export interface JobQueueDeps {
  store: Store;
  bus: EventBus;
  metrics: Metrics;
}

/**
 * Queues a run of the job and announces it. Resolves undefined, queuing nothing, when the run key
 * is already taken: another instance queued this occurrence first.
 */
export async function enqueueJobRun(deps: JobQueueDeps, request: JobRunRequest): Promise<Enqueued | undefined> {
  const { store, bus, metrics } = deps;
  let enqueued: Enqueued;
  try {
    enqueued = await store.db.transaction().execute((trx) =>
      enqueue(trx, {
        fraise: request.env.fraise,
        environment: request.env.name,
        kind: 'job',
        job: request.job.name,
        trigger: request.trigger,
        requestedBy: request.requestedBy,
        requestedAt: request.requestedAt,
        context: request.context,
        ...(request.runKey ? { runKey: request.runKey } : {}),
        env: request.env,
      }),
    );
  } catch (error) {
    // The transaction was rolled back: nothing of this attempt remains.
    if (request.runKey && isUniqueViolation(error)) return undefined;
    throw error;
  }
  metrics.deploymentsQueued.inc({ trigger: request.trigger });
  bus.publish({ type: 'queued', deployment: enqueued.deployment, superseded: enqueued.superseded });
  await announceCompleted(store.db, bus, enqueued.superseded);
  return enqueued;
}
