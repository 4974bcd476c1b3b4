import { isAbsolute, resolve } from 'node:path';
import type { Command, EnvironmentConfig, FraiseConfig, JobConfig } from '../../config/types.js';
import { TARGET_SCHEMAS } from '../../config/target-schemas.js';
import { checkHealth } from '../../deploy/health-check.js';
import { planDeployment, migrates } from '../../deploy/plan.js';
import { ExecError, type CommandRunner, type RunOptions } from '../../exec/runner.js';
import { addWorktree, cloneMirror, fetchCommit, GIT_ENV, headCommit, isAncestor, lsRemote, pruneWorktrees, verifyCommit } from '../../git/commands.js';
import { isFullCommitSha, isZeroSha, shortVersion } from '../../git/refs.js';
import { localHost, sshHost, type HostShell } from '../host.js';
import {
  type DeployContext,
  DeployFailure,
  type DeployOutcome,
  type DeploymentProvider,
  DeploymentCancelled,
  DeploymentSuperseded,
  type HealthResult,
  RolledBackError,
  type TargetContext,
} from '../provider.js';
import {
  asUser,
  backupCommand,
  isDirectory,
  layoutOf,
  type Layout,
  listReleases,
  makeDirectories,
  migrateCommands,
  readLink,
  removeWorktree,
  serviceCommands,
  type ServiceCommands,
  switchCurrent,
} from './commands.js';
import { HostLock } from './host-lock.js';

/*
 * Bare metal: a server over SSH (or this machine), the code in a release directory per commit,
 * the service managed by systemd (or the environment's own commands). A failure after the
 * restart switches back to the previous release, restarts and checks it: ROLLED_BACK.
 */

const DEFAULT_KEEP_RELEASES = 5;

export class BareMetalProvider implements DeploymentProvider {
  readonly name = 'bare-metal';
  readonly configSchema = TARGET_SCHEMAS['bare-metal']!;

  constructor(
    private readonly runner: CommandRunner,
    private readonly now: () => Date = () => new Date(),
  ) {}

  hostOf(env: EnvironmentConfig): string {
    const host = env.target.config.host;
    return typeof host === 'string' ? host : 'local';
  }

  shellFor(env: EnvironmentConfig): HostShell {
    const c = env.target.config;
    // No host is this machine; so is a bare "localhost" (with a port, user or key it is SSH).
    const bareLocalhost = (c.host === 'localhost' || c.host === '127.0.0.1') && c.port === undefined && c.user === undefined && c.identity_file === undefined;
    if (typeof c.host !== 'string' || bareLocalhost) return localHost(this.runner);
    return sshHost(this.runner, {
      host: c.host,
      ...(typeof c.user === 'string' ? { user: c.user } : {}),
      ...(typeof c.port === 'number' ? { port: c.port } : {}),
      ...(typeof c.identity_file === 'string' ? { identityFile: c.identity_file } : {}),
      ...(typeof c.known_hosts === 'string' ? { knownHosts: c.known_hosts } : {}),
      ...(Array.isArray(c.ssh_options) ? { options: c.ssh_options as string[] } : {}),
    });
  }

  plan(fraise: FraiseConfig, env: EnvironmentConfig, kind: 'deploy' | 'rollback'): string[] {
    const steps = planDeployment(fraise, env, kind);
    if (env.repository) return steps;
    // Without a repository there is nothing to fetch, install or build: commands run in app_path.
    return steps.filter((s) => s !== 'fetch' && s !== 'install' && s !== 'build');
  }

  async deploy(ctx: DeployContext): Promise<DeployOutcome> {
    const s = new Session(this, ctx, this.plan(ctx.fraise, ctx.env, 'deploy'));
    try {
      return await this.#deploy(s, ctx);
    } finally {
      await s.unlock();
    }
  }

