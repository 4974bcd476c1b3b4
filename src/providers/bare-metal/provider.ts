import { isAbsolute } from 'node:path';
import { bareMetalTarget, type BareMetalTarget } from '../../config/target-schemas.js';
import { type Command, type EnvironmentConfig, type FraiseConfig, isSlotStrategy, type JobConfig, type RollingStrategy, type SlotStrategy } from '../../config/types.js';
import { planDeployment, migrates } from '../../deploy/plan.js';
import type { CommandRunner } from '../../exec/runner.js';
import {
  type DeployContext,
  DeployFailure,
  type DeployOutcome,
  type DeploymentProvider,
  DeploymentCancelled,
  type HealthResult,
  type TargetContext,
} from '../provider.js';
import { GIT_ENV } from '../../git/commands.js';
import { shortVersion } from '../../git/refs.js';
import { checkoutInPlace, type LayoutKind } from '../release/layout.js';
import { placeVariables, type Release, ReleaseSession } from '../release/session.js';
import { ReleaseTarget } from '../release/target.js';
import { slotDeployer, type SlotDeployer } from '../../strategies/deployer.js';
import { Rolling } from '../../strategies/rolling.js';
import { targetShell } from '../host.js';
import { eachHostsLogs, onEachHost, releaseHost } from '../release/rolling-host.js';
import { strategyPlan } from '../../strategies/plan.js';
import { asUser, backupCommand, listBackups, migrateCommands, modificationTime, newestDump, serviceCommands, type ServiceCommands, type SlotCommands, slotCommands } from './commands.js';
import { liveSlotOn } from '../release/slots.js';
import { BareMetalSlots, slotAction } from './slots.js';
import { slotVariables } from '../../strategies/slots.js';

/*
 * Bare metal: a server over SSH (or this machine), the code in a release directory per commit
 * (or checked out into app_path itself: the in_place layout), the service managed by systemd (or
 * the environment's own commands). A failure after the restart switches back to the previous
 * release (in place: checks the previous commit out again and reinstalls it), restarts and checks
 * it: ROLLED_BACK.
 */

/** What a release needs before it runs: a rollback that cannot reuse a kept release runs them too. */
const PREPARE_STEPS = new Set(['install', 'build', 'backup', 'migrate', 'compile']);

export class BareMetalProvider extends ReleaseTarget<BareMetalTarget> implements DeploymentProvider<BareMetalTarget> {
  readonly name = 'bare-metal';
  readonly configSchema = bareMetalTarget;

  constructor(
    runner: CommandRunner,
    private readonly now: () => Date = () => new Date(),
  ) {
    super(runner);
  }

  plan(fraise: FraiseConfig, env: EnvironmentConfig, kind: 'deploy' | 'rollback'): string[] {
    // In place nothing is kept: every rollback checks its commit out and rebuilds it.
    if (kind === 'rollback' && this.layoutKind(env) === 'in_place') return this.rebuildingRollbackPlan(fraise, env);
    const steps = strategyPlan(planDeployment(fraise, env, kind), env, kind);
    if (env.repository) return steps;
    // Without a repository there is nothing to fetch, install or build: commands run in app_path.
    return steps.filter((s) => s !== 'fetch' && s !== 'install' && s !== 'build');
  }

  /** A rollback's steps with what a deployment runs before the restart (install, build, migrate, ...). */
  rebuildingRollbackPlan(fraise: FraiseConfig, env: EnvironmentConfig): string[] {
    const prepare = this.plan(fraise, env, 'deploy').filter((step) => PREPARE_STEPS.has(step));
    const steps = strategyPlan(planDeployment(fraise, env, 'rollback'), env, 'rollback');
    const at = steps.indexOf('checkout') + 1;
    return [...steps.slice(0, at), ...prepare, ...steps.slice(at)];
  }

  override layoutKind(env: EnvironmentConfig): LayoutKind {
    return this.settingsOf(env).layout ?? 'releases';
  }

