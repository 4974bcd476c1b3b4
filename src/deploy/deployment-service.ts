import type { Logger } from 'pino';
import { assertCan, can, type Principal, principalName } from '../auth/principal.js';
import type { EnvironmentConfig, FraiseConfig } from '../config/types.js';
import { requireSecrets } from '../config/unavailable-secrets.js';
import { BadInputError, ConflictError } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import { recordGateProgress } from '../gates/gate-keeper.js';
import { GIT_ENV, lsRemote, parseLsRemote } from '../git/commands.js';
import { isCommitish, sameCommit, shortVersion } from '../git/refs.js';
import { type Deployment, type DeploymentResult, isQueued, isRunning, type TriggerType } from '../model.js';
import type { Metrics } from '../metrics.js';
import type { Catalog } from '../services/catalog.js';
import type { DeployInput, DeploymentCommands, RollbackInput, RunJobInput } from '../services/app-services.js';
import type { QueryService } from '../services/queries.js';
import { requestPause, requestPromote, requestResume } from '../store/control.repository.js';
import { findDeployment, findSuccessfulVersion, finishDeployment, previousSuccessfulVersion, requestCancel } from '../store/deployment.repository.js';
import { findFraiseState } from '../store/fraise-state.repository.js';
import { guardStore, type Store } from '../store/store.js';
import type { CommandRunner } from '../exec/runner.js';
import type { CheckResult } from '../providers/provider.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { planDeployment } from './plan.js';
import { announceCompleted, enqueue } from './queue.js';
import { runJobOnDemand } from './run-job.js';

/** What the service needs of the dispatcher: a nudge after enqueueing, and cancellation. */
export interface DispatchControl {
  /** New work is queued: look now rather than at the next poll. */
  notify(): void;
  /** Stops a deployment this process runs; resolves with its end state, or undefined if not here. */
  cancel(id: number): Promise<Deployment | undefined>;
  /**
   * Something was asked of a deployment (pause, resume, promote): when this process runs it, it
   * reads the request now (elsewhere, NOTIFY or the lease renewal tells its process).
   */
  control(id: number): Promise<boolean>;
}

/** What an operator may ask of a running deployment besides cancelling it. */
export type ControlAction = 'pause' | 'resume' | 'promote';

export interface DeploymentServiceDeps {
  store: Store;
  catalog: Catalog;
  queries: QueryService;
  bus: EventBus;
  runner: CommandRunner;
  providers: ProviderRegistry;
  dispatch: DispatchControl;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
}

const LS_REMOTE_TIMEOUT_MS = 15_000;

export class DeploymentService implements DeploymentCommands {
  constructor(private readonly deps: DeploymentServiceDeps) {}

