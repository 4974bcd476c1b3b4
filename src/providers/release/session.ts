import type { Command } from '../../config/types.js';
import { ExecError, type RunOptions, type RunResult } from '../../exec/runner.js';
import { addWorktree, cloneMirror, commitTime, fetchCommit, GIT_ENV, headCommit, isAncestor, lsRemote, pruneWorktrees, verifyCommit } from '../../git/commands.js';
import { isFullCommitSha, isZeroSha, shortVersion } from '../../git/refs.js';
import type { HostShell } from '../host.js';
import { endCommand } from '../../tracing.js';
import { checkHealth } from '../../deploy/health-check.js';
import { type WatchConfig, watchMessage, watchWindow } from '../../deploy/watch-window.js';
import { type DeployContext, DeployFailure, DeploymentCancelled, DeploymentSuperseded, RolledBackError } from '../provider.js';
import { HostLock } from './host-lock.js';
import { StepSession } from '../step-session.js';
import { checkoutInPlace, inPlaceHead, isDirectory, type Layout, listReleases, makeDirectories, readLink, removeWorktree, switchCurrent } from './layout.js';
import { readFile, versionFileCommit, versionFileContent, versionFilePath, writeFile } from './version-file.js';

/*
 * One deployment's walk through its steps on one host, for targets that keep a release directory
 * per commit (bare metal, Compose): progress, the deadline, the host-side lock, the exact commit
 * fetched into a release, the `current` switch and pruning. Each provider extends it with what
 * it does with a release.
 */

export const DEFAULT_KEEP_RELEASES = 5;

export interface Release {
  commit: string;
  path: string;
}

/** Which environment a command runs for and where it lives: what every command of it sees, in a deployment or not. */
export function placeVariables(fraise: string, environment: string, layout: Pick<Layout, 'appPath' | 'shared'>): Record<string, string> {
  return { FRAISIER_FRAISE: fraise, FRAISIER_ENVIRONMENT: environment, FRAISIER_APP_PATH: layout.appPath, FRAISIER_SHARED_PATH: layout.shared };
}

export abstract class ReleaseSession extends StepSession {
  /** What `current` pointed at before this deployment (null: nothing ran); in place, app_path when it held a commit. */
  previousRelease: string | null = null;
  /** The commit that ran before this deployment, when known (what a rollback goes back to). */
  previousCommit: string | null = null;
  /** Whether this deployment moved `current` (in place: checked another commit out into app_path). */
  switched = false;
  #lock: HostLock | undefined;
  #abbreviatedPrevious: string | null = null;

  constructor(
    ctx: DeployContext,
    plan: string[],
    readonly host: HostShell,
    readonly layout: Layout,
  ) {
    super(ctx, plan);
  }

  /** Variables every command of this deployment sees (outside values only ever travel here). */
  get env(): Record<string, string> {
    const { ctx } = this;
    return {
      ...ctx.env.env,
      ...Object.fromEntries(Object.entries(ctx.context).map(([k, v]) => [`FRAISIER_${k.toUpperCase()}`, v])),
      FRAISIER_DEPLOYMENT_ID: ctx.deploymentId,
      ...placeVariables(ctx.fraise.name, ctx.env.name, this.layout),
      ...(ctx.commit ? { FRAISIER_COMMIT: ctx.commit } : {}),
      ...(ctx.branch ? { FRAISIER_BRANCH: ctx.branch } : {}),
      ...(ctx.previousVersion ? { FRAISIER_PREVIOUS_COMMIT: ctx.previousVersion } : {}),
      // The current step's trace context (W3C), for commands that trace themselves.
      ...ctx.trace?.carrier(),
    };
  }

  /** A command of this deployment: within its deadline, cancellable, its process group recorded. */
  async run(argv: Command, options: RunOptions & { stepTimeoutSeconds?: number } = {}): Promise<RunResult> {
    const remaining = this.deadline - Date.now();
    if (remaining <= 0) throw new DeployFailure(`the deployment took longer than its timeout (${this.ctx.env.timeoutSeconds}s)`);
    const timeoutMs = Math.min(remaining, (options.stepTimeoutSeconds ?? Number.POSITIVE_INFINITY) * 1000);
    const span = this.ctx.trace?.command(argv);
    try {
      const result = await this.host.run(argv, {
        ...options,
        env: { ...this.env, ...options.env },
        timeoutMs,
        signal: this.ctx.signal,
        ...(this.ctx.onProcess ? { onProcess: this.ctx.onProcess } : {}),
        ...(this.ctx.killGraceMs !== undefined ? { killGraceMs: this.ctx.killGraceMs } : {}),
      });
      if (span) endCommand(span, undefined, result.exitCode);
      return result;
    } catch (error) {
      if (span) endCommand(span, error, error instanceof ExecError ? error.result.exitCode : undefined);
      if (error instanceof ExecError && error.reason === 'aborted') throw new DeploymentCancelled();
      throw error;
    }
  }