  async deploy(ctx: DeployContext): Promise<DeployOutcome> {
    if (ctx.env.strategy?.type === 'rolling') return this.#roll(ctx, ctx.env.strategy, null);
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
    await s.prepareRelease(release);
    await s.stamp(release, 'deploy');
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
        if (ctx.env.healthCheck) await s.healthGate(release, true);
        return { version: release.commit, health: 'healthy', details: { release: release.path } };
      case 'api':
      case 'worker': {
        const blueGreen = s.blueGreen();
        if (blueGreen) {
          const outcome = await blueGreen.deploy(release);
          await s.prune();
          return outcome;
        }
        await s.activate(release.path, true);
        await s.healthGate(release, true);
        await s.prune();
        return { version: release.commit, health: 'healthy', details: { release: release.path } };
      }
    }
  }

  /**
   * Rolling: each host a session of its own (its environment the host's), the release made
   * ready on each, backup and migrate on one only, the service restarted host by host.
   */
  #roll(ctx: DeployContext, strategy: RollingStrategy, toVersion: string | null): Promise<DeployOutcome> {
    const kind = toVersion ? 'rollback' : 'deploy';
    return new Rolling(ctx, strategy, {
      proxyShell: targetShell(this.runner, strategy.proxyHost ?? {}),
      open: (_host, hostCtx) => {
        const s = new Session(this, hostCtx, this.plan(hostCtx.fraise, hostCtx.env, kind));
        return releaseHost(s, this.healthHost(hostCtx.env), {
          preflight: () => s.preflight(),
          release: async (commit, migrate) => {
            s.runsMigrations = migrate;
            if (toVersion) {
              const kept = await s.checkout(toVersion);
              await s.stamp(kept, 'rollback');
              return kept;
            }
            s.ctx.commit = commit;
            const release = await s.fetch();
            await s.prepareRelease(release);
            await s.stamp(release, 'deploy');
            return release;
          },
          start: async (release) => {
            await s.run(s.service.restart!, { cwd: release.path });
          },
          prune: () => s.prune(),
        });
      },
    }).run(kind);
  }

  async rollback(ctx: DeployContext, toVersion: string): Promise<DeployOutcome> {
    if (ctx.env.strategy?.type === 'rolling') return this.#roll(ctx, ctx.env.strategy, toVersion);
    const s = new Session(this, ctx, this.plan(ctx.fraise, ctx.env, 'rollback'));
    try {
      await s.preflight();
      const blueGreen = s.blueGreen();
      if (blueGreen) {
        return await blueGreen.rollback(toVersion, async () => {
          const release = await s.checkout(toVersion);
          await s.stamp(release, 'rollback');
          return release;
        });
      }
      const release = await s.checkout(toVersion);
      await s.stamp(release, 'rollback');
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
    const configured = await this.configuredHealth(ctx);
    if (configured) return configured;
    const status = serviceCommands(this.settingsOf(ctx.env)).status;
    if (!status) return { status: 'unknown', message: 'no health check and no status command configured' };
    try {
      await this.shellFor(ctx.env).run(status, { cwd: this.layout(ctx.env).current, timeoutMs: 30_000 });
      return { status: 'healthy', message: 'service active' };
    } catch (error) {
      return { status: 'down', message: `service not active: ${(error as Error).message}` };
    }
  }

  async logs(ctx: TargetContext, lines: number): Promise<string> {
    const hosts = this.rollingHosts(ctx.env);
    if (hosts) return eachHostsLogs(hosts, (env) => this.logs({ ...ctx, env }, lines));
    const slots = this.#slots(ctx.env);
    if (slots) {
      const live = await liveSlotOn(this.shellFor(ctx.env), this.layout(ctx.env), slots.strategy);
      const command = live && slots.commands.logs?.(live.name, lines);
      if (!live || !command) throw new Error(`${ctx.fraise.name}/${ctx.env.name}: ${live ? 'no logs command (set systemd_service or commands.logs)' : 'no slot takes the traffic yet'}`);
      return (await this.shellFor(ctx.env).run(command, { cwd: this.layout(ctx.env).appPath, env: slotVariables(live), timeoutMs: 30_000 })).stdout;
    }
    const logs = serviceCommands(this.settingsOf(ctx.env)).logs;
    if (!logs) throw new Error(`${ctx.fraise.name}/${ctx.env.name}: no logs command (set systemd_service or commands.logs)`);
    const result = await this.shellFor(ctx.env).run(logs(lines), { cwd: this.layout(ctx.env).current, env: this.#variables(ctx), timeoutMs: 30_000 });
    return result.stdout;
  }

  async stop(ctx: TargetContext): Promise<void> {
    await this.#service(ctx, 'stop');
  }

  async start(ctx: TargetContext): Promise<void> {
    await this.#service(ctx, 'start');
  }

  async #service(ctx: TargetContext, action: 'start' | 'stop'): Promise<void> {
    const hosts = this.rollingHosts(ctx.env);
    if (hosts) return onEachHost(hosts, (env) => this.#service({ ...ctx, env }, action));
    const slots = this.#slots(ctx.env);
    if (slots) return slotAction(this.shellFor(ctx.env), this.layout(ctx.env), slots.strategy, slots.commands, action);
    const command = serviceCommands(this.settingsOf(ctx.env))[action];
    if (!command) throw new Error(`${ctx.fraise.name}/${ctx.env.name}: no ${action} command (set systemd_service or commands.${action})`);
    await this.shellFor(ctx.env).run(command, { cwd: this.layout(ctx.env).current, env: this.#variables(ctx), timeoutMs: 120_000 });
  }

  /**
   * What a service command run outside a deployment (stop, start, logs) sees: the environment's
   * own variables and where it lives, as a deployment's commands do, less what only a deployment has.
   */
  #variables(ctx: TargetContext): Record<string, string> {
    return { ...ctx.env.env, ...placeVariables(ctx.fraise.name, ctx.env.name, this.layout(ctx.env)) };
  }

  /** The blue-green strategy of an api environment and its slot commands, or undefined. */
  #slots(env: EnvironmentConfig): { strategy: SlotStrategy; commands: SlotCommands } | undefined {
    const commands = isSlotStrategy(env.strategy) ? slotCommands(this.settingsOf(env)) : undefined;
    return isSlotStrategy(env.strategy) && commands ? { strategy: env.strategy, commands } : undefined;
  }

  get clock(): () => Date {
    return this.now;
  }
}

/** One bare-metal deployment: a release, then the service restarted on it and checked. */
class Session extends ReleaseSession {
  readonly service: ServiceCommands;
  /** False on the hosts of a roll but one: the database is migrated once per deployment. */
  runsMigrations = true;

  constructor(
    private readonly provider: BareMetalProvider,
    ctx: DeployContext,
    plan: string[],
  ) {
    super(ctx, plan, provider.shellFor(ctx.env), provider.layout(ctx.env));
    this.service = serviceCommands(provider.settingsOf(ctx.env));
  }

  async preflight(): Promise<void> {
    const { ctx } = this;
    await this.step('preflight', `Checking ${ctx.fraise.name}/${ctx.env.name} on ${this.host.description}`);
    if ((ctx.fraise.type === 'api' || ctx.fraise.type === 'worker') && !this.service.restart && !this.blueGreen()) {
      throw new DeployFailure('nothing to restart: set systemd_service, or commands.restart for hosts without systemd');
    }
    await this.prepareTarget();
    await this.log('Pre-flight checks passed');
  }

  /** install, build, backup, migrate, compile: in the new release, before anything runs it. */
  async prepare(release: Release): Promise<void> {
    const { env } = this.ctx;
    if (env.install && this.plan.includes('install')) {
      await this.command('install', asUser(env.install.user, env.install.command, Object.keys(this.env)), release.path);
    }
    if (env.build && this.plan.includes('build')) await this.command('build', env.build, release.path);
    if (env.database && this.runsMigrations && this.plan.includes('backup')) {
      await this.step('backup', `Backing up ${env.database.name ?? 'the database'}`);
      await this.touch();
      const stamp = this.provider.clock().toISOString().replace(/[:.]/g, '-');
      const backup = backupCommand(env.database, this.layout, stamp);
      if (backup.file) await this.run(['mkdir', '-p', '--', `${this.layout.shared}/backups`]);
      await this.runStep('backup', backup.command, release.path);
      await this.log(`Database backup created${backup.file ? ` (${backup.file})` : ''}`);
    }
    if (env.database && this.runsMigrations && migrates(env) && this.plan.includes('migrate')) {
      await this.step('migrate', `Migrating ${env.database.name ?? 'the database'} (${env.database.strategy})`);
      await this.touch();
      const dump = await this.restoreFile();
      const commands = migrateCommands(env.database, env.name, dump);
      // restore_command finds the dump here; pg_restore has it as its argument.
      const restoreEnv = dump ? { FRAISIER_RESTORE_FILE: dump } : undefined;
      for (const command of commands) await this.runStep('migrate', command, release.path, command === commands[0] ? restoreEnv : undefined);
      await this.log('Database migrated');
    }
    if (env.compile && this.plan.includes('compile')) await this.command('compile', env.compile, release.path);
  }

  /** restore_migrate with restore.backup_dir: the newest matching dump on the target's host. */
  async restoreFile(): Promise<string | undefined> {
    const db = this.ctx.env.database;
    if (db?.strategy !== 'restore_migrate' || !db.restore) return undefined;
    const { backupDir, pattern } = db.restore;
    let listing: string;
    try {
      listing = (await this.run(listBackups(backupDir), { stepTimeoutSeconds: 60 })).stdout;
    } catch (error) {
      if (error instanceof DeploymentCancelled) throw error;
      throw new DeployFailure(`migrate failed: cannot list the backups in ${backupDir}: ${(error as Error).message}`);
    }
    const dump = newestDump(backupDir, listing, pattern);
    if (!dump) throw new DeployFailure(`migrate failed: no dump matching "${pattern}" in ${backupDir}`);
    if (db.restore.maxAgeHours !== undefined) await this.checkDumpAge(dump, db.restore.maxAgeHours);
    await this.log(`Restoring ${dump} (the newest "${pattern}" in ${backupDir})`);
    return dump;
  }

  /** restore.max_age_hours: a dump older than that is refused rather than restored (a stalled backup job). */
  async checkDumpAge(dump: string, maxAgeHours: number): Promise<void> {
    let written: number;
    try {
      written = Number((await this.run(modificationTime(dump), { stepTimeoutSeconds: 60 })).stdout.trim());
    } catch (error) {
      if (error instanceof DeploymentCancelled) throw error;
      throw new DeployFailure(`migrate failed: cannot tell how old ${dump} is: ${(error as Error).message}`);
    }
    const ageHours = (this.provider.clock().getTime() / 1000 - written) / 3600;
    if (!Number.isFinite(ageHours)) throw new DeployFailure(`migrate failed: cannot tell how old ${dump} is`);
    if (ageHours > maxAgeHours) {
      throw new DeployFailure(`migrate failed: the newest dump ${dump} is ${ageHours.toFixed(1)} hours old, more than restore.max_age_hours (${maxAgeHours})`);
    }
  }

  /**
   * prepare, and in place, when it fails, the previous commit back in app_path (checked out and
   * installed again: the service was not restarted, its next start must find what it ran).
   */
  async prepareRelease(release: Release): Promise<void> {
    try {
      await this.prepare(release);
    } catch (error) {
      const previous = this.previousCommit;
      if (this.layout.kind !== 'in_place' || !this.switched || !previous) throw error;
      const reason = (error as Error).message;
      try {
        await this.putTreeBack(previous, reason);
      } catch (restoreError) {
        throw new DeployFailure(`${reason}; putting ${shortVersion(previous)} back into ${this.layout.appPath} failed too: ${(restoreError as Error).message}`);
      }
      if (error instanceof DeploymentCancelled) throw error;
      throw new DeployFailure(`${reason}; ${this.layout.appPath} holds ${shortVersion(previous)} again`);
    }
  }

  /** version.json in the tree that is about to run (not without a repository: app_path is the user's own). */
  async stamp(release: Release, kind: 'deploy' | 'rollback'): Promise<void> {
    if (!this.ctx.env.repository) return;
    await this.writeVersionFile(release.path, release.commit, kind, this.provider.clock());
  }

  /**
   * In place: `commit` checked out into app_path again and installed and built as a deployment
   * would, outside the deadline (a rollback after a timeout runs it too), version.json back.
   */
  async putTreeBack(commit: string, reason: string): Promise<void> {
    const { env } = this.ctx;
    await this.touch();
    const options = { cwd: this.layout.appPath, env: { ...this.env, FRAISIER_COMMIT: commit, FRAISIER_ROLLBACK_REASON: reason }, timeoutMs: 600_000 };
    await this.host.run(checkoutInPlace(this.layout, commit), { ...options, env: { ...options.env, ...GIT_ENV } });
    const commands: Command[] = [];
    if (env.install && this.plan.includes('install')) commands.push(asUser(env.install.user, env.install.command, Object.keys(options.env)));
    if (env.build && this.plan.includes('build')) commands.push(env.build);
    if (env.compile && this.plan.includes('compile')) commands.push(env.compile);
    for (const command of commands) await this.host.run(command, options);
    await this.writeVersionFile(this.layout.appPath, commit, 'rollback', this.provider.clock(), this.ctx.commit);
    this.switched = false;
    await this.log(`${this.layout.appPath} holds ${shortVersion(commit)} again${commands.length ? ' (installed again)' : ''}`);
  }

  /** Runs a command whose output lines become progress messages (ETL scripts, jobs, custom steps). */
  async stream(step: string, command: Command, cwd: string, timeoutSeconds?: number): Promise<void> {
    await this.step(step, `Running ${command.join(' ')}`);
    await this.streamCommand(step, command, cwd, timeoutSeconds ? { timeoutSeconds } : {});
  }

  scriptCommand(scriptPath: string | undefined, key: string): Command {
    if (!scriptPath) throw new DeployFailure(`nothing to run: set ${key}`);
    return [isAbsolute(scriptPath) || scriptPath.startsWith('./') || scriptPath.startsWith('../') ? scriptPath : `./${scriptPath}`];
  }

  /** Makes `release` the running one (symlink switch) and restarts the service when asked. */
  async activate(releasePath: string, restart: boolean): Promise<void> {
    if (restart) await this.step('restart', `Restarting on ${this.host.description}`);
    await this.switchTo(releasePath);
    if (!restart) return;
    await this.startOrRollBack(() => this.run(this.service.restart!, { cwd: releasePath }), 'restart');
    await this.log('Service restarted');
  }

  async checkHealth(report: boolean, once = false): Promise<{ ok: boolean; message: string }> {
    const configured = this.configuredHealth(report, this.provider.healthHost(this.ctx.env), once);
    if (configured) return configured;
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

  async revert(reason: string): Promise<void> {
    if (this.layout.kind === 'in_place') {
      const previous = this.previousCommit;
      if (!previous || !this.switched) return;
      await this.putTreeBack(previous, reason);
      if (this.service.restart) {
        await this.host.run(this.service.restart, { cwd: this.layout.appPath, env: { ...this.env, FRAISIER_COMMIT: previous, FRAISIER_ROLLBACK_REASON: reason }, timeoutMs: 300_000 });
      }
      return;
    }
    const previous = this.previousRelease;
    if (!(await this.switchBack()) || !previous) return;
    if (this.service.restart) {
      await this.host.run(this.service.restart, { cwd: previous, env: { ...this.env, FRAISIER_ROLLBACK_REASON: reason }, timeoutMs: 300_000 });
    }
  }

  /** A kept release of `version`, or a fresh one when it was pruned. */
  async checkout(version: string): Promise<Release> {
    await this.step('checkout', `Checking out ${version.slice(0, 12)}`);
    const kept = await this.keptRelease(version);
    if (kept) {
      await this.log(`Release ${version.slice(0, 12)} was kept: nothing to rebuild`);
      return kept;
    }
    await this.log(
      this.layout.kind === 'in_place'
        ? `Checking ${version.slice(0, 12)} out into ${this.layout.appPath}: installing and building it again`
        : `Release ${version.slice(0, 12)} was not kept: fetching and building it again`,
    );
    // The whole pipeline for it, as a deployment of it would run (install, build, migrate, ...).
    this.plan = this.provider.rebuildingRollbackPlan(this.ctx.fraise, this.ctx.env);
    this.ctx.commit = version;
    const release = await this.fetch();
    await this.prepareRelease(release);
    return release;
  }

  async registerJobs(release: Release): Promise<void> {
    const { env } = this.ctx;
    await this.step('register_jobs', `Registering ${env.jobs.length} job${env.jobs.length === 1 ? '' : 's'}`);
    await this.activate(release.path, false);
    for (const job of env.jobs) {
      if (job.systemdTimer) {
        const sudo = this.provider.settingsOf(env).sudo === true ? ['sudo', '-n'] : [];
        await this.runStep('register_jobs', [...sudo, 'systemctl', 'enable', '--now', '--', job.systemdTimer], release.path);
        await this.log(`${job.name}: systemd timer ${job.systemdTimer} enabled`);
      } else {
        await this.log(`${job.name}: ${job.schedule ? `runs on "${job.schedule}"` : 'no schedule: runs when asked'}${job.dependsOn.length ? ` after ${job.dependsOn.join(', ')}` : ''}`);
      }
    }
  }

  /** The blue-green or canary strategy over this host's slots, when the environment has one. */
  blueGreen(): SlotDeployer | undefined {
    const { env } = this.ctx;
    const strategy = env.strategy;
    if (!isSlotStrategy(strategy) || this.ctx.fraise.type !== 'api' || !env.healthCheck) return undefined;
    const commands = slotCommands(this.provider.settingsOf(env));
    if (!commands) throw new DeployFailure(`${strategy.type} cannot start a slot: set systemd_service, or commands.restart and commands.stop`);
    return slotDeployer(this, new BareMetalSlots(this, commands, env.healthCheck, this.provider.healthHost(env)), strategy);
  }

  async jobDirectory(): Promise<string> {
    return (await this.currentRelease()) ?? this.layout.appPath;
  }

  prune(): Promise<void> {
    return this.pruneReleases(this.provider.settingsOf(this.ctx.env).keep_releases);
  }
}
