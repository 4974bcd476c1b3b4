import { posix } from 'node:path';
import { dockerComposeTarget, type DockerComposeTarget } from '../../config/target-schemas.js';
import { type Command, type EnvironmentConfig, type FraiseConfig, isSlotStrategy, type JobConfig, type RollingStrategy } from '../../config/types.js';
import type { RunResult } from '../../exec/runner.js';
import { abortableSleep } from '../../deploy/health-check.js';
import type { HealthStatus } from '../../model.js';
import { isFullCommitSha } from '../../git/refs.js';
import { shellQuote, type HostShell, targetShell } from '../host.js';
import {
  type DeployContext,
  DeployFailure,
  type DeployOutcome,
  type DeploymentProvider,
  DeploymentCancelled,
  type HealthResult,
  type TargetContext,
} from '../provider.js';
import { type Layout, readLink } from '../release/layout.js';
import { type Release, ReleaseSession, releaseCommit } from '../release/session.js';
import { ReleaseTarget } from '../release/target.js';
import {
  compose,
  type ComposeCli,
  composeCandidates,
  type ComposeFiles,
  type ComposeModel,
  DEFAULT_COMPOSE_FILES,
  engineCommand,
  findFile,
  imageExists,
  inspectContainers,
  overrideFile,
  overrideImages,
  overridePath,
  parseComposeConfig,
  type ContainerState,
  parseContainerStates,
  readFile,
  removeFile,
  removeImages,
  upCommand,
  versionCommand,
  writeFile,
} from './commands.js';
import { slotDeployer, type SlotDeployer } from '../../strategies/deployer.js';
import { Rolling } from '../../strategies/rolling.js';
import { eachHostsLogs, onEachHost, releaseHost } from '../release/rolling-host.js';
import { strategyPlan } from '../../strategies/plan.js';
import { liveSlotOn } from '../release/slots.js';
import { type ComposeSlotTarget, ComposeSlots, slotProject } from './slots.js';

/*
 * Docker Compose: the code fetched by commit into a release directory as for bare metal, its
 * images built and tagged with the commit (Fraisier's override file names them), `up -d` under a
 * fixed project name, then Fraisier's health check or the containers' own HEALTHCHECK. A failure
 * after `up` puts the previous release's containers back (its Compose file, its images, no
 * rebuild): ROLLED_BACK. Locally, or on a server over SSH.
 */

/** How long containers may take to report healthy when no health_check is configured. */
const DOCKER_HEALTH_TIMEOUT_MS = 120_000;

export class DockerComposeProvider extends ReleaseTarget<DockerComposeTarget> implements DeploymentProvider<DockerComposeTarget> {
  readonly name = 'docker-compose';
  readonly configSchema = dockerComposeTarget;
  /** The Compose CLI found on each host (and Docker context): detected once. */
  readonly #cli = new Map<string, Promise<ComposeCli>>();


