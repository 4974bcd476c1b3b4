import { coolifyTarget, type CoolifyTarget } from '../../config/target-schemas.js';
import type { EnvironmentConfig, FraiseConfig, HealthCheckConfig, JobConfig } from '../../config/types.js';
import { abortableSleep, checkHealth } from '../../deploy/health-check.js';
import { isFullCommitSha, shortVersion } from '../../git/refs.js';
import type { HealthStatus } from '../../model.js';
import {
  type CheckRequest,
  type CheckResult,
  type DeployContext,
  DeployFailure,
  type DeployOutcome,
  type DeploymentProvider,
  DeploymentCancelled,
  type HealthResult,
  loadedSettings,
  RolledBackError,
  type TargetContext,
} from '../provider.js';
import { StepSession } from '../step-session.js';
import { apiBase, CoolifyApi, CoolifyApiError, type CoolifyApplication, type CoolifyDeployment, ENDED_STATUSES, logEntries } from './api.js';

/*
 * Coolify: the application is built and run by Coolify; Fraisier pins the exact commit on it
 * (`git_commit_sha`), asks Coolify to deploy it, streams the deployment's log as progress, then
 * checks the service (the environment's health_check, else Coolify's own view of its
 * containers). A failure once Coolify replaced what ran pins the previous commit back and
 * deploys it again from its kept image: ROLLED_BACK. A cancel cancels Coolify's deployment.
 */

/** How long Coolify's view of the containers may take to say running when no health_check is configured. */
const COOLIFY_STATUS_TIMEOUT_MS = 60_000;
/** The first wait between two looks at a deployment; it grows to MAX_POLL_MS. */
const FIRST_POLL_MS = 200;
const MAX_POLL_MS = 2_000;
/** API calls that may fail in a row (a restart of Coolify, a network blip) before the deployment does. */
const TRANSIENT_FAILURES = 5;

/** The line Coolify adds to every failed deployment's log: it says nothing of why. */
const COOLIFY_BANNER = /^Oops something is not okay/;

type Verdict = { ok: boolean; message: string };

export class CoolifyProvider implements DeploymentProvider<CoolifyTarget> {
  readonly name = 'coolify';
  readonly configSchema = coolifyTarget;

  settingsOf(env: EnvironmentConfig): CoolifyTarget {
    return loadedSettings<CoolifyTarget>(env);
  }

  /**
   * The application, not the Coolify instance (which builds on servers of its own, in its own
   * queue): two environments deploying one application would race for its pinned commit.
   */
  hostOf(env: EnvironmentConfig): string {
    const settings = this.settingsOf(env);
    return `coolify ${new URL(settings.endpoint).host} ${settings.application_uuid ?? ''}`;
  }

  plan(_fraise: FraiseConfig, _env: EnvironmentConfig, _kind: 'deploy' | 'rollback'): string[] {
    return ['preflight', 'fetch', 'build', 'health_check'];
  }

  async commands(_fraise: FraiseConfig, env: EnvironmentConfig, commit: string | null): Promise<string[]> {
    const settings = this.settingsOf(env);
    const missing = missingSettings(settings);
    if (missing) return [`cannot deploy: ${missing}`];
    const base = apiBase(settings.endpoint);
    const app = settings.application_uuid!;
    return [
      `PATCH ${base}/applications/${app} {"git_commit_sha":"${commit && isFullCommitSha(commit) ? commit : 'HEAD'}"}`,
      `POST ${base}/deploy?uuid=${app}${settings.force_rebuild ? '&force=true' : ''}`,
      `GET ${base}/deployments/<deployment>  (until finished)`,
    ];
  }

  async check(_fraise: FraiseConfig, env: EnvironmentConfig, _request: CheckRequest): Promise<CheckResult> {
    const settings = this.settingsOf(env);
    const fix = "endpoint: the address of Coolify; api_key: a token of the application's team with the read, write and deploy abilities; application_uuid";
    const missing = missingSettings(settings);
    if (missing) return { problems: [missing], fix };
    try {
      await this.api(env).application(settings.application_uuid!);
      return { problems: [], checked: `application ${settings.application_uuid} at ${settings.endpoint}` };
    } catch (error) {
      return { problems: [describe(error, settings)], fix };
    }
  }