  async #deploy(s: Session, ctx: DeployContext): Promise<DeployOutcome> {
    await s.preflight();
    const release = await s.fetch();
    await s.prepare(release);
    switch (ctx.fraise.type) {
      case 'etl':
        await s.activate(release.path, false);
        await s.stream('run', s.scriptCommand(ctx.env.scriptPath, 'script_path'), release.path);
        return { version: release.commit, health: 'healthy', details: { release: release.path } };
      case 'scheduled':
      case 'backup':
        await s.registerJobs(release);
        return { version: release.commit, health: 'healthy', details: { release: release.path } };
      case 'custom':
        await s.activate(release.path, false);
        for (const step of ctx.env.steps) await s.command(step.name, step.command, release.path, true);
        if (ctx.env.healthCheck) await s.healthGate(release);
        return { version: release.commit, health: 'healthy', details: { release: release.path } };
      case 'api':
      case 'worker':
        await s.activate(release.path, true);
        await s.healthGate(release);
        await s.prune();
        return { version: release.commit, health: 'healthy', details: { release: release.path } };
    }
  }

  async rollback(ctx: DeployContext, toVersion: string): Promise<DeployOutcome> {
    const s = new Session(this, ctx, this.plan(ctx.fraise, ctx.env, 'rollback'));
    try {
      await s.preflight();
      const release = await s.checkout(toVersion);
      await s.activate(release.path, ctx.fraise.type === 'api' || ctx.fraise.type === 'worker');
      if (ctx.fraise.type === 'api' || ctx.fraise.type === 'worker' || ctx.env.healthCheck) await s.healthGate(release);
      return { version: release.commit, health: 'healthy', details: { release: release.path, rollback: true } };
    } finally {
      await s.unlock();
    }
  }

  async runJob(ctx: DeployContext, job: JobConfig): Promise<void> {
    const s = new Session(this, ctx, [`run:${job.name}`]);
    const cwd = await s.jobDirectory();
    const command = job.command ?? s.scriptCommand(job.scriptPath, `jobs.${job.name}.script_path`);
    await s.stream(`run:${job.name}`, command, cwd, job.timeoutSeconds);
  }

  async healthCheck(ctx: TargetContext): Promise<HealthResult> {
    const host = this.shellFor(ctx.env);
    if (ctx.env.healthCheck) {
      const result = await checkHealth(ctx.env.healthCheck, { host, defaultHost: this.healthHost(ctx.env), ...(ctx.signal ? { signal: ctx.signal } : {}) });
      return { status: result.ok ? 'healthy' : 'down', message: result.message };
    }
    const status = serviceCommands(ctx.env).status;
    if (!status) return { status: 'unknown', message: 'no health check and no status command configured' };
    try {
      await host.run(status, { cwd: this.layout(ctx.env).current, timeoutMs: 30_000 });
      return { status: 'healthy', message: 'service active' };
    } catch (error) {
      return { status: 'down', message: `service not active: ${(error as Error).message}` };
    }
  }

  async logs(ctx: TargetContext, lines: number): Promise<string> {
    const logs = serviceCommands(ctx.env).logs;
    if (!logs) throw new Error(`${ctx.fraise.name}/${ctx.env.name}: no logs command (set systemd_service or commands.logs)`);
    const result = await this.shellFor(ctx.env).run(logs(lines), { cwd: this.layout(ctx.env).current, timeoutMs: 30_000 });
    return result.stdout;
  }

  async stop(ctx: TargetContext): Promise<void> {
    await this.#service(ctx, 'stop');
  }

  async start(ctx: TargetContext): Promise<void> {
    await this.#service(ctx, 'start');
  }

  async #service(ctx: TargetContext, action: 'start' | 'stop'): Promise<void> {
    const command = serviceCommands(ctx.env)[action];
    if (!command) throw new Error(`${ctx.fraise.name}/${ctx.env.name}: no ${action} command (set systemd_service or commands.${action})`);
    await this.shellFor(ctx.env).run(command, { cwd: this.layout(ctx.env).current, timeoutMs: 120_000 });
  }

  layout(env: EnvironmentConfig): Layout {
    const appPath = env.appPath;
    if (!appPath) throw new DeployFailure(`${env.fraise}/${env.name}: no app_path: where should the code go?`);
    // A relative app_path is relative to Fraisier's directory here, to the user's home over SSH.
    return layoutOf(this.shellFor(env).remote || isAbsolute(appPath) ? appPath : resolve(appPath));
  }

  healthHost(env: EnvironmentConfig): string {
    const host = env.target.config.host;
    return typeof host === 'string' ? host : '127.0.0.1';
  }

  get clock(): () => Date {
    return this.now;
  }
}