  /** The Compose project: fixed per environment, so `up` replaces the previous version's containers. */
  project(env: EnvironmentConfig): string {
    const configured = this.settingsOf(env).project;
    if (configured) return configured;
    return `${env.fraise}-${env.name}`.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[-_]+/, '');
  }

  /** `docker compose` when the host has it, else `docker-compose`; asked once per host and context. */
  cli(host: HostShell, context: string | undefined, signal?: AbortSignal): Promise<ComposeCli> {
    const key = `${host.description}\u0000${context ?? ''}`;
    let found = this.#cli.get(key);
    if (!found) {
      found = this.#detect(host, context, signal);
      this.#cli.set(key, found);
      // A host without Compose may get it installed: only an answer is kept.
      found.catch(() => this.#cli.delete(key));
    }
    return found;
  }

  async #detect(host: HostShell, context: string | undefined, signal?: AbortSignal): Promise<ComposeCli> {
    const reasons: string[] = [];
    for (const cli of composeCandidates(context)) {
      try {
        await host.run(versionCommand(cli), { timeoutMs: 30_000, ...(signal ? { signal } : {}) });
        return cli;
      } catch (error) {
        reasons.push(`${cli.base.join(' ')}: ${(error as Error).message.split('\n')[0]}`);
      }
    }
    throw new DeployFailure(`Docker Compose is not installed on ${host.description} (tried ${reasons.join('; ')})`);
  }

  protected override async checkTools(env: EnvironmentConfig, host: HostShell): Promise<string[]> {
    return this.cli(host, this.settingsOf(env).context).then(
      () => [],
      (error: Error) => [error.message],
    );
  }

  plan(_fraise: FraiseConfig, env: EnvironmentConfig, kind: 'deploy' | 'rollback'): string[] {
    if (kind === 'rollback') return strategyPlan(['preflight', 'checkout', 'restart', 'health_check'], env, 'rollback');
    const settings = this.settingsOf(env);
    const steps = ['preflight', 'fetch'];
    if (settings.build !== false) steps.push('build');
    if (settings.pull) steps.push('pull');
    steps.push('restart', 'health_check');
    return strategyPlan(steps, env);
  }

  async commands(fraise: FraiseConfig, env: EnvironmentConfig, commit: string | null): Promise<string[]> {
    const hosts = this.rollingHosts(env);
    if (hosts) return (await Promise.all(hosts.map((h) => this.commands(fraise, h.env, commit)))).flat();
    const host = this.shellFor(env);
    const settings = this.settingsOf(env);
    let cli: ComposeCli;
    try {
      cli = await this.cli(host, settings.context);
    } catch (error) {
      return [`cannot deploy: ${(error as Error).message}`];
    }
    const layout = this.layout(env);
    const version = commit && isFullCommitSha(commit) ? commit : '<commit>';
    const plan = this.plan(fraise, env, 'deploy');
    const files: ComposeFiles = {
      project: this.project(env),
      file: posix.join(layout.release(version), settings.file ?? DEFAULT_COMPOSE_FILES[0]!),
      ...(plan.includes('build') ? { override: overridePath(layout, version) } : {}),
    };
    const lines = [compose(cli, files, 'config')];
    if (plan.includes('build')) lines.push(compose(cli, files, 'build'));
    if (plan.includes('pull')) lines.push(compose(cli, files, 'pull', ...this.services(env)));
    lines.push(upCommand(cli, files, settings.service));
    return [`on ${host.description}:`, ...lines.map((argv) => argv.map(shellQuote).join(' '))];
  }

  async deploy(ctx: DeployContext): Promise<DeployOutcome> {
    if (ctx.env.strategy?.type === 'rolling') return this.#roll(ctx, ctx.env.strategy, null);
    const s = new ComposeSession(this, ctx, this.plan(ctx.fraise, ctx.env, 'deploy'));
    try {
      await s.preflight();
      const release = await s.fetch();
      const { files, model } = await s.readRelease(release);
      if (s.plan.includes('build')) await s.build(release, files);
      if (s.plan.includes('pull')) await s.pull(release, files, model);
      const blueGreen = s.blueGreen();
      if (blueGreen) {
        const outcome = await blueGreen.deploy(release);
        await s.prune();
        return { ...outcome, details: { ...outcome.details, project: slotProject(files.project, String(outcome.details?.slot)) } };
      }
      await s.up(release, files);
      await s.healthGate(release, true);
      await s.prune();
      return { version: release.commit, health: 'healthy', details: { release: release.path, project: files.project } };
    } finally {
      await s.unlock();
    }
  }

  /** Rolling: on each host, the release fetched and its images built (or kept), then `up` host by host. */
  #roll(ctx: DeployContext, strategy: RollingStrategy, toVersion: string | null): Promise<DeployOutcome> {
    const kind = toVersion ? 'rollback' : 'deploy';
    return new Rolling(ctx, strategy, {
      proxyShell: targetShell(this.runner, strategy.proxyHost ?? {}),
      open: (_host, hostCtx) => {
        const s = new ComposeSession(this, hostCtx, this.plan(hostCtx.fraise, hostCtx.env, kind));
        let files: ComposeFiles | undefined;
        return releaseHost(s, this.healthHost(hostCtx.env), {
          preflight: () => s.preflight(),
          release: async (commit) => {
            if (toVersion) {
              const kept = await s.checkout(toVersion);
              files = kept.files;
              return kept.release;
            }
            s.ctx.commit = commit;
            const release = await s.fetch();
            const read = await s.readRelease(release);
            files = read.files;
            if (s.plan.includes('build')) await s.build(release, read.files);
            if (s.plan.includes('pull')) await s.pull(release, read.files, read.model);
            return release;
          },
          start: (release) => s.start(release, files!),
          prune: () => s.prune(),
        });
      },
    }).run(kind);
  }

  async rollback(ctx: DeployContext, toVersion: string): Promise<DeployOutcome> {
    if (ctx.env.strategy?.type === 'rolling') return this.#roll(ctx, ctx.env.strategy, toVersion);
    const s = new ComposeSession(this, ctx, this.plan(ctx.fraise, ctx.env, 'rollback'));
    try {
      await s.preflight();
      const blueGreen = s.blueGreen();
      if (blueGreen) return await blueGreen.rollback(toVersion, async () => (await s.checkout(toVersion)).release);
      const { release, files } = await s.checkout(toVersion);
      await s.up(release, files);
      await s.healthGate(release);
      return { version: release.commit, health: 'healthy', details: { release: release.path, project: files.project, rollback: true } };
    } finally {
      await s.unlock();
    }
  }

  async runJob(ctx: DeployContext, job: JobConfig): Promise<void> {
    throw new DeployFailure(`${ctx.fraise.name}/${ctx.env.name}: job ${job.name}: jobs are not run on docker-compose targets (use a bare-metal target, or a scheduled service in the Compose file)`);
  }

  async healthCheck(ctx: TargetContext): Promise<HealthResult> {
    const configured = await this.configuredHealth(ctx);
    if (configured) return configured;
    const host = this.shellFor(ctx.env);
    const running = await this.#running(ctx);
    if (!running) return { status: 'unknown', message: 'nothing deployed yet' };
    const judged = judgeContainers(await this.containers((argv) => host.run(argv, { env: ctx.env.env, timeoutMs: 30_000 }), running.cli, running.files, ctx.env));
    const status: HealthStatus = judged.verdict === 'ok' ? 'healthy' : judged.verdict === 'wait' ? 'degraded' : 'down';
    return { status, message: judged.message };
  }

  async logs(ctx: TargetContext, lines: number): Promise<string> {
    const hosts = this.rollingHosts(ctx.env);
    if (hosts) return eachHostsLogs(hosts, (env) => this.logs({ ...ctx, env }, lines));
    const running = await this.#required(ctx);
    const result = await this.shellFor(ctx.env).run(compose(running.cli, running.files, 'logs', '--no-color', `--tail=${lines}`, ...this.services(ctx.env)), {
      env: ctx.env.env,
      timeoutMs: 30_000,
    });
    // Compose writes the services' output to stdout; v1 adds "Attaching to" on stdout too.
    return result.stdout;
  }

  async stop(ctx: TargetContext): Promise<void> {
    const hosts = this.rollingHosts(ctx.env);
    if (hosts) return onEachHost(hosts, (env) => this.stop({ ...ctx, env }));
    const running = await this.#required(ctx);
    await this.shellFor(ctx.env).run(compose(running.cli, running.files, 'stop', ...this.services(ctx.env)), { env: ctx.env.env, timeoutMs: 120_000 });
  }

  async start(ctx: TargetContext): Promise<void> {
    const hosts = this.rollingHosts(ctx.env);
    if (hosts) return onEachHost(hosts, (env) => this.start({ ...ctx, env }));
    const running = await this.#required(ctx);
    await this.shellFor(ctx.env).run(compose(running.cli, running.files, 'start', ...this.services(ctx.env)), { env: ctx.env.env, timeoutMs: 120_000 });
  }

  /** The state of the containers of `files`' project (and service), through `run`. */
  async containers(run: (argv: Command) => Promise<RunResult>, cli: ComposeCli, files: ComposeFiles, env: EnvironmentConfig): Promise<ContainerState[]> {
    const ids = (await run(compose(cli, files, 'ps', '--all', '--quiet', ...this.services(env)))).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
    return ids.length ? parseContainerStates((await run(inspectContainers(ids, this.settingsOf(env).context))).stdout) : [];
  }

  /** The configured service, as Compose arguments (none: every service of the file). */
  services(env: EnvironmentConfig): string[] {
    const service = this.settingsOf(env).service;
    return service ? [service] : [];
  }

  /** The Compose files of the release that runs now (`current`), or null when none does. */
  async #running(ctx: TargetContext): Promise<{ cli: ComposeCli; files: ComposeFiles } | null> {
    const host = this.shellFor(ctx.env);
    const layout = this.layout(ctx.env);
    const current = await host.run(readLink(layout.current), { timeoutMs: 30_000 }).catch(() => undefined);
    const path = current?.stdout.trim();
    if (!path) return null;
    const cli = await this.cli(host, this.settingsOf(ctx.env).context, ctx.signal);
    // Blue-green: the project of the slot taking the traffic.
    const strategy = ctx.env.strategy;
    const live = isSlotStrategy(strategy) ? await liveSlotOn(host, layout, strategy) : null;
    const files = await releaseFiles(host, this, ctx.env, layout, path);
    return { cli, files: live ? { ...files, project: slotProject(files.project, live.name) } : files };
  }

  async #required(ctx: TargetContext): Promise<{ cli: ComposeCli; files: ComposeFiles }> {
    const running = await this.#running(ctx);
    if (!running) throw new Error(`${ctx.fraise.name}/${ctx.env.name}: nothing deployed yet`);
    return running;
  }
}

