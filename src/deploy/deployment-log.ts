import type { Logger } from 'pino';
import { maskUrlCredentials } from '../config/secrets.js';
import type { EventBus, LocalEvent, QueuedEvent } from '../events/bus.js';
import { shortVersion } from '../git/refs.js';
import type { Deployment, DeploymentProgress } from '../model.js';

/*
 * What the operator reads: one line per change of a deployment's state in this process
 * (queued, started, each step's end with its duration, the final status), each with the same
 * ids as fields. Written from the event bus, so the lines say what subscribers were told,
 * whoever published it. Durations come from the events' timestamps (the injected clock).
 */

/** The progress steps the pipeline ends a run with: they end the step before them, and start none. */
const FINAL_STEPS = new Set(['done', 'failed', 'rolled_back', 'superseded', 'cancelled', 'interrupted']);

/** The ids every line of one deployment carries. */
interface DeploymentFields {
  deployment: number;
  fraise: string;
  environment: string;
  kind: Deployment['kind'];
  job?: string;
  commit: string | null;
  branch?: string;
}

interface Run {
  fields: DeploymentFields;
  step?: string;
  /** When the current step was announced (ms). */
  since: number;
}

/** Logs the deployments of `bus` on `logger` until the returned function is called. */
export function logDeployments(bus: EventBus, logger: Logger): () => void {
  const runs = new Map<string, Run>();
  const onEvent = (event: LocalEvent): void => {
    switch (event.type) {
      case 'queued':
        return queued(logger, event);
      case 'started': {
        const { deployment } = event;
        const fields = fieldsOf(deployment);
        runs.set(deployment.id, { fields, since: Date.parse(deployment.startedAt) });
        logger.info(fields, `deployment ${deployment.id} started: ${describe(deployment)}`);
        return;
      }
      case 'progress':
        return progressed(logger, runs, event.event);
      case 'completed':
        runs.delete(event.deployment.id);
        return completed(logger, event.deployment);
      case 'waiting': {
        const closed = (event.deployment.gates ?? []).filter((gate) => !gate.satisfied).map((gate) => gate.message);
        logger.info(fieldsOf(event.deployment), `deployment ${event.deployment.id} waiting: ${closed.join('; ') || 'on its gates'}`);
        return;
      }
    }
  };
  return bus.watch(onEvent);
}

function queued(logger: Logger, { deployment, superseded, delivery }: QueuedEvent): void {
  const fields = {
    ...fieldsOf(deployment),
    trigger: deployment.triggeredBy,
    ...(superseded.length ? { superseded } : {}),
    ...(delivery ? { provider: delivery.provider, deliveryId: delivery.deliveryId, webhookEvent: delivery.event } : {}),
  };
  if (deployment.status === 'superseded') {
    logger.info({ ...fields, status: deployment.status }, `deployment ${deployment.id} recorded as superseded: ${masked(deployment.errorMessage)}`);
    return;
  }
  const replaced = superseded.length ? `; supersedes ${superseded.join(', ')}` : '';
  logger.info(fields, `deployment ${deployment.id} queued: ${describe(deployment)} (${deployment.triggeredBy} by ${deployment.requestedBy})${replaced}`);
}

/** A step named differently from the one before ends that one; a message within a step changes nothing. */
function progressed(logger: Logger, runs: Map<string, Run>, event: DeploymentProgress): void {
  const run = runs.get(event.deploymentId);
  if (!run || event.step === run.step) return;
  const at = Date.parse(event.timestamp);
  if (run.step !== undefined) {
    const durationMs = Math.max(0, at - run.since);
    const how = FINAL_STEPS.has(event.step) && event.step !== 'done' ? `stopped after ${seconds(durationMs)} (${event.step})` : `finished in ${seconds(durationMs)}`;
    logger.info({ ...run.fields, step: run.step, durationMs }, `deployment ${event.deploymentId}: step ${run.step} ${how}`);
  }
  run.step = FINAL_STEPS.has(event.step) ? undefined : event.step;
  run.since = at;
}

function completed(logger: Logger, deployment: Deployment): void {
  const fields = {
    ...fieldsOf(deployment),
    status: deployment.status,
    ...(deployment.durationSeconds !== null ? { durationSeconds: deployment.durationSeconds } : {}),
    ...(deployment.errorMessage ? { reason: masked(deployment.errorMessage) } : {}),
  };
  const took = deployment.durationSeconds !== null ? ` in ${deployment.durationSeconds}s` : '';
  const why = deployment.errorMessage ? `: ${masked(deployment.errorMessage)}` : '';
  const message = `deployment ${deployment.id} ${deployment.status.toUpperCase()}: ${describe(deployment)}${took}${why}`;
  // What the operator must look at; a success, a cancel or a newer push replacing it is not.
  if (deployment.status === 'failed' || deployment.status === 'rolled_back') logger.warn(fields, message);
  else logger.info(fields, message);
}

function fieldsOf(deployment: Deployment): DeploymentFields {
  const version = deployment.newVersion ?? deployment.gitCommit;
  return {
    deployment: Number(deployment.id),
    fraise: deployment.fraise,
    environment: deployment.environment,
    kind: deployment.kind,
    ...(deployment.job ? { job: deployment.job } : {}),
    commit: version ? shortVersion(version) : null,
    ...(!version && deployment.gitBranch ? { branch: deployment.gitBranch } : {}),
  };
}

/** "hello/production 0123456789ab", "hello/production (head of main)", "backup/production job nightly". */
function describe(deployment: Deployment): string {
  const target = `${deployment.fraise}/${deployment.environment}`;
  if (deployment.kind === 'job') return `${target} job ${deployment.job ?? ''}`.trimEnd();
  const version = deployment.newVersion ?? deployment.gitCommit;
  const what = version ? shortVersion(version) : deployment.gitBranch ? `(head of ${deployment.gitBranch})` : '(head of the repository)';
  return `${target} ${deployment.kind === 'rollback' ? 'back to ' : ''}${what}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)}s`;
}

/** An error message as logged: a URL's credentials never (a failed fetch may quote the URL). */
function masked(text: string | null): string {
  return text === null ? '' : maskUrlCredentials(text);
}