  /** True when `argv` exits 0 (a test, not a failure). */
  succeeds(argv: Command, options: RunOptions = {}): Promise<boolean> {
    return this.run(argv, options).then(
      () => true,
      (error: unknown) => {
        if (error instanceof DeploymentCancelled) throw error;
        return false;
      },
    );
  }

  /**
   * The directories, the host-side lock, the repository reachable from the host, and what runs
   * now (`current`): what every release-based deployment checks before it changes anything.
   */
  async prepareTarget(): Promise<void> {
    const { ctx } = this;
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
    if (this.layout.kind === 'in_place') {
      const named = await this.treeCommit();
      this.previousCommit = (named && isFullCommitSha(named) ? named : null) ?? (ctx.previousVersion ? releaseCommit(ctx.previousVersion) : null);
      // An abbreviated id is resolved once the mirror has fetched (checkOutInPlace).
      this.#abbreviatedPrevious = named && !isFullCommitSha(named) ? named : null;
      this.previousRelease = this.previousCommit ? this.layout.appPath : null;
    } else {
      this.previousRelease = await this.currentRelease();
      this.previousCommit = this.previousRelease ? releaseCommit(this.previousRelease) : null;
    }
  }

  /** The commit the tree's version.json names (in place: what app_path holds), or null. */
  async treeCommit(): Promise<string | null> {
    const text = await this.run(readFile(versionFilePath(this.layout.appPath))).then(
      (result) => result.stdout,
      () => undefined,
    );
    return versionFileCommit(text);
  }

  /**
   * Writes version.json into `tree` (what it holds, and which deployment put it there). Short
   * file operations outside the deadline: a rollback after a timeout writes it too.
   */
  async writeVersionFile(tree: string, commit: string, kind: 'deploy' | 'rollback', at: Date, previousCommit = this.previousCommit): Promise<void> {
    const { ctx } = this;
    const path = versionFilePath(tree);
    const existing = await this.host.run(readFile(path), { timeoutMs: 30_000 }).then(
      (result) => result.stdout,
      () => undefined,
    );
    const content = versionFileContent(
      {
        commit,
        branch: ctx.branch,
        environment: ctx.env.name,
        fraise: ctx.fraise.name,
        deploymentId: ctx.deploymentId,
        kind,
        previousCommit: previousCommit === commit ? null : previousCommit,
        layout: this.layout.kind,
        deployedAt: at,
      },
      existing,
    );
    await this.host.run(writeFile(path), { input: content, timeoutMs: 30_000 });
  }

  /** The release `current` points at, or null. */
  async currentRelease(): Promise<string | null> {
    const current = await this.run(readLink(this.layout.current)).catch(() => undefined);
    return current?.stdout.trim() || null;
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
    if (!(await this.succeeds(isDirectory(this.layout.mirror)))) await this.run(cloneMirror(repository, this.layout.mirror), { env: GIT_ENV });
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
    await this.#recordCommitTime(commit);
    await this.refuseOlder(commit);
    if (this.layout.kind === 'in_place') return this.checkOutInPlace(commit);
    const path = this.layout.release(commit);
    if (!(await this.succeeds(isDirectory(path)))) {
      await this.run(pruneWorktrees(this.layout.mirror));
      await this.run(addWorktree(this.layout.mirror, path, commit), { env: GIT_ENV });
    }
    const head = await this.run(headCommit(path));
    if (head.stdout.trim() !== commit) throw new DeployFailure(`release ${path} holds ${head.stdout.trim()}, expected ${commit}`);
    this.ctx.commit = commit;
    await this.log(`Code updated (${commit.slice(0, 12)})`);
    return { commit, path };
  }

