import { isAbsolute, resolve } from 'node:path';
import { maskUrlCredentials } from '../../config/secrets.js';
import { type EnvironmentConfig, type FraiseConfig, isSlotStrategy } from '../../config/types.js';
import type { CommandRunner } from '../../exec/runner.js';
import { GIT_ENV, lsRemote, parseLsRemote } from '../../git/commands.js';
import { type HostShell, type TargetHostSettings, targetShell } from '../host.js';
import { checkHealth } from '../../deploy/health-check.js';
import type { RollingHost } from '../../config/types.js';
import { hostEnvironment } from '../../strategies/hosts.js';
import { slotHealth } from '../../strategies/slots.js';
import { type CheckRequest, type CheckResult, DeployFailure, type HealthResult, loadedSettings, type TargetContext } from '../provider.js';
import { liveSlotOn } from './slots.js';
import { type Layout, type LayoutKind, layoutOf } from './layout.js';

/** How long a dry run waits for the host to answer over SSH, and for the repository. */
const HOST_TIMEOUT_MS = 10_000;
const REPOSITORY_TIMEOUT_MS = 15_000;

/**
 * What targets that keep releases under app_path on a host (bare metal, Compose) share: their
 * typed settings, the host their commands run on (here, or over SSH) and the release layout.
 */
export abstract class ReleaseTarget<TSettings extends TargetHostSettings> {
  constructor(protected readonly runner: CommandRunner) {}

  settingsOf(env: EnvironmentConfig): TSettings {
    return loadedSettings<TSettings>(env);
  }

  /**
   * Which target host a deployment occupies, for the per-host concurrency limit. A rolling
   * deployment's hosts, together, count as one.
   */
  hostOf(env: EnvironmentConfig): string {
    const strategy = env.strategy;
    if (strategy?.type === 'rolling') return strategy.hosts.map((h) => this.shellFor(hostEnvironment(env, h)).description).join(',');
    return this.settingsOf(env).host ?? 'local';
  }

  /** A rolling environment's hosts, each as an environment of its own; null for any other strategy. */
  rollingHosts(env: EnvironmentConfig): { host: RollingHost; env: EnvironmentConfig }[] | null {
    const strategy = env.strategy;
    return strategy?.type === 'rolling' ? strategy.hosts.map((host) => ({ host, env: hostEnvironment(env, host) })) : null;
  }

  /** Each host of a rolling environment checked: healthy when all are, degraded when some are. */
  async rollingHealth(hosts: { host: RollingHost; env: EnvironmentConfig }[], signal?: AbortSignal): Promise<HealthResult> {
    const results = await Promise.all(
      hosts.map(async ({ host, env }) => {
        if (!env.healthCheck) return { ok: false, message: `${host.name}: no health check` };
        const result = await checkHealth(env.healthCheck, { host: this.shellFor(env), defaultHost: this.healthHost(env), ...(signal ? { signal } : {}) });
        return { ok: result.ok, message: `${host.name}: ${result.message}` };
      }),
    );
    const healthy = results.filter((r) => r.ok).length;
    return { status: healthy === results.length ? 'healthy' : healthy > 0 ? 'degraded' : 'down', message: results.map((r) => r.message).join('; ') };
  }

  /**
   * The environment's health as its configuration asks it: every host of a roll, the slot taking
   * the traffic on its own port, or the health check; undefined when none applies (the provider
   * then asks its service).
   */
  async configuredHealth(ctx: TargetContext): Promise<HealthResult | undefined> {
    const hosts = this.rollingHosts(ctx.env);
    if (hosts) return this.rollingHealth(hosts, ctx.signal);
    const { healthCheck, strategy } = ctx.env;
    if (!healthCheck) return undefined;
    const host = this.shellFor(ctx.env);
    const options = { host, defaultHost: this.healthHost(ctx.env), ...(ctx.signal ? { signal: ctx.signal } : {}) };
    if (isSlotStrategy(strategy)) {
      const live = await liveSlotOn(host, this.layout(ctx.env), strategy);
      if (!live) return { status: 'unknown', message: 'no slot takes the traffic yet' };
      const result = await checkHealth(slotHealth(healthCheck, live), options);
      return { status: result.ok ? 'healthy' : 'down', message: `slot ${live.name} (port ${live.port}): ${result.message}` };
    }
    const result = await checkHealth(healthCheck, options);
    return { status: result.ok ? 'healthy' : 'down', message: result.message };
  }

