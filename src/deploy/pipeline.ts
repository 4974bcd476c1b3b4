import type { Logger } from 'pino';
import type { EventBus } from '../events/bus.js';
import { isFullCommitSha, shortVersion } from '../git/refs.js';
import type { HealthStatus } from '../model.js';
import { type DeployContext, DeployFailure, DeploymentCancelled, DeploymentSuperseded, type DeployOutcome, RolledBackError } from '../providers/provider.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { Catalog } from '../services/catalog.js';
import { findPushOrigin } from '../store/deployment.repository.js';
import type { ClaimedRun } from '../store/claim.repository.js';
import type { Store } from '../store/store.js';
import type { Tracing } from '../tracing.js';
import { type DeploymentControl, timedControl } from './control.js';
import { type FenceGuard, ProgressRecorder } from './progress-recorder.js';

/*
 * Runs one claimed deployment: finds its fraise, environment and provider, hands the provider
 * a context (progress reporter, cancel signal, values from outside as env vars only) and turns
 * what happens into an outcome: SUCCESS, FAILED, ROLLED_BACK, CANCELLED or SUPERSEDED (a push
 * older than the commit deployed, found so by the fetch step), with the reason.
 */

/** A claimed run, and where its progress numbering stands. */
export interface ClaimedDeployment extends ClaimedRun {
  /** Progress events already recorded (a retried run continues the numbering). */
  lastSequence: number;
}

/** What the dispatcher lends a run to keep it fenced (see DeployContext). */
export interface RunGuard {
  fence?: FenceGuard;
  instanceId?: string;
  onProcess?: DeployContext['onProcess'];
  killGraceMs?: number;
  /**
   * How an operator steers the run, given the run's progress recorder (its pause, resume and
   * promote events are the run's); without it, holds are timed only.
   */
  control?: (events: ProgressRecorder) => DeploymentControl;
}

export interface PipelineResult {
  status: 'success' | 'failed' | 'rolled_back' | 'cancelled' | 'superseded';
  errorMessage: string | null;
  newVersion: string | null;
  /** The version running afterwards, when this run changed or established it. */
  runningVersion?: string | null;
  health?: HealthStatus;
  details?: Record<string, unknown>;
  /** The deployed commit's committer date, when the fetch learned it. */
  commitTime?: string;
}

export interface PipelineDeps {
  catalog: Catalog;
  providers: ProviderRegistry;
  store: Store;
  bus: EventBus;
  now: () => Date;
  logger: Logger;
  /** A trace per deployment when tracing is on. */
  tracing?: Tracing;
}

export class Pipeline {
  constructor(private readonly deps: PipelineDeps) {}