  /** The commit's date, for lead time; a deployment never fails for want of it. */
  async #recordCommitTime(commit: string): Promise<void> {
    const shown = await this.run(commitTime(this.layout.mirror, commit)).catch((error: unknown) => {
      if (error instanceof DeploymentCancelled) throw error;
      return undefined;
    });
    const time = shown?.stdout.trim();
    if (time && !Number.isNaN(Date.parse(time))) this.ctx.commitTime = new Date(time).toISOString();
  }

  /**
   * The commit written into app_path itself, the running tree: a change of the target from here
   * on (a failure puts the previous commit back).
   */
  async checkOutInPlace(commit: string): Promise<Release> {
    if (this.#abbreviatedPrevious) {
      const resolved = await this.run(verifyCommit(this.layout.mirror, this.#abbreviatedPrevious)).catch(() => undefined);
      if (resolved) {
        this.previousCommit = resolved.stdout.trim();
        this.previousRelease = this.layout.appPath;
      }
      this.#abbreviatedPrevious = null;
    }
    await this.touch();
    this.switched = true;
    await this.run(checkoutInPlace(this.layout, commit), { env: GIT_ENV });
    const head = await this.run(inPlaceHead(this.layout));
    if (head.stdout.trim() !== commit) throw new DeployFailure(`${this.layout.appPath} holds ${head.stdout.trim()}, expected ${commit}`);
    this.ctx.commit = commit;
    await this.log(`Code updated in place (${commit.slice(0, 12)})`);
    return { commit, path: this.layout.appPath };
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
      await this.log(`The push moved the branch back from ${shortVersion(before)}: deploying ${shortVersion(commit)}, older than ${shortVersion(order.deployed)}`);
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

  /** The release of `version` if it was kept, else null (a rollback then fetches it again). */
  async keptRelease(version: string): Promise<Release | null> {
    // In place nothing is kept: the one tree holds what runs now.
    if (this.layout.kind === 'in_place') return null;
    const path = this.layout.release(version);
    return (await this.succeeds(isDirectory(path))) ? { commit: version, path } : null;
  }

  /** A named step running one command in `cwd`; output streamed when `stream`. */
  async command(step: string, command: Command, cwd: string, stream = false): Promise<void> {
    await this.step(step, `Running ${command.join(' ')}`);
    if (stream) await this.streamCommand(step, command, cwd);
    else await this.runStep(step, command, cwd);
  }

  async runStep(step: string, command: Command, cwd: string, env?: Record<string, string>): Promise<void> {
    const started = Date.now();
    try {
      await this.run(command, { cwd, ...(env ? { env } : {}) });
    } catch (error) {
      if (error instanceof DeploymentCancelled) throw error;
      throw new DeployFailure(`${step} failed: ${(error as Error).message}`);
    }
    await this.log(`${step} done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }

  /** Runs a command whose output lines become progress messages; a failure is `<step> failed: ...`. */
  async streamCommand(step: string, command: Command, cwd: string, options: { timeoutSeconds?: number; env?: Record<string, string> } = {}): Promise<void> {
    try {
      await this.streamLines(command, cwd, options);
    } catch (error) {
      if (error instanceof DeploymentCancelled) throw error;
      throw new DeployFailure(`${step} failed: ${(error as Error).message}`);
    }
  }

  /** Runs a command whose output lines become progress messages, in order; errors as thrown. */
  async streamLines(command: Command, cwd: string, options: { timeoutSeconds?: number; env?: Record<string, string> } = {}): Promise<RunResult> {
    let pending = Promise.resolve();
    try {
      return await this.run(command, {
        cwd,
        ...(options.env ? { env: options.env } : {}),
        ...(options.timeoutSeconds ? { stepTimeoutSeconds: options.timeoutSeconds } : {}),
        onLine: (line) => {
          if (line.trim() === '') return;
          pending = pending.then(() => this.log(line.slice(0, 2_000)));
        },
      });
    } finally {
      await pending;
    }
  }

  /** Whether what runs now is healthy; `report` logs each failed attempt; `once`: one attempt (the watch window). */
  abstract checkHealth(report: boolean, once?: boolean): Promise<{ ok: boolean; message: string }>;

  /** Puts the previous release back in service (after a failure, or a cancel, past the switch). */
  abstract revert(reason: string): Promise<void>;

  /** The environment's own health_check against this host, or undefined when it has none. */
  configuredHealth(report: boolean, defaultHost: string, once = false): Promise<{ ok: boolean; message: string }> | undefined {
    const { env } = this.ctx;
    if (!env.healthCheck) return undefined;
    return checkHealth(once ? { ...env.healthCheck, retries: 1 } : env.healthCheck, {
      host: this.host,
      defaultHost,
      signal: this.ctx.signal,
      ...(report ? { onAttempt: (attempt, message) => void this.log(`attempt ${attempt}: ${message}`) } : {}),
    });
  }

  /**
   * Runs what puts the new release in service (a restart, `up`); when it fails, the previous
   * release goes back (ROLLED_BACK), and a cancel puts it back before ending CANCELLED.
   */
  async startOrRollBack(start: () => Promise<unknown>, what: string): Promise<void> {
    try {
      await start();
    } catch (error) {
      if (error instanceof DeploymentCancelled) {
        await this.revert('cancelled during the restart').catch(() => {});
        throw error;
      }
      await this.rollbackAfter(`${what} failed: ${(error as Error).message}`);
    }
  }

  /**
   * After the new release started: healthy, or back to the previous release. With `watch` (a
   * deployment, not a rollback) and `health_check.watch` set, it is then watched for the window
   * (deploy/watch-window.ts, the watcher blue-green uses too): a failure there rolls back as a
   * failed health check does.
   */
  async healthGate(release: Release, watch = false): Promise<void> {
    await this.step('health_check', 'Checking health');
    const result = await this.checkHealth(true);
    if (this.ctx.signal.aborted) {
      await this.revert('cancelled during the health check').catch(() => {});
      throw new DeploymentCancelled();
    }
    if (!result.ok) await this.rollbackAfter(`health check failed: ${result.message}`);
    await this.log(`Health check passed (${result.message}) on ${release.commit.slice(0, 12)}`);
    const window = this.ctx.env.healthCheck?.watch;
    if (watch && window) await this.#watch(release, window);
  }

  async #watch(release: Release, window: WatchConfig): Promise<void> {
    const subject = `the service`;
    try {
      await this.step('watch', watchMessage(subject, window, { one: 'rolls back', many: 'roll back' }));
    } catch (error) {
      // A cancel (or a pause ended by one) right after the health check: the previous release goes back.
      await this.revert('cancelled before the watch window').catch(() => {});
      throw error;
    }
    const result = await watchWindow({
      watch: window,
      subject,
      signal: this.ctx.signal,
      check: () => this.checkHealth(false, true),
      log: (message) => this.log(message),
      version: shortVersion(release.commit),
    });
    if (result.kind === 'passed') return;
    if (result.kind === 'cancelled') {
      await this.revert('cancelled in the watch window').catch(() => {});
      throw new DeploymentCancelled();
    }
    await this.rollbackAfter(result.reason);
  }

  /** A failure after the switch: the previous release back in service and checked; ends ROLLED_BACK. */
  async rollbackAfter(reason: string): Promise<never> {
    const previous = this.previousRelease;
    if (!previous || !this.switched) {
      throw new DeployFailure(`${reason}; no previous release to roll back to`, 'down', null);
    }
    const label = this.previousCommit ? shortVersion(this.previousCommit) : shortRelease(previous);
    await this.ctx.reporter.step('rollback', 99, `${reason}: rolling back to ${label}`);
    try {
      await this.revert(reason);
    } catch (error) {
      throw new DeployFailure(`${reason}; the rollback failed too: ${(error as Error).message}`, 'down', null);
    }
    const health = await this.checkHealth(false);
    await this.log(health.ok ? `Rolled back to ${label}: healthy` : `Rolled back to ${label}: ${health.message}`);
    throw new RolledBackError(reason, this.previousCommit, health.ok ? 'healthy' : 'down');
  }

  /** Points `current` at `releasePath` (a change of the target: the run must hold it). */
  async switchTo(releasePath: string): Promise<void> {
    await this.touch();
    if (releasePath === this.layout.appPath) return;
    for (const command of switchCurrent(this.layout, releasePath)) await this.run(command);
    this.switched = true;
  }

  /** Points `current` back at the previous release; false when there is nothing to go back to. */
  async switchBack(): Promise<boolean> {
    const previous = this.previousRelease;
    if (!previous || !this.switched) return false;
    // Switching back is a change of the target too: never by a run that no longer holds it.
    await this.touch();
    for (const command of switchCurrent(this.layout, previous)) await this.host.run(command, { timeoutMs: 60_000 });
    this.switched = false;
    return true;
  }

  /**
   * Keeps the newest `keep` releases (and the previous and the new one), removes the others;
   * `onRemoved` cleans up what belonged to a removed release (its images). Never fails a deployment.
   */
  async pruneReleases(keep: number = DEFAULT_KEEP_RELEASES, onRemoved?: (commit: string) => Promise<void>): Promise<void> {
    if (this.layout.kind === 'in_place') return;
    try {
      const listing = await this.run(listReleases(this.layout));
      const names = listing.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
      const protectedPaths = new Set([this.previousRelease, this.ctx.commit ? this.layout.release(this.ctx.commit) : null]);
      for (const name of names.slice(keep)) {
        const path = this.layout.release(name);
        if (protectedPaths.has(path)) continue;
        await this.run(removeWorktree(this.layout, path));
        await onRemoved?.(name);
      }
    } catch (error) {
      if (error instanceof DeploymentCancelled) throw error;
      await this.log(`could not prune old releases: ${(error as Error).message}`);
    }
  }
}

/** The commit a release directory holds (its name), or null for something else. */
export function releaseCommit(path: string): string | null {
  const name = path.split('/').pop() ?? '';
  return /^[0-9a-f]{40,64}$/.test(name) ? name : null;
}

export function shortRelease(path: string): string {
  const commit = releaseCommit(path);
  return commit ? commit.slice(0, 12) : path;
}
