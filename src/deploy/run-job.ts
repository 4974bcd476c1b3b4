import { assertCan, type Principal, principalName } from '../auth/principal.js';
import { requireSecrets } from '../config/unavailable-secrets.js';
import { suggest } from '../config/validate.js';
import { NotFoundError } from '../errors.js';
import { type DeploymentResult, isQueued } from '../model.js';
import type { RunJobInput } from '../services/app-services.js';
import { activeJobRuns } from '../store/job-run.repository.js';
import { guardStore } from '../store/store.js';
import type { DeploymentServiceDeps } from './deployment-service.js';
import { enqueueJobRun } from './job-queue.js';
import { planDeployment } from './plan.js';

/*
 * A job run on demand (runJob, `fraisier run-job`): a job without a schedule runs only this way,
 * a scheduled one may run between its occurrences. Like a scheduled run, it never runs over a
 * run of the same job: behind a running one it waits its turn (the job's lock key lets one run at
 * a time); when one is already waiting, asking again queues nothing.
 */

export async function runJobOnDemand(deps: DeploymentServiceDeps, principal: Principal, input: RunJobInput): Promise<DeploymentResult> {
  requireSecrets(deps.catalog.config, 'run a job');
  const fraise = deps.catalog.fraise(input.fraise);
  const env = deps.catalog.environment(input.fraise, input.environment);
  assertCan(principal, 'deploy', fraise.name, env.name);
  const target = `${fraise.name}/${env.name}`;
  const job = env.jobs.find((j) => j.name === input.job);
  if (!job) throw new NotFoundError(unknownJob(target, input.job, env.jobs.map((j) => j.name)));
  const plan = planDeployment(fraise, env, 'job', job);
  const runs = await guardStore(() => activeJobRuns(deps.store.db, { fraise: fraise.name, environment: env.name, job: job.name }));
  const waiting = runs.find((r) => isQueued(r.status));
  if (waiting) {
    return {
      success: false,
      message: `job ${job.name} of ${target} is already queued (run ${waiting.id}, PENDING); nothing was queued`,
      dryRun: false,
      plan,
      deployment: null,
    };
  }
  const running = runs.find((r) => !isQueued(r.status));
  const enqueued = await guardStore(() =>
    enqueueJobRun(deps, {
      env,
      job,
      trigger: input.trigger === 'manual' ? 'manual' : 'api',
      requestedBy: principalName(principal),
      requestedAt: deps.now().toISOString(),
      context: { job: job.name },
    }),
  );
  // Without a run key the insert cannot collide.
  const { id, deployment } = enqueued!;
  deps.dispatch.notify();
  const queued = `job run ${id} queued: ${target} job ${job.name}`;
  return {
    success: true,
    message: running ? `${queued}; it starts when run ${running.id} (${running.status.toUpperCase()}) ends: a job never runs over itself` : queued,
    dryRun: false,
    plan,
    deployment,
  };
}

function unknownJob(target: string, name: string, jobs: string[]): string {
  if (jobs.length === 0) return `${target} has no jobs`;
  const hint = suggest(name, jobs);
  return `${target} has no job "${name}"${hint ? `; did you mean "${hint}"?` : ` (it has ${jobs.join(', ')})`}`;
}