  deploy(ctx: DeployContext): Promise<DeployOutcome> {
    const force = this.settingsOf(ctx.env).force_rebuild === true;
    return new CoolifySession(this, ctx, this.plan(ctx.fraise, ctx.env, 'deploy')).deploy(ctx.commit, force);
  }

  /** The version pinned and deployed again: Coolify starts it from its kept image when it has one. */
  rollback(ctx: DeployContext, toVersion: string): Promise<DeployOutcome> {
    return new CoolifySession(this, ctx, this.plan(ctx.fraise, ctx.env, 'rollback')).deploy(toVersion, false);
  }

  async runJob(ctx: DeployContext, job: JobConfig): Promise<void> {
    throw new DeployFailure(`${ctx.fraise.name}/${ctx.env.name}: job ${job.name}: jobs are not run on coolify targets (use Coolify's scheduled tasks, or a bare-metal target)`);
  }

  async healthCheck(ctx: TargetContext): Promise<HealthResult> {
    const settings = this.#required(ctx.env);
    const application = await this.api(ctx.env, ctx.signal).application(settings.application_uuid!);
    const coolify = statusHealth(application);
    // Stopped (or never started): nothing to ask the service, and Coolify says why.
    if (coolify.status === 'down') return coolify;
    const check = healthCheckOf(ctx.env.healthCheck, application);
    if (check) {
      const result = await checkHealth(check, ctx.signal ? { signal: ctx.signal } : {});
      return { status: result.ok ? 'healthy' : 'down', message: result.message };
    }
    return coolify;
  }