  async run(claimed: ClaimedDeployment, signal: AbortSignal, touchTarget: () => Promise<void>, guard: RunGuard = {}): Promise<PipelineResult> {
    const { catalog, providers, store, bus, now } = this.deps;
    const reporter = new ProgressRecorder(String(claimed.id), claimed.lastSequence, store, bus, now, guard.fence);
    const started = now().getTime();
    const target = `${claimed.fraise}/${claimed.environment}`;
    const traced = this.deps.tracing?.deployment(String(claimed.id), `${claimed.kind} ${target}`, {
      'deployment.id': String(claimed.id),
      'deployment.name': target,
      'deployment.environment.name': claimed.environment,
      'fraisier.fraise': claimed.fraise,
      'fraisier.deployment.kind': claimed.kind,
      ...(claimed.gitCommit ? { 'vcs.ref.head.revision': claimed.gitCommit } : {}),
    });
    if (traced) reporter.onStep = (step) => traced.step(step);
    const finish = async (result: PipelineResult, step: string, message: string): Promise<PipelineResult> => {
      reporter.onStep = undefined;
      await reporter.step(step, result.status === 'success' ? 100 : reporter.currentProgress, message).catch((error: unknown) => {
        // A run whose lease was lost has nothing more to record: its writes are refused.
        if (signal.reason === 'lease-lost') return;
        this.deps.logger.error({ err: error, deployment: claimed.id }, 'could not record the final progress event');
      });
      traced?.end(result.status, result.errorMessage);
      return result;
    };
    try {
      const fraise = catalog.findFraise(claimed.fraise);
      const env = fraise?.environments.find((e) => e.name === claimed.environment);
      if (!fraise || !env) throw new DeployFailure(`${target} is no longer in the configuration`);
      const provider = providers.get(env.target.provider);
      if (!provider) {
        throw new DeployFailure(`no target provider "${env.target.provider}" in this Fraisier (available: ${providers.names().join(', ')})`);
      }
      const ctx: DeployContext = {
        deploymentId: String(claimed.id),
        fraise,
        env,
        commit: claimed.kind === 'rollback' ? claimed.toVersion : claimed.gitCommit,
        branch: claimed.gitBranch,
        previousVersion: claimed.oldVersion,
        context: claimed.context,
        reporter,
        signal,
        control: guard.control?.(reporter) ?? timedControl(signal),
        touchTarget,
        ...(guard.fence ? { generation: guard.fence.generation } : {}),
        ...(guard.instanceId ? { instanceId: guard.instanceId } : {}),
        ...(guard.onProcess ? { onProcess: guard.onProcess } : {}),
        ...(guard.killGraceMs !== undefined ? { killGraceMs: guard.killGraceMs } : {}),
        ...(traced ? { trace: traced } : {}),
      } satisfies DeployContext;
      const newestCommit = await this.#newestCommit(claimed);
      if (newestCommit) ctx.newestCommit = newestCommit;
      if (claimed.kind === 'job') {
        const job = env.jobs.find((j) => j.name === claimed.job);
        if (!job) throw new DeployFailure(`${target} has no job "${claimed.job}" any more`);
        await provider.runJob(ctx, job);
        const seconds = ((now().getTime() - started) / 1000).toFixed(1);
        return await finish({ status: 'success', errorMessage: null, newVersion: null }, 'done', `Job ${job.name} finished in ${seconds}s`);
      }
      let outcome: DeployOutcome;
      if (claimed.kind === 'rollback') {
        if (!claimed.toVersion) throw new DeployFailure('a rollback needs the version to go back to');
        outcome = await provider.rollback(ctx, claimed.toVersion);
      } else {
        outcome = await provider.deploy(ctx);
      }
      const seconds = ((now().getTime() - started) / 1000).toFixed(1);
      const change = `${claimed.oldVersion ? shortVersion(claimed.oldVersion) : 'nothing'} → ${shortVersion(outcome.version)}`;
      return await finish(
        {
          status: 'success',
          errorMessage: null,
          newVersion: outcome.version,
          runningVersion: outcome.version,
          health: outcome.health,
          ...(outcome.details ? { details: outcome.details } : {}),
          ...(ctx.commitTime && claimed.kind !== 'rollback' ? { commitTime: ctx.commitTime } : {}),
        },
        'done',
        `${claimed.kind === 'rollback' ? 'Rolled back' : 'Deployed'} ${target}: ${change} in ${seconds}s`,
      );
    } catch (error) {
      if (error instanceof RolledBackError) {
        return finish(
          { status: 'rolled_back', errorMessage: error.reason, newVersion: null, runningVersion: error.runningVersion, health: error.health },
          'rolled_back',
          `Rolled back: ${error.reason}`,
        );
      }
      if (error instanceof DeploymentSuperseded) {
        return finish({ status: 'superseded', errorMessage: error.message, newVersion: null }, 'superseded', `Superseded: ${error.message}`);
      }
      if (signal.aborted && signal.reason !== 'cancel') {
        // Shutdown or a lost lease: the dispatcher gives the lease up; the sweep ends it or queues it again.
        const why = signal.reason === 'shutdown' ? 'Fraisier is shutting down' : 'the lease was lost';
        return finish({ status: 'cancelled', errorMessage: `interrupted: ${why}`, newVersion: null }, 'interrupted', `Stopped: ${why}`);
      }
      if (error instanceof DeploymentCancelled || signal.aborted) {
        return finish({ status: 'cancelled', errorMessage: 'cancelled while running', newVersion: null }, 'cancelled', 'Cancelled');
      }
      const message = error instanceof Error ? error.message : String(error);
      if (!(error instanceof DeployFailure)) this.deps.logger.warn({ err: error, deployment: claimed.id }, 'deployment failed');
      const failure = error instanceof DeployFailure ? error : undefined;
      return finish(
        {
          status: 'failed',
          errorMessage: message,
          newVersion: null,
          ...(failure?.health ? { health: failure.health } : {}),
          ...(failure?.runningVersion !== undefined ? { runningVersion: failure.runningVersion } : {}),
        },
        'failed',
        `Failed: ${message}`,
      );
    }
  }

  /** Only deployments a push asked for are held to "newest commit wins"; an explicit deploy or rollback is not. */
  async #newestCommit(claimed: ClaimedDeployment): Promise<DeployContext['newestCommit']> {
    if (claimed.kind !== 'deploy' || !claimed.oldVersion || !isFullCommitSha(claimed.oldVersion)) return undefined;
    const origin = await findPushOrigin(this.deps.store.db, claimed.id);
    if (origin?.trigger !== 'webhook') return undefined;
    return { deployed: claimed.oldVersion, before: origin.before, target: `${claimed.fraise}/${claimed.environment}` };
  }
}