interface Release {
  commit: string;
  path: string;
}

/** One deployment's walk through its steps on one host. */
class Session {
  readonly host: HostShell;
  readonly layout: Layout;
  readonly service: ServiceCommands;
  readonly deadline: number;
  #stepIndex = -1;
  #previousRelease: string | null = null;
  #switched = false;
  #lock: HostLock | undefined;

  constructor(
    private readonly provider: BareMetalProvider,
    private readonly ctx: DeployContext,
    private readonly plan: string[],
  ) {
    this.host = provider.shellFor(ctx.env);
    this.layout = provider.layout(ctx.env);
    this.service = serviceCommands(ctx.env);
    this.deadline = Date.now() + ctx.env.timeoutSeconds * 1000;
  }

  /** Variables every command of this deployment sees (outside values only ever travel here). */
  get env(): Record<string, string> {
    const { ctx } = this;
    return {
      ...ctx.env.env,
      ...Object.fromEntries(Object.entries(ctx.context).map(([k, v]) => [`FRAISIER_${k.toUpperCase()}`, v])),
      FRAISIER_DEPLOYMENT_ID: ctx.deploymentId,
      FRAISIER_FRAISE: ctx.fraise.name,
      FRAISIER_ENVIRONMENT: ctx.env.name,
      FRAISIER_APP_PATH: this.layout.appPath,
      FRAISIER_SHARED_PATH: this.layout.shared,
      ...(ctx.commit ? { FRAISIER_COMMIT: ctx.commit } : {}),
      ...(ctx.branch ? { FRAISIER_BRANCH: ctx.branch } : {}),
      ...(ctx.previousVersion ? { FRAISIER_PREVIOUS_COMMIT: ctx.previousVersion } : {}),
    };
  }