/** The Compose file of a release (configured, or the first default name present) and its override. */
export async function releaseFiles(host: HostShell, provider: DockerComposeProvider, env: EnvironmentConfig, layout: Layout, releasePath: string): Promise<ComposeFiles> {
  const configured = provider.settingsOf(env).file;
  const names = configured ? [configured] : DEFAULT_COMPOSE_FILES;
  const found = await host.run(findFile(releasePath, names), { timeoutMs: 30_000 }).catch(() => undefined);
  if (!found) {
    throw new DeployFailure(
      configured ? `the Compose file ${configured} is not in ${releasePath}` : `no Compose file in ${releasePath} (looked for ${DEFAULT_COMPOSE_FILES.join(', ')}; set target.file)`,
    );
  }
  const files: ComposeFiles = { project: provider.project(env), file: posix.join(releasePath, found.stdout) };
  const commit = releaseCommit(releasePath);
  if (commit) {
    const override = overridePath(layout, commit);
    const exists = await host.run(['test', '-f', override], { timeoutMs: 30_000 }).then(() => true, () => false);
    if (exists) files.override = override;
  }
  return files;
}

type Verdict = { verdict: 'ok' | 'wait' | 'fail'; message: string };

/** What the containers' states say: all running (and healthy where they have a check), still starting, or failed. */
function judgeContainers(containers: ContainerState[]): Verdict {
  if (containers.length === 0) return { verdict: 'fail', message: 'no container is running' };
  for (const c of containers) {
    if (c.state === 'exited' || c.state === 'dead') return { verdict: 'fail', message: `container ${c.name} is ${c.state}` };
    if (c.health === 'unhealthy') return { verdict: 'fail', message: `container ${c.name} is unhealthy (its HEALTHCHECK fails)` };
  }
  const waiting = containers.find((c) => c.state !== 'running' || c.health === 'starting');
  if (waiting) return { verdict: 'wait', message: `container ${waiting.name} is ${waiting.health === 'starting' ? 'starting (HEALTHCHECK not passed yet)' : waiting.state}` };
  const checked = containers.filter((c) => c.health === 'healthy').length;
  return {
    verdict: 'ok',
    message: `${containers.length} container${containers.length === 1 ? '' : 's'} running${checked ? `, ${checked} healthy by its HEALTHCHECK` : ''}`,
  };
}