  shellFor(env: EnvironmentConfig): HostShell {
    return targetShell(this.runner, this.settingsOf(env));
  }

  /** The host name a health check URL built from `path`/`port` asks. */
  healthHost(env: EnvironmentConfig): string {
    return this.settingsOf(env).host ?? '127.0.0.1';
  }

  /**
   * What the preflight and fetch steps would find in the way, asked from where they run: the
   * host over SSH, the tools (checkTools), the repository and the branch (`git ls-remote`).
   */
  async check(fraise: FraiseConfig, env: EnvironmentConfig, request: CheckRequest): Promise<CheckResult> {
    const hosts = this.rollingHosts(env);
    if (hosts) {
      // Each host asked on its own; what stands in one host's way is said with its name.
      const results = await Promise.all(hosts.map(({ env: hostEnv }) => this.check(fraise, hostEnv, request)));
      return {
        problems: results.flatMap((r, i) => r.problems.map((p) => `${hosts[i]!.host.name}: ${p}`)),
        ...(results.find((r) => r.head)?.head ? { head: results.find((r) => r.head)!.head! } : {}),
      };
    }
    const problems: string[] = [];
    try {
      this.layout(env);
    } catch (error) {
      problems.push(oneLine(error));
    }
    const host = this.shellFor(env);
    if (host.remote) {
      // Given input, the command runs without the remote supervisor: nothing is left to watch.
      const unreachable = await host.run(['true'], { input: '', timeoutMs: HOST_TIMEOUT_MS }).then(() => undefined, oneLine);
      if (unreachable !== undefined) return { problems: [...problems, `${host.description} cannot be reached over SSH: ${unreachable}`] };
    }
    problems.push(...(await this.checkTools(env, host)));
    if (!env.repository) return { problems };
    const repository = maskUrlCredentials(env.repository);
    try {
      const listed = await host.run(lsRemote(env.repository, request.branch ? `refs/heads/${request.branch}` : 'HEAD'), { env: GIT_ENV, timeoutMs: REPOSITORY_TIMEOUT_MS });
      const head = parseLsRemote(listed.stdout);
      if (head) return { problems, head };
      // An exact commit is fetched by itself: only the head of a branch needs the branch.
      if (!request.commit) problems.push(request.branch ? `branch "${request.branch}" does not exist in ${repository}` : `${repository} has no HEAD to deploy`);
    } catch (error) {
      problems.push(`repository ${repository} is not reachable from ${host.description}: ${maskUrlCredentials(oneLine(error))}`);
    }
    return { problems };
  }

  /** What the target's commands need on the host besides git, one sentence per thing missing. */
  protected async checkTools(_env: EnvironmentConfig, _host: HostShell): Promise<string[]> {
    return [];
  }

  layout(env: EnvironmentConfig): Layout {
    const appPath = env.appPath;
    if (!appPath) throw new DeployFailure(`${env.fraise}/${env.name}: no app_path: where should the releases go?`);
    // A relative app_path is relative to Fraisier's directory here, to the user's home over SSH.
    return layoutOf(this.shellFor(env).remote || isAbsolute(appPath) ? appPath : resolve(appPath), this.layoutKind(env));
  }

  /** Where the code goes under app_path: a release directory per commit unless the target says otherwise. */
  layoutKind(_env: EnvironmentConfig): LayoutKind {
    return 'releases';
  }
}

/** An error's message on one line (a command's last lines of output included). */
function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ').trim();
}