  async step(name: string, message?: string): Promise<void> {
    if (this.ctx.signal.aborted) throw new DeploymentCancelled();
    const index = this.plan.indexOf(name);
    if (index >= 0) this.#stepIndex = index;
    const progress = Math.min(99, Math.round((100 * Math.max(0, this.#stepIndex)) / this.plan.length));
    await this.ctx.reporter.step(name, progress, message);
  }

  async run(argv: Command, options: RunOptions & { stepTimeoutSeconds?: number } = {}) {
    const remaining = this.deadline - Date.now();
    if (remaining <= 0) throw new DeployFailure(`the deployment took longer than its timeout (${this.ctx.env.timeoutSeconds}s)`);
    const timeoutMs = Math.min(remaining, (options.stepTimeoutSeconds ?? Number.POSITIVE_INFINITY) * 1000);
    try {
      return await this.host.run(argv, {
        ...options,
        env: { ...this.env, ...options.env },
        timeoutMs,
        signal: this.ctx.signal,
        ...(this.ctx.onProcess ? { onProcess: this.ctx.onProcess } : {}),
        ...(this.ctx.killGraceMs !== undefined ? { killGraceMs: this.ctx.killGraceMs } : {}),
      });
    } catch (error) {
      if (error instanceof ExecError && error.reason === 'aborted') throw new DeploymentCancelled();
      throw error;
    }
  }

  async preflight(): Promise<void> {
    const { ctx } = this;
    await this.step('preflight', `Checking ${ctx.fraise.name}/${ctx.env.name} on ${this.host.description}`);
    if ((ctx.fraise.type === 'api' || ctx.fraise.type === 'worker') && !this.service.restart) {
      throw new DeployFailure('nothing to restart: set systemd_service, or commands.restart for hosts without systemd');
    }
    await this.run(makeDirectories(this.layout), { stepTimeoutSeconds: 60 }).catch((error: Error) => {
      throw new DeployFailure(`cannot prepare ${this.layout.appPath} on ${this.host.description}: ${error.message}`);
    });
    await this.lock();
    if (ctx.env.repository) {
      const ref = ctx.branch ? `refs/heads/${ctx.branch}` : 'HEAD';
      await this.run(lsRemote(ctx.env.repository, ref), { env: GIT_ENV, stepTimeoutSeconds: 60 }).catch((error: Error) => {
        throw new DeployFailure(`repository ${ctx.env.repository} is not reachable from ${this.host.description}: ${error.message}`);
      });
    }
    const current = await this.run(readLink(this.layout.current)).catch(() => undefined);
    this.#previousRelease = current?.stdout.trim() || null;
    await this.ctx.reporter.log('Pre-flight checks passed');
  }

  /** Takes the host-side lock of app_path for this run (only a fenced run: it has a generation). */
  async lock(): Promise<void> {
    const { ctx } = this;
    if (ctx.generation === undefined) return;
    this.#lock = new HostLock(this.host, this.layout, {
      fraise: ctx.fraise.name,
      environment: ctx.env.name,
      deployment: ctx.deploymentId,
      generation: ctx.generation,
      instance: ctx.instanceId ?? 'unknown',
      log: (message) => ctx.reporter.log(message),
    });
    await this.#lock.acquire();
  }

  async unlock(): Promise<void> {
    await this.#lock?.release();
  }

  /** Right before a change of the target: this run must still hold it (database and host lock). */
  async touch(): Promise<void> {
    await this.ctx.touchTarget();
    await this.#lock?.check();
  }

  /** Fetches the exact commit into the mirror and makes it a release directory. */
  async fetch(): Promise<Release> {
    const { ctx } = this;
    if (!ctx.env.repository) {
      return { commit: ctx.commit ?? `deployment-${ctx.deploymentId}`, path: this.layout.appPath };
    }
    const repository = ctx.env.repository;
    await this.step('fetch', ctx.commit ? `Fetching ${ctx.commit.slice(0, 12)}` : `Fetching the head of ${ctx.branch ?? 'the repository'}`);
    const hasMirror = await this.run(isDirectory(this.layout.mirror)).then(() => true, () => false);
    if (!hasMirror) await this.run(cloneMirror(repository, this.layout.mirror), { env: GIT_ENV });
    let commit = ctx.commit;
    if (commit && isFullCommitSha(commit)) {
      // The exact pushed commit: never "whatever the branch is now".
      await this.run(fetchCommit(this.layout.mirror, repository, commit), { env: GIT_ENV }).catch(async () => {
        // Servers that refuse fetching by id: fetch the branch, the commit must be in it.
        if (ctx.branch) await this.run(fetchCommit(this.layout.mirror, repository, `refs/heads/${ctx.branch}`), { env: GIT_ENV });
      });
    } else {
      const ref = ctx.branch ? `refs/heads/${ctx.branch}` : 'HEAD';
      await this.run(fetchCommit(this.layout.mirror, repository, ref), { env: GIT_ENV });
      // A short id resolves in the mirror; no id at all means what was just fetched.
      commit ??= 'FETCH_HEAD';
    }
    const verified = await this.run(verifyCommit(this.layout.mirror, commit)).catch(() => undefined);
    if (!verified) throw new DeployFailure(`commit ${commit} is not in ${repository}`);
    commit = verified.stdout.trim();
    await this.refuseOlder(commit);
    const path = this.layout.release(commit);
    const exists = await this.run(isDirectory(path)).then(() => true, () => false);
    if (!exists) {
      await this.run(pruneWorktrees(this.layout.mirror));
      await this.run(addWorktree(this.layout.mirror, path, commit), { env: GIT_ENV });
    }
    const head = await this.run(headCommit(path));
    if (head.stdout.trim() !== commit) throw new DeployFailure(`release ${path} holds ${head.stdout.trim()}, expected ${commit}`);
    this.ctx.commit = commit;
    await this.ctx.reporter.log(`Code updated (${commit.slice(0, 12)})`);
    return { commit, path };
  }

  /**
   * Newest commit wins: a push does not deploy an ancestor of the commit deployed (a delivery
   * that arrived late), unless the push moved the branch from that commit or a later one (the
   * branch really went back). Before anything is written to the target.
   */
  async refuseOlder(commit: string): Promise<void> {
    const order = this.ctx.newestCommit;
    if (!order || order.deployed === commit || !(await this.isAncestor(commit, order.deployed))) return;
    const before = order.before && !isZeroSha(order.before) ? order.before : null;
    if (before && (before === order.deployed || (await this.isAncestor(order.deployed, before)))) {
      await this.ctx.reporter.log(`The push moved the branch back from ${shortVersion(before)}: deploying ${shortVersion(commit)}, older than ${shortVersion(order.deployed)}`);
      return;
    }
    throw new DeploymentSuperseded(`commit ${shortVersion(commit)} is older than ${shortVersion(order.deployed)} already deployed to ${order.target}`);
  }

  /** What git says in the mirror; a commit it lacks is fetched and git asked again, and one it cannot get makes the answer "no". */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const mirror = this.layout.mirror;
    const ask = () =>
      this.run(isAncestor(mirror, ancestor, descendant), { env: GIT_ENV }).then(
        () => 'yes' as const,
        (error: unknown) => {
          if (error instanceof DeploymentCancelled) throw error;
          return error instanceof ExecError && error.result.exitCode === 1 ? ('no' as const) : ('unknown' as const);
        },
      );
    const answer = await ask();
    if (answer !== 'unknown') return answer === 'yes';
    for (const sha of [ancestor, descendant]) {
      await this.run(fetchCommit(mirror, this.ctx.env.repository!, sha), { env: GIT_ENV }).catch((error: unknown) => {
        if (error instanceof DeploymentCancelled) throw error;
      });
    }
    return (await ask()) === 'yes';
  }

  /** install, build, backup, migrate, compile: in the new release, before anything runs it. */
  async prepare(release: Release): Promise<void> {
    const { env } = this.ctx;
    if (env.install && this.plan.includes('install')) {
      await this.command('install', asUser(env.install.user, env.install.command, Object.keys(this.env)), release.path);
    }
    if (env.build && this.plan.includes('build')) await this.command('build', env.build, release.path);
    if (env.database && this.plan.includes('backup')) {
      await this.step('backup', `Backing up ${env.database.name ?? 'the database'}`);
      await this.touch();
      const stamp = this.provider.clock().toISOString().replace(/[:.]/g, '-');
      const backup = backupCommand(env.database, this.layout, stamp);
      if (backup.file) await this.run(['mkdir', '-p', '--', `${this.layout.shared}/backups`]);
      await this.runStep('backup', backup.command, release.path);
      await this.ctx.reporter.log(`Database backup created${backup.file ? ` (${backup.file})` : ''}`);
    }
    if (env.database && migrates(env) && this.plan.includes('migrate')) {
      await this.step('migrate', `Migrating ${env.database.name ?? 'the database'} (${env.database.strategy})`);
      await this.touch();
      for (const command of migrateCommands(env.database, env.name)) await this.runStep('migrate', command, release.path);
      await this.ctx.reporter.log('Database migrated');
    }
    if (env.compile && this.plan.includes('compile')) await this.command('compile', env.compile, release.path);
  }

  /** A named step running one command in `cwd`; output streamed when `stream`. */
  async command(step: string, command: Command, cwd: string, stream = false): Promise<void> {
    await this.step(step, `Running ${command.join(' ')}`);
    if (stream) await this.streamCommand(step, command, cwd);
    else await this.runStep(step, command, cwd);
  }

  async runStep(step: string, command: Command, cwd: string): Promise<void> {
    const started = Date.now();
    try {
      await this.run(command, { cwd });
    } catch (error) {
      if (error instanceof DeploymentCancelled) throw error;
      throw new DeployFailure(`${step} failed: ${(error as Error).message}`);
    }
    await this.ctx.reporter.log(`${step} done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }

  /** Runs a command whose output lines become progress messages (ETL scripts, jobs, custom steps). */
  async stream(step: string, command: Command, cwd: string, timeoutSeconds?: number): Promise<void> {
    await this.step(step, `Running ${command.join(' ')}`);
    await this.streamCommand(step, command, cwd, timeoutSeconds);
  }

  async streamCommand(step: string, command: Command, cwd: string, timeoutSeconds?: number): Promise<void> {
    let pending = Promise.resolve();
    try {
      await this.run(command, {
        cwd,
        ...(timeoutSeconds ? { stepTimeoutSeconds: timeoutSeconds } : {}),
        onLine: (line) => {
          if (line.trim() === '') return;
          pending = pending.then(() => this.ctx.reporter.log(line.slice(0, 2_000)));
        },
      });
    } catch (error) {
      await pending;
      if (error instanceof DeploymentCancelled) throw error;
      throw new DeployFailure(`${step} failed: ${(error as Error).message}`);
    }
    await pending;
  }

  scriptCommand(scriptPath: string | undefined, key: string): Command {
    if (!scriptPath) throw new DeployFailure(`nothing to run: set ${key}`);
    return [isAbsolute(scriptPath) || scriptPath.startsWith('./') || scriptPath.startsWith('../') ? scriptPath : `./${scriptPath}`];
  }

  /** Makes `release` the running one (symlink switch) and restarts the service when asked. */
  async activate(releasePath: string, restart: boolean): Promise<void> {
    if (restart) await this.step('restart', `Restarting on ${this.host.description}`);
    await this.touch();
    if (releasePath !== this.layout.appPath) {
      for (const command of switchCurrent(this.layout, releasePath)) await this.run(command);
      this.#switched = true;
    }
    if (!restart) return;
    try {
      await this.run(this.service.restart!, { cwd: releasePath });
    } catch (error) {
      if (error instanceof DeploymentCancelled) {
        await this.revert('cancelled during the restart').catch(() => {});
        throw error;
      }
      await this.rollbackAfter(`restart failed: ${(error as Error).message}`);
    }
    await this.ctx.reporter.log('Service restarted');
  }

  /** After the restart: healthy, or back to the previous release. */
  async healthGate(release: Release): Promise<void> {
    await this.step('health_check', 'Checking health');
    const result = await this.checkHealth(true);
    if (this.ctx.signal.aborted) {
      await this.revert('cancelled during the health check').catch(() => {});
      throw new DeploymentCancelled();
    }
    if (!result.ok) await this.rollbackAfter(`health check failed: ${result.message}`);
    await this.ctx.reporter.log(`Health check passed (${result.message}) on ${release.commit.slice(0, 12)}`);
  }

  async checkHealth(report: boolean): Promise<{ ok: boolean; message: string }> {
    const { env } = this.ctx;
    if (env.healthCheck) {
      return checkHealth(env.healthCheck, {
        host: this.host,
        defaultHost: this.provider.healthHost(env),
        signal: this.ctx.signal,
        ...(report ? { onAttempt: (attempt, message) => void this.ctx.reporter.log(`attempt ${attempt}: ${message}`) } : {}),
      });
    }
    if (!this.service.status) return { ok: true, message: 'no health check configured' };
    // A worker (or an API without a health check): the service must be running.
    try {
      await this.run(this.service.status, { cwd: this.layout.current, stepTimeoutSeconds: 30 });
      return { ok: true, message: 'service active' };
    } catch (error) {
      if (error instanceof DeploymentCancelled) throw error;
      return { ok: false, message: `service not active: ${(error as Error).message}` };
    }
  }

  /** A failure after the switch: restore the previous release, restart, check, end ROLLED_BACK. */
  async rollbackAfter(reason: string): Promise<never> {
    const previous = this.#previousRelease;
    if (!previous || !this.#switched) {
      throw new DeployFailure(`${reason}; no previous release to roll back to`, 'down', null);
    }
    await this.ctx.reporter.step('rollback', 99, `${reason}: rolling back to ${shortRelease(previous)}`);
    try {
      await this.revert(reason);
    } catch (error) {
      throw new DeployFailure(`${reason}; the rollback failed too: ${(error as Error).message}`, 'down', null);
    }
    const health = await this.checkHealth(false);
    await this.ctx.reporter.log(health.ok ? `Rolled back to ${shortRelease(previous)}: healthy` : `Rolled back to ${shortRelease(previous)}: ${health.message}`);
    throw new RolledBackError(reason, releaseCommit(previous), health.ok ? 'healthy' : 'down');
  }

  async revert(reason: string): Promise<void> {
    const previous = this.#previousRelease;
    if (!previous || !this.#switched) return;
    // Switching back is a change of the target too: never by a run that no longer holds it.
    await this.touch();
    for (const command of switchCurrent(this.layout, previous)) await this.host.run(command, { timeoutMs: 60_000 });
    this.#switched = false;
    if (this.service.restart) {
      await this.host.run(this.service.restart, { cwd: previous, env: { ...this.env, FRAISIER_ROLLBACK_REASON: reason }, timeoutMs: 300_000 });
    }
  }

  /** A kept release of `version`, or a fresh one when it was pruned. */
  async checkout(version: string): Promise<Release> {
    await this.step('checkout', `Checking out ${version.slice(0, 12)}`);
    const path = this.layout.release(version);
    if (await this.run(isDirectory(path)).then(() => true, () => false)) {
      await this.ctx.reporter.log(`Release ${version.slice(0, 12)} was kept: nothing to rebuild`);
      return { commit: version, path };
    }
    await this.ctx.reporter.log(`Release ${version.slice(0, 12)} was not kept: fetching and building it again`);
    this.ctx.commit = version;
    const release = await this.fetch();
    await this.prepare(release);
    return release;
  }

  async registerJobs(release: Release): Promise<void> {
    const { env } = this.ctx;
    await this.step('register_jobs', `Registering ${env.jobs.length} job${env.jobs.length === 1 ? '' : 's'}`);
    await this.activate(release.path, false);
    for (const job of env.jobs) {
      if (job.systemdTimer) {
        const sudo = env.target.config.sudo === true ? ['sudo', '-n'] : [];
        await this.runStep('register_jobs', [...sudo, 'systemctl', 'enable', '--now', '--', job.systemdTimer], release.path);
        await this.ctx.reporter.log(`${job.name}: systemd timer ${job.systemdTimer} enabled`);
      } else {
        await this.ctx.reporter.log(`${job.name}: ${job.schedule ? `runs on "${job.schedule}"` : 'no schedule: runs when asked'}${job.dependsOn.length ? ` after ${job.dependsOn.join(', ')}` : ''}`);
      }
    }
  }

  async jobDirectory(): Promise<string> {
    const current = await this.run(readLink(this.layout.current)).catch(() => undefined);
    return current?.stdout.trim() || this.layout.appPath;
  }

  /** Keeps the newest releases (and the previous one), removes the others. */
  async prune(): Promise<void> {
    const keep = typeof this.ctx.env.target.config.keep_releases === 'number' ? this.ctx.env.target.config.keep_releases : DEFAULT_KEEP_RELEASES;
    try {
      const listing = await this.run(listReleases(this.layout));
      const names = listing.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
      const protectedPaths = new Set([this.#previousRelease, this.ctx.commit ? this.layout.release(this.ctx.commit) : null]);
      for (const name of names.slice(keep)) {
        const path = this.layout.release(name);
        if (protectedPaths.has(path)) continue;
        await this.run(removeWorktree(this.layout, path));
      }
    } catch (error) {
      await this.ctx.reporter.log(`could not prune old releases: ${(error as Error).message}`);
    }
  }
}

function shortRelease(path: string): string {
  const commit = releaseCommit(path);
  return commit ? commit.slice(0, 12) : path;
}

function releaseCommit(path: string): string | null {
  const name = path.split('/').pop() ?? '';
  return /^[0-9a-f]{40,64}$/.test(name) ? name : null;
}