/** One Compose deployment (or rollback) on one host. */
class ComposeSession extends ReleaseSession {
  readonly settings: DockerComposeTarget;
  #cli: ComposeCli | undefined;
  /** The Compose files of the release this session last put in service (what a health check asks about). */
  #live: ComposeFiles | undefined;

  constructor(
    private readonly provider: DockerComposeProvider,
    ctx: DeployContext,
    plan: string[],
  ) {
    super(ctx, plan, provider.shellFor(ctx.env), provider.layout(ctx.env));
    this.settings = provider.settingsOf(ctx.env);
  }

  get cli(): ComposeCli {
    if (!this.#cli) throw new Error('preflight has not run');
    return this.#cli;
  }

  async preflight(): Promise<void> {
    const { ctx } = this;
    await this.step('preflight', `Checking ${ctx.fraise.name}/${ctx.env.name} on ${this.host.description} (Docker Compose)`);
    if (ctx.fraise.type !== 'api' && ctx.fraise.type !== 'worker') {
      throw new DeployFailure(`docker-compose targets run api and worker fraises; ${ctx.fraise.name} is ${ctx.fraise.type}`);
    }
    this.#cli = await this.provider.cli(this.host, this.settings.context, ctx.signal);
    const engine = await this.run(engineCommand(this.settings.context), { stepTimeoutSeconds: 30 }).catch((error: unknown) => {
      if (error instanceof DeploymentCancelled) throw error;
      throw new DeployFailure(`the Docker engine is not reachable from ${this.host.description}: ${(error as Error).message}`);
    });
    await this.prepareTarget();
    await this.log(`Pre-flight checks passed (Docker ${engine.stdout.trim()}, ${this.cli.base.join(' ')})`);
  }

  /** The release's Compose file, checked by Compose itself, and the override naming its images. */
  async readRelease(release: Release): Promise<{ files: ComposeFiles; model: ComposeModel }> {
    const files = await releaseFiles(this.host, this.provider, this.ctx.env, this.layout, release.path);
    delete files.override;
    const model = await this.validate(files, release);
    const builds = this.settings.build !== false && model.services.some((s) => s.builds);
    if (builds && release.path !== this.layout.appPath) {
      files.override = overridePath(this.layout, release.commit);
      await this.run(writeFile(files.override), { input: overrideFile(model, files.project, release.commit) });
    }
    return { files, model };
  }

  async validate(files: ComposeFiles, release: Release): Promise<ComposeModel> {
    const name = posix.relative(release.path, files.file);
    const result = await this.run(compose(this.cli, files, 'config'), { cwd: release.path, stepTimeoutSeconds: 60 }).catch((error: unknown) => {
      if (error instanceof DeploymentCancelled) throw error;
      throw new DeployFailure(`the Compose file ${name} is invalid: ${(error as Error).message}`);
    });
    const model = parseComposeConfig(result.stdout);
    const service = this.settings.service;
    if (service && !model.services.some((s) => s.name === service)) {
      throw new DeployFailure(`service "${service}" is not in ${name} (services: ${model.services.map((s) => s.name).join(', ') || 'none'})`);
    }
    await this.log(`${name}: services ${model.services.map((s) => s.name).join(', ')}`);
    return model;
  }

  async build(release: Release, files: ComposeFiles): Promise<void> {
    await this.step('build', `Building the images of ${release.commit.slice(0, 12)}`);
    if (!files.override) {
      await this.log('Nothing to build: no service of the Compose file has a build section');
      return;
    }
    await this.touch();
    await this.streamCommand('build', compose(this.cli, files, 'build'), release.path);
  }

  async pull(release: Release, files: ComposeFiles, model: ComposeModel): Promise<void> {
    await this.step('pull', 'Pulling images');
    // Built services have no image to pull: their images are this release's.
    const wanted = this.settings.service ? [this.settings.service] : model.services.map((s) => s.name);
    const pulled = model.services.filter((s) => !s.builds && wanted.includes(s.name)).map((s) => s.name);
    if (pulled.length === 0) {
      await this.log('Nothing to pull: every service is built');
      return;
    }
    await this.streamCommand('pull', compose(this.cli, files, 'pull', ...pulled), release.path);
  }

  /** `current` to the release, then its containers up; a failure puts the previous release back. */
  async up(release: Release, files: ComposeFiles): Promise<void> {
    await this.step('restart', `Starting ${this.settings.service ?? 'the services'} of ${release.commit.slice(0, 12)} (project ${files.project})`);
    await this.switchTo(release.path);
    this.#live = files;
    await this.startOrRollBack(() => this.streamLines(upCommand(this.cli, files, this.settings.service), release.path), 'up');
    await this.log('Containers started');
  }

  /** The containers of `release` up, `current` already pointing at it (a failure reverts nothing: a roll's host). */
  async start(release: Release, files: ComposeFiles): Promise<void> {
    this.#live = files;
    await this.streamLines(upCommand(this.cli, files, this.settings.service), release.path);
  }

  /** Fraisier's HTTP/TCP check when configured, else the containers' state and HEALTHCHECK. */
  async checkHealth(report: boolean, once = false): Promise<{ ok: boolean; message: string }> {
    return (await this.configuredHealth(report, this.provider.healthHost(this.ctx.env), once)) ?? this.dockerHealth(report);
  }

  /** Waits for every container to run and, where it has a HEALTHCHECK, to be healthy. */
  async dockerHealth(report: boolean): Promise<{ ok: boolean; message: string }> {
    const files = this.#live;
    if (!files) return { ok: false, message: 'nothing deployed' };
    const deadline = Math.min(this.deadline, Date.now() + DOCKER_HEALTH_TIMEOUT_MS);
    let delay = 250;
    let last: Verdict = { verdict: 'wait', message: 'not checked' };
    let attempt = 0;
    while (Date.now() < deadline) {
      attempt++;
      last = judgeContainers(await this.provider.containers((argv) => this.run(argv, { stepTimeoutSeconds: 30 }), this.cli, files, this.ctx.env));
      if (last.verdict !== 'wait') return { ok: last.verdict === 'ok', message: last.message };
      if (report) await this.log(`attempt ${attempt}: ${last.message}`);
      await abortableSleep(Math.min(delay, Math.max(0, deadline - Date.now())), this.ctx.signal);
      delay = Math.min(delay * 2, 2_000);
    }
    return { ok: false, message: `${last.message} after ${Math.round(DOCKER_HEALTH_TIMEOUT_MS / 1000)}s` };
  }

  /** `current` back to the previous release and its containers up again, with its own images. */
  async revert(reason: string): Promise<void> {
    const previous = this.previousRelease;
    if (!(await this.switchBack()) || !previous) return;
    const files = await releaseFiles(this.host, this.provider, this.ctx.env, this.layout, previous);
    this.#live = files;
    await this.streamLines(upCommand(this.cli, files, this.settings.service), previous, { env: { FRAISIER_ROLLBACK_REASON: reason } });
  }

  /** A kept release of `version` with its images, or a fresh one built again when it was pruned. */
  async checkout(version: string): Promise<{ release: Release; files: ComposeFiles }> {
    await this.step('checkout', `Checking out ${version.slice(0, 12)}`);
    const kept = await this.keptRelease(version);
    if (kept) {
      const files = await releaseFiles(this.host, this.provider, this.ctx.env, this.layout, kept.path);
      const images = files.override ? overrideImages((await this.run(readFile(files.override))).stdout) : [];
      const missing: string[] = [];
      for (const image of images) {
        if (!(await this.succeeds(imageExists(image, this.settings.context)))) missing.push(image);
      }
      if (missing.length === 0) {
        await this.log(`Release ${version.slice(0, 12)} was kept with its images: nothing to rebuild`);
        return { release: kept, files };
      }
      await this.log(`Release ${version.slice(0, 12)} was kept but not its images (${missing.join(', ')}): building them again`);
      await this.streamCommand('build', compose(this.cli, files, 'build'), kept.path);
      return { release: kept, files };
    }
    await this.log(`Release ${version.slice(0, 12)} was not kept: fetching and building it again`);
    this.ctx.commit = version;
    const release = await this.fetch();
    const { files } = await this.readRelease(release);
    if (files.override) await this.streamCommand('build', compose(this.cli, files, 'build'), release.path);
    return { release, files };
  }

  /** The blue-green or canary strategy over this host's Compose projects (one per slot), when the environment has one. */
  blueGreen(): SlotDeployer | undefined {
    const { env } = this.ctx;
    const strategy = env.strategy;
    if (!isSlotStrategy(strategy) || this.ctx.fraise.type !== 'api' || !env.healthCheck) return undefined;
    const provider = this.provider;
    const session = this;
    const target: ComposeSlotTarget = {
      get cli() {
        return session.cli;
      },
      service: this.settings.service,
      project: provider.project(env),
      files: async (releasePath, project) => ({ ...(await releaseFiles(this.host, provider, env, this.layout, releasePath)), project }),
      running: async (files, variables) => {
        const states = await provider.containers((argv) => this.host.run(argv, { env: variables, timeoutMs: 30_000 }), this.cli, files, env);
        return states.length > 0 && states.every((c) => c.state === 'running');
      },
    };
    return slotDeployer(this, new ComposeSlots(this, target, env.healthCheck, provider.healthHost(env)), strategy);
  }

  /** Old releases go, and with each its images and override file. */
  prune(): Promise<void> {
    return this.pruneReleases(this.settings.keep_releases, async (commit) => {
      const override = overridePath(this.layout, commit);
      const text = await this.run(readFile(override)).catch(() => undefined);
      if (!text) return;
      const images = overrideImages(text.stdout);
      if (images.length) {
        await this.run(removeImages(images, this.settings.context)).catch((error: Error) => this.log(`could not remove the images of ${commit.slice(0, 12)}: ${error.message}`));
      }
      await this.run(removeFile(override));
    });
  }
}