  async logs(ctx: TargetContext, lines: number): Promise<string> {
    return this.api(ctx.env, ctx.signal).logs(this.#required(ctx.env).application_uuid!, lines);
  }

  async stop(ctx: TargetContext): Promise<void> {
    await this.api(ctx.env, ctx.signal).stop(this.#required(ctx.env).application_uuid!);
  }

  /** Coolify starts an application by deploying it (its pinned commit). */
  async start(ctx: TargetContext): Promise<void> {
    await this.api(ctx.env, ctx.signal).start(this.#required(ctx.env).application_uuid!);
  }

  api(env: EnvironmentConfig, signal?: AbortSignal): CoolifyApi {
    const settings = this.settingsOf(env);
    return new CoolifyApi({ endpoint: settings.endpoint, apiKey: settings.api_key ?? '', ...(signal ? { signal } : {}) });
  }

  #required(env: EnvironmentConfig): CoolifyTarget {
    const settings = this.settingsOf(env);
    const missing = missingSettings(settings);
    if (missing) throw new Error(`${env.fraise}/${env.name}: ${missing}`);
    return settings;
  }
}

/** What stops any call: the settings the API needs. */
function missingSettings(settings: CoolifyTarget): string | undefined {
  if (!settings.application_uuid) return 'target.application_uuid is not set: the uuid of the Coolify application to deploy (the last part of its address in Coolify)';
  if (!settings.api_key) return 'target.api_key is not set: an API token of Coolify (Keys & Tokens) with the read, write and deploy abilities';
  return undefined;
}

/** An error as one line, Coolify's application named. */
function describe(error: unknown, settings: CoolifyTarget): string {
  if (error instanceof CoolifyApiError && error.status === 404) {
    return `Coolify at ${settings.endpoint} has no application ${settings.application_uuid} that this API key can see`;
  }
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/** The environment's health check; a check given only a path asks the application's first address. */
function healthCheckOf(config: HealthCheckConfig | undefined, application: CoolifyApplication): HealthCheckConfig | undefined {
  if (!config || config.type !== 'http' || config.url || config.host || config.port) return config;
  const address = application.fqdn?.split(',')[0]?.trim();
  if (!address) return config;
  return { ...config, url: new URL(config.path ?? '/', address).toString() };
}

/** Coolify's "<state>:<health>" as Fraisier's health. */
function statusHealth(application: CoolifyApplication): HealthResult {
  const status = application.status ?? 'unknown';
  const [state, health] = status.split(':');
  const said = `Coolify reports ${status}`;
  if (state === 'running' && (health === 'healthy' || health === 'unknown' || health === undefined)) return { status: 'healthy', message: said };
  if (state === 'running' || state === 'degraded' || state === 'starting' || state === 'restarting') return { status: 'degraded', message: said };
  if (state === 'exited' || state === 'dead') return { status: 'down', message: said };
  return { status: 'unknown', message: said };
}

/** One deployment (or rollback) through Coolify's API. */
class CoolifySession extends StepSession {
  readonly settings: CoolifyTarget;
  /** Calls that a cancel stops. */
  readonly api: CoolifyApi;
  /** Calls that go on through a cancel: cancelling Coolify's deployment, putting the service back. */
  readonly #untied: CoolifyApi;
  readonly #app: string;
  #application: CoolifyApplication | undefined;
  /** What the application was pinned to before this deployment (put back when nothing changed). */
  #pinnedBefore = 'HEAD';

  constructor(
    provider: CoolifyProvider,
    ctx: DeployContext,
    plan: string[],
  ) {
    super(ctx, plan);
    this.settings = provider.settingsOf(ctx.env);
    this.api = provider.api(ctx.env, ctx.signal);
    this.#untied = provider.api(ctx.env);
    this.#app = this.settings.application_uuid ?? '';
  }

  async deploy(commit: string | null, force: boolean): Promise<DeployOutcome> {
    await this.preflight();
    const requested = await this.pin(commit);
    const built = await this.build(requested, force);
    const version = built.commit && isFullCommitSha(built.commit) ? built.commit : requested;
    if (built.status !== 'finished') return this.#failed(`Coolify's deployment ${built.deployment_uuid} ${built.status === 'failed' ? 'failed' : `ended ${built.status}`}${this.#lastError(built)}`, false);
    if (isFullCommitSha(requested) && version !== requested) {
      return this.#failed(`Coolify built ${shortVersion(version)}, not the pinned ${shortVersion(requested)} (older Coolify releases build the tip of the branch whatever is pinned: upgrade Coolify)`, true);
    }
    if (!isFullCommitSha(version)) throw new DeployFailure(`Coolify did not say which commit it built (deployment ${built.deployment_uuid}: "${version}")`);
    const health = await this.healthGate().catch(async (error: unknown) => {
      // Cancelled once Coolify replaced what ran: what ran goes back, as the record keeps it.
      if (error instanceof DeploymentCancelled) await this.#restoreAfterCancel(version);
      throw error;
    });
    if (!health.ok) return this.#failed(`health check failed: ${health.message}`, true);
    return { version, health: 'healthy', details: { application: this.#app, deployment: built.deployment_uuid, ...(built.deployment_url ? { url: built.deployment_url } : {}) } };
  }

  async preflight(): Promise<void> {
    const { ctx } = this;
    await this.step('preflight', `Checking ${ctx.fraise.name}/${ctx.env.name} on Coolify at ${this.settings.endpoint}`);
    if (ctx.fraise.type !== 'api' && ctx.fraise.type !== 'worker') throw new DeployFailure(`coolify targets run api and worker fraises; ${ctx.fraise.name} is ${ctx.fraise.type}`);
    const missing = missingSettings(this.settings);
    if (missing) throw new DeployFailure(missing);
    this.#application = await this.#ask(() => this.api.application(this.#app));
    this.#pinnedBefore = this.#application.git_commit_sha || 'HEAD';
    const app = this.#application;
    if (app.build_pack === 'dockerimage') {
      throw new DeployFailure(`Coolify application ${app.name ?? this.#app} runs a registry image (build pack dockerimage), not a git repository: there is no commit to deploy`);
    }
    await this.log(`Application ${app.name ?? this.#app}${app.git_repository ? ` (${app.git_repository}${app.git_branch ? `, branch ${app.git_branch}` : ''})` : ''}: ${app.status ?? 'status unknown'}`);
    if (ctx.branch && app.git_branch && ctx.branch !== app.git_branch) {
      await this.log(`Coolify builds branch ${app.git_branch}, this environment deploys ${ctx.branch}: the commit must be reachable from ${app.git_branch}`);
    }
  }

  /** The commit pinned on the application: the one asked for, else HEAD (Coolify resolves the branch tip). */
  async pin(commit: string | null): Promise<string> {
    const wanted = commit ?? 'HEAD';
    if (wanted !== 'HEAD' && !isFullCommitSha(wanted)) throw new DeployFailure(`Coolify deploys a full commit SHA; "${wanted}" is not one`);
    await this.step('fetch', wanted === 'HEAD' ? `Coolify builds the tip of ${this.#application?.git_branch ?? 'its branch'}` : `Pinning ${this.#app} to ${shortVersion(wanted)}`);
    await this.ctx.touchTarget();
    await this.#ask(() => this.api.pinCommit(this.#app, wanted));
    return wanted;
  }

  /** Coolify's deployment of the pinned commit, followed to its end. */
  async build(commit: string, force: boolean): Promise<CoolifyDeployment> {
    await this.step('build', `Coolify deploys ${commit === 'HEAD' ? 'the tip of its branch' : shortVersion(commit)}${force ? ' (rebuilding without cache)' : ''}`);
    const uuid = await this.#queue(commit, force);
    return this.#follow(uuid);
  }

  /** Fraisier's health check when configured, else Coolify's view of the containers, until the deadline. */
  async healthGate(): Promise<Verdict> {
    await this.step('health_check', 'Checking the service');
    const application = await this.#ask(() => this.api.application(this.#app));
    const check = healthCheckOf(this.ctx.env.healthCheck, application);
    if (check) {
      const result = await checkHealth(check, { signal: this.ctx.signal, onAttempt: (attempt, message) => void this.log(`attempt ${attempt}: ${message}`) });
      if (this.ctx.signal.aborted) throw new DeploymentCancelled();
      await this.log(result.message);
      return result;
    }
    const deadline = Math.min(this.deadline, Date.now() + COOLIFY_STATUS_TIMEOUT_MS);
    let health = statusHealth(application);
    let delay = FIRST_POLL_MS;
    while (health.status !== 'healthy' && Date.now() < deadline) {
      await this.log(health.message);
      await abortableSleep(Math.min(delay, Math.max(0, deadline - Date.now())), this.ctx.signal);
      if (this.ctx.signal.aborted) throw new DeploymentCancelled();
      delay = Math.min(delay * 2, MAX_POLL_MS);
      health = statusHealth(await this.#ask(() => this.api.application(this.#app)));
    }
    await this.log(health.message);
    return { ok: health.status === 'healthy', message: health.message };
  }

  /**
   * The deployment failed. When what ran before still runs (Coolify's build or its rolling update
   * failed), it is pinned back and the deployment ends FAILED; when it was replaced, the previous
   * commit is deployed again: ROLLED_BACK.
   */
  async #failed(reason: string, replaced: boolean): Promise<never> {
    const previous = this.ctx.previousVersion;
    if (!replaced) {
      const health = statusHealth(await this.#ask(() => this.api.application(this.#app)));
      if (health.status === 'healthy' || !previous) {
        await this.#repin(this.#pinnedBefore);
        throw new DeployFailure(reason, health.status, previous);
      }
    }
    if (!previous || !isFullCommitSha(previous)) {
      await this.#repin(this.#pinnedBefore);
      throw new DeployFailure(`${reason}; nothing ran before to roll back to`, 'down', null);
    }
    await this.step('rollback', `Rolling back to ${shortVersion(previous)}: ${reason}`, true);
    let health: HealthStatus;
    try {
      health = await this.#redeploy(previous);
    } catch (error) {
      throw new DeployFailure(`${reason}; rolling back to ${shortVersion(previous)} failed too: ${(error as Error).message}`, 'down', null);
    }
    throw new RolledBackError(reason, previous, health === 'unknown' ? 'degraded' : health);
  }

  /** After a cancel that came once `deployed` ran: the previous commit deployed again (a failure is said, not thrown). */
  async #restoreAfterCancel(deployed: string): Promise<void> {
    const previous = this.ctx.previousVersion;
    if (!previous || !isFullCommitSha(previous) || previous === deployed) return;
    await this.step('rollback', `Cancelled once Coolify ran ${shortVersion(deployed)}: rolling back to ${shortVersion(previous)}`, true);
    await this.#redeploy(previous).catch((error: Error) => this.log(`rolling back to ${shortVersion(previous)} failed: ${error.message}`));
  }

  /**
   * `previous` pinned and deployed again (from its kept image when Coolify has it); its health.
   * It gets its own time, past the deadline and through a cancel: it is what puts the service back.
   */
  async #redeploy(previous: string): Promise<HealthStatus> {
    await this.#untied.pinCommit(this.#app, previous);
    const built = await this.#follow(await this.#queue(previous, false, true), true);
    if (built.status !== 'finished') throw new Error(`Coolify's deployment ${built.deployment_uuid} ended ${built.status}${this.#lastError(built)}`);
    await this.log(`Rolled back to ${shortVersion(previous)}`);
    return statusHealth(await this.#untied.application(this.#app)).status;
  }

  /**
   * How a call to Coolify is bounded: by the cancel and the deployment's deadline, or, while it
   * puts the service back (`rollingBack`), by neither but the environment's timeout anew.
   */
  #bounds(rollingBack: boolean): { api: CoolifyApi; signal: AbortSignal | undefined; deadline: number } {
    return rollingBack
      ? { api: this.#untied, signal: undefined, deadline: Date.now() + this.ctx.env.timeoutSeconds * 1000 }
      : { api: this.api, signal: this.ctx.signal, deadline: this.deadline };
  }

  /** Puts the pin back; a failure to do so is said, not thrown (the deployment already failed). */
  async #repin(commit: string): Promise<void> {
    await this.api.pinCommit(this.#app, commit).catch((error: Error) => this.log(`could not pin ${this.#app} back to ${commit}: ${error.message}`));
  }

  /**
   * Queues Coolify's deployment of `commit`; its uuid. A full queue is asked again until the
   * deadline. `rollingBack`: a cancel does not stop it, and it gets the environment's timeout anew.
   */
  async #queue(commit: string, force: boolean, rollingBack = false): Promise<string> {
    const { api, signal, deadline } = this.#bounds(rollingBack);
    for (;;) {
      try {
        const queued = await api.deploy(this.#app, force);
        if (queued.deployment_uuid && !/already queued/i.test(queued.message)) {
          await this.log(`${queued.message} (deployment ${queued.deployment_uuid})`);
          return queued.deployment_uuid;
        }
        // The same commit is queued or building already: that deployment is the one to follow.
        const running = (await api.deployments(this.#app)).find((d) => (d.status === 'queued' || d.status === 'in_progress') && (commit === 'HEAD' || d.commit === commit));
        if (!running) throw new DeployFailure(`Coolify queued no deployment of ${this.#app}: ${queued.message || 'no answer'}`);
        await this.log(`Coolify is deploying this commit already: following deployment ${running.deployment_uuid}`);
        return running.deployment_uuid;
      } catch (error) {
        if (!(error instanceof CoolifyApiError) || error.status !== 429) throw rollingBack ? error : this.#fail(error);
        const wait = (error.retryAfterSeconds ?? 10) * 1000;
        if (Date.now() + wait > deadline) throw rollingBack ? error : this.#fail(error);
        await this.log(`Coolify's deployment queue is full: asking again in ${Math.round(wait / 1000)}s`);
        await abortableSleep(wait, signal);
        if (signal?.aborted) throw new DeploymentCancelled();
      }
    }
  }

  /**
   * Follows a deployment to its end, its log as progress. Cancelled, or past the deadline, it is
   * cancelled on Coolify too. `rollingBack`: a cancel does not stop it (it puts the service back).
   */
  async #follow(uuid: string, rollingBack = false): Promise<CoolifyDeployment> {
    let shown = 0;
    let status = '';
    let hidden = false;
    let failures = 0;
    let delay = FIRST_POLL_MS;
    const { api, signal, deadline } = this.#bounds(rollingBack);
    for (;;) {
      if (signal?.aborted) {
        await this.#cancel(uuid);
        throw new DeploymentCancelled();
      }
      if (Date.now() > deadline) {
        await this.#cancel(uuid);
        throw new DeployFailure(`Coolify's deployment ${uuid} did not end within the timeout (${this.ctx.env.timeoutSeconds}s): it was cancelled`);
      }
      let deployment: CoolifyDeployment;
      try {
        deployment = await api.deployment(uuid);
        failures = 0;
      } catch (error) {
        if (signal?.aborted) continue;
        if (!(error instanceof CoolifyApiError) || error.status === 401 || error.status === 403 || error.status === 404 || ++failures >= TRANSIENT_FAILURES) throw this.#fail(error);
        await this.log(`asking Coolify again: ${error.message}`);
        await abortableSleep(delay, signal);
        continue;
      }
      if (status === '' && deployment.deployment_url) await this.log(`In Coolify: ${new URL(deployment.deployment_url, this.settings.endpoint)}`);
      if (!('logs' in deployment) && !hidden) {
        hidden = true;
        await this.log("Coolify hides the deployment's log from this API key (it needs the read:sensitive ability): only its status is shown");
      }
      const entries = logEntries(deployment.logs);
      for (const entry of entries.slice(shown)) {
        if (entry.hidden || !entry.output) continue;
        for (const line of entry.output.split('\n')) if (line.trim()) await this.log(line);
      }
      shown = Math.max(shown, entries.length);
      if (deployment.status !== status) {
        status = deployment.status;
        await this.log(`Coolify: ${status}`);
      }
      if (ENDED_STATUSES.has(status)) return { ...deployment, deployment_uuid: uuid };
      await abortableSleep(delay, signal);
      delay = Math.min(Math.round(delay * 1.5), MAX_POLL_MS);
    }
  }

  /** Cancels Coolify's deployment (it may have just ended: then there is nothing to cancel) and pins back what ran. */
  async #cancel(uuid: string): Promise<void> {
    await this.#untied.cancel(uuid).then(
      () => this.log(`Cancelled Coolify's deployment ${uuid}`),
      (error: Error) => this.log(`Coolify's deployment ${uuid} was not cancelled: ${error.message}`),
    );
    await this.#untied.pinCommit(this.#app, this.ctx.previousVersion ?? this.#pinnedBefore).catch(() => undefined);
  }

  /** The last error line of a deployment's log, as ": <line>" (empty when there is none). */
  #lastError(deployment: CoolifyDeployment): string {
    const entries = logEntries(deployment.logs).filter((e) => !e.hidden && e.output?.trim() && !COOLIFY_BANNER.test(e.output));
    const error = entries.filter((e) => e.type === 'stderr').at(-1) ?? entries.at(-1);
    const line = error?.output?.trim().split('\n').at(-1);
    return line ? `: ${line.length > 300 ? `${line.slice(0, 300)}…` : line}` : '';
  }

  async #ask<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw this.#fail(error);
    }
  }

  /** An API error as the deployment's failure (a cancel stays a cancel). */
  #fail(error: unknown): Error {
    if (this.ctx.signal.aborted) return new DeploymentCancelled();
    if (error instanceof DeployFailure || error instanceof DeploymentCancelled) return error;
    return new DeployFailure(describe(error, this.settings));
  }
}