  async deploy(principal: Principal, input: DeployInput): Promise<DeploymentResult> {
    const { fraise, env, plan, target } = this.#prepare(principal, input, 'deploy');
    if (input.commit && !isCommitish(input.commit)) {
      throw new BadInputError(`commit must be a commit id of 7 to 64 hex characters (got ${JSON.stringify(input.commit.slice(0, 80))})`);
    }
    const branch = this.branchOf(env);
    // A dry run asks what the real one would need, and learns the branch's head on the way.
    const check = input.dryRun ? await this.#check(fraise, env, branch ?? null, input.commit?.toLowerCase() ?? null) : undefined;
    const commit = input.commit?.toLowerCase() ?? check?.head ?? (check?.problems.length ? undefined : await this.resolveHead(env, branch));
    const current = await this.#currentVersion(fraise.name, env.name);
    if (!input.force && commit && current && sameCommit(commit, current)) {
      return {
        success: false,
        message: `${shortVersion(commit)} is already deployed to ${target}; deploy with force to redeploy it`,
        dryRun: input.dryRun ?? false,
        plan,
        deployment: null,
      };
    }
    const what = commit ? shortVersion(commit) : branch ? `the head of ${branch}` : 'the head of the repository';
    if (check && check.problems.length > 0) {
      return {
        success: false,
        message: `dry run: deploying ${what} to ${target} (${env.target.provider}) would fail; nothing was queued${check.problems.map((problem) => `\n  - ${problem}`).join('')}`,
        dryRun: true,
        plan,
        deployment: null,
      };
    }
    if (input.dryRun) {
      const commands = (await this.deps.providers.get(env.target.provider)?.commands?.(fraise, env, commit ?? null)) ?? [];
      return {
        success: true,
        message: `dry run: would deploy ${what} to ${target} (${env.target.provider}); nothing was queued${commands.map((line) => `\n  ${line}`).join('')}`,
        dryRun: true,
        plan,
        deployment: null,
      };
    }
    const deployment = await this.#enqueue(principal, env, {
      kind: 'deploy',
      trigger: input.trigger === 'manual' ? 'manual' : 'api',
      gitBranch: branch ?? null,
      gitCommit: commit ?? null,
      force: input.force ?? false,
      freezeOverride: input.force === true && this.#overridesFreeze(principal, env),
    });
    return { success: true, message: `deployment ${deployment.id} queued: ${what} to ${target}`, dryRun: false, plan, deployment };
  }

  async rollback(principal: Principal, input: RollbackInput): Promise<DeploymentResult> {
    const { store } = this.deps;
    const { fraise, env, plan, target } = this.#prepare(principal, input, 'rollback');
    const current = await this.#currentVersion(fraise.name, env.name);
    const refuse = (message: string): DeploymentResult => ({ success: false, message, dryRun: false, plan, deployment: null });

    let version: string | undefined;
    if (input.toVersion) {
      const wanted = input.toVersion.trim();
      version = await guardStore(() => findSuccessfulVersion(store.db, fraise.name, env.name, wanted));
      if (!version) return refuse(`no successful deployment of ${JSON.stringify(wanted)} is recorded for ${target}`);
      if (current && sameCommit(version, current)) return refuse(`${shortVersion(version)} is already running on ${target}`);
    } else {
      version = await guardStore(() => previousSuccessfulVersion(store.db, fraise.name, env.name, current));
      if (!version) return refuse(`nothing to roll back to: no successful deployment of ${target} before ${current ? shortVersion(current) : 'now'}`);
    }
    const deployment = await this.#enqueue(principal, env, {
      kind: 'rollback',
      trigger: input.trigger === 'manual' ? 'manual' : 'api',
      gitBranch: null,
      gitCommit: version,
      toVersion: version,
      force: true,
    });
    return {
      success: true,
      message: `rollback ${deployment.id} queued: ${target} back to ${shortVersion(version)}`,
      dryRun: false,
      plan,
      deployment,
    };
  }

  runJob(principal: Principal, input: RunJobInput): Promise<DeploymentResult> {
    return runJobOnDemand(this.deps, principal, input);
  }

  /**
   * A forced deploy goes through the environment's freezes (now or to come while it waits) only
   * when an admin asks (a token with the admin scope there, or the open API); any other forced
   * deploy waits a freeze out like the rest.
   */
  #overridesFreeze(principal: Principal, env: EnvironmentConfig): boolean {
    const now = this.deps.now().getTime();
    if (!env.protection?.freezes.some((freeze) => Date.parse(freeze.to) > now)) return false;
    return (principal.kind === 'open' || principal.kind === 'token') && can(principal, 'admin', env.fraise, env.name);
  }

  /** The fraise and environment named, the principal's right to deploy there, and the plan. */
  #prepare(principal: Principal, input: { fraise: string; environment: string }, kind: 'deploy' | 'rollback') {
    // Refused before anything is queued: running it would need them.
    requireSecrets(this.deps.catalog.config, kind === 'rollback' ? 'roll back' : 'deploy');
    const fraise = this.deps.catalog.fraise(input.fraise);
    const env = this.deps.catalog.environment(input.fraise, input.environment);
    assertCan(principal, 'deploy', fraise.name, env.name);
    // The target's provider knows its steps (bare metal without a repository fetches nothing, Compose builds images).
    const plan = this.deps.providers.get(env.target.provider)?.plan(fraise, env, kind) ?? planDeployment(fraise, env, kind);
    return { fraise, env, plan, target: `${fraise.name}/${env.name}` };
  }

  /** What would stop a deployment of the environment now: no such provider here, or what the provider finds. */
  async #check(fraise: FraiseConfig, env: EnvironmentConfig, branch: string | null, commit: string | null): Promise<CheckResult> {
    const { providers } = this.deps;
    const provider = providers.get(env.target.provider);
    if (!provider) {
      return { problems: [`no target provider "${env.target.provider}" in this Fraisier (available: ${providers.names().join(', ')})`] };
    }
    if (!provider.check) return { problems: [] };
    try {
      return await provider.check(fraise, env, { branch, commit });
    } catch (error) {
      return { problems: [`the ${provider.name} provider could not check the target: ${(error as Error).message}`] };
    }
  }

  /** The commit running on the environment, as tb_fraise_state records it. */
  async #currentVersion(fraise: string, environment: string): Promise<string | null> {
    const state = await guardStore(() => findFraiseState(this.deps.store.db, fraise, environment));
    return state?.currentVersion ?? null;
  }

  async cancel(principal: Principal, id: string): Promise<Deployment> {
    const { store, bus, dispatch } = this.deps;
    const deployment = await this.deps.queries.deployment(principal, id);
    assertCan(principal, 'deploy', deployment.fraise, deployment.environment);
    const numericId = Number(deployment.id);
    // Queued (PENDING, or WAITING on a gate): it ends at once.
    if (isQueued(deployment.status)) {
      const ended = await guardStore(() =>
        store.db.transaction().execute((trx) =>
          finishDeployment(trx, numericId, {
            status: 'cancelled',
            completedAt: this.deps.now().toISOString(),
            errorMessage: `cancelled by ${principalName(principal)} before it started`,
          }),
        ),
      );
      const after = await guardStore(() => findDeployment(store.db, numericId));
      if (ended && after) {
        this.deps.metrics.deploymentsFinished.inc({ status: 'cancelled' });
        bus.publish({ type: 'completed', deployment: after });
        return after;
      }
      // It started meanwhile: cancel it as a running one.
      if (!after || !isRunning(after.status)) return after ?? deployment;
    } else if (!isRunning(deployment.status)) {
      throw new ConflictError(`deployment ${id} already ended (${deployment.status.toUpperCase()})`);
    }
    await guardStore(() => requestCancel(store.db, numericId));
    const local = await dispatch.cancel(numericId);
    return local ?? (await guardStore(() => findDeployment(store.db, numericId))) ?? deployment;
  }

  /**
   * Pause (at the next step boundary, or past the current hold), resume (the current pause, or a
   * pause asked for and not yet taken) or promote (skip the remaining steps and pauses) a running
   * deployment, whichever instance runs it. The request is on the row at once; the deployment
   * answered reflects what its run did so far (a pause shows PAUSED once it is taken).
   */
  async control(principal: Principal, action: ControlAction, id: string): Promise<Deployment> {
    const { store, dispatch, logger } = this.deps;
    const deployment = await this.deps.queries.deployment(principal, id);
    assertCan(principal, 'deploy', deployment.fraise, deployment.environment);
    const numericId = Number(deployment.id);
    const by = principalName(principal);
    const request = { pause: requestPause, resume: requestResume, promote: requestPromote }[action];
    const done = await guardStore(() => request(store.db, numericId, by));
    const after = (await guardStore(() => findDeployment(store.db, numericId))) ?? deployment;
    if (!done) throw controlRefusal(action, after);
    logger.info({ deployment: numericId, by, action }, `${action} asked`);
    await dispatch.control(numericId);
    return (await guardStore(() => findDeployment(store.db, numericId))) ?? after;
  }

  async #enqueue(
    principal: Principal,
    env: EnvironmentConfig,
    request: {
      kind: 'deploy' | 'rollback';
      trigger: TriggerType;
      gitBranch: string | null;
      gitCommit: string | null;
      toVersion?: string;
      force: boolean;
      /** An admin's forced deploy through the environment's freezes: recorded, with a line in its history. */
      freezeOverride?: boolean;
    },
  ): Promise<Deployment> {
    const { store, bus, dispatch, metrics, now, logger } = this.deps;
    const requestedAt = now().toISOString();
    const requestedBy = principalName(principal);
    const { deployment, superseded, override } = await guardStore(() =>
      store.db.transaction().execute(async (trx) => {
        const queued = await enqueue(trx, {
          fraise: env.fraise,
          environment: env.name,
          kind: request.kind,
          trigger: request.trigger,
          requestedBy,
          requestedAt,
          gitBranch: request.gitBranch,
          gitCommit: request.gitCommit,
          toVersion: request.toVersion ?? null,
          force: request.force,
          freezeOverrideBy: request.freezeOverride ? requestedBy : null,
          env,
        });
        const line = request.freezeOverride ? await recordGateProgress(trx, queued.id, `freeze overridden by ${requestedBy} (force)`, requestedAt) : undefined;
        return { ...queued, override: line };
      }),
    );
    metrics.deploymentsQueued.inc({ trigger: request.trigger });
    bus.publish({ type: 'queued', deployment, superseded });
    if (override) {
      logger.info({ deployment: Number(deployment.id), fraise: env.fraise, environment: env.name, by: requestedBy }, `deployment ${deployment.id}: ${override.message}`);
      bus.publish({ type: 'progress', event: override });
    }
    await guardStore(() => announceCompleted(store.db, bus, superseded));
    dispatch.notify();
    return deployment;
  }

  /** The branch a manual deploy takes: the environment's, else the one branch_mapping gives it. */
  branchOf(env: EnvironmentConfig): string | undefined {
    if (env.branch) return env.branch;
    return this.deps.catalog.config.routes.find((r) => r.fraise === env.fraise && r.environment === env.name)?.branch;
  }

  /** The commit the branch points to now, when the repository can be asked; undefined otherwise. */
  async resolveHead(env: EnvironmentConfig, branch: string | undefined): Promise<string | undefined> {
    if (!env.repository) return undefined;
    try {
      const result = await this.deps.runner.run(lsRemote(env.repository, branch ? `refs/heads/${branch}` : 'HEAD'), {
        timeoutMs: LS_REMOTE_TIMEOUT_MS,
        env: GIT_ENV,
      });
      return parseLsRemote(result.stdout);
    } catch (error) {
      this.deps.logger.warn({ fraise: env.fraise, environment: env.name, err: error }, 'could not resolve the branch head; the fetch step will');
      return undefined;
    }
  }
}


/** Why `action` could not be asked of a deployment in the state it is in now. */
function controlRefusal(action: ControlAction, d: Deployment): ConflictError {
  const status = d.status.toUpperCase();
  if (isQueued(d.status)) return new ConflictError(`deployment ${d.id} is not running yet (${status}): it can be ${ACTION_DONE[action]} once it runs`);
  if (!isRunning(d.status)) return new ConflictError(`deployment ${d.id} already ended (${status}): it can no longer be ${ACTION_DONE[action]}`);
  return new ConflictError(`deployment ${d.id} is not paused (${status}) and no pause was asked for it: nothing to resume`);
}

const ACTION_DONE: Record<ControlAction, string> = { pause: 'paused', resume: 'resumed', promote: 'promoted' };


