import type { RollingHost, RollingStrategy } from '../config/types.js';
import { type WatchConfig, watchMessage, watchWindow } from '../deploy/watch-window.js';
import { shortVersion } from '../git/refs.js';
import type { HealthStatus, TrafficShare } from '../model.js';
import type { HostShell } from '../providers/host.js';
import { type DeployContext, DeployFailure, DeploymentCancelled, DeploymentSuperseded, type DeployOutcome, type ProgressReporter, RolledBackError } from '../providers/provider.js';
import type { Release } from '../providers/release/session.js';
import { batches, evenShares, hostEnvironment, upstreamAddress } from './hosts.js';
import { createProxy, type ProxyDeps, type TrafficProxy, type Upstream } from './proxy/proxy.js';

/*
 * Rolling: the hosts deployed a batch at a time (max_unavailable), while the proxy sends the
 * requests to the others. First every host is checked (preflight) and gets the release ready
 * beside what it runs (fetch, install, build; the migrations once, on the first host of the roll,
 * once every other host is ready), which changes nothing that serves. Then, batch after batch:
 * the batch out of the upstream, drained, each of its hosts switched to the release and
 * restarted side by side, checked, and back in the upstream. A host never takes requests while it
 * is out. Hosts that served nothing when the roll began go first (taking them out costs nothing).
 *
 * With `health_check.watch`, a deployment (not a rollback, as recreate) then watches the whole
 * environment for the window (deploy/watch-window.ts, the watcher blue-green and recreate use):
 * every host checked at each interval, the check failing when any host's does. The window comes
 * once the last batch is back rather than after each batch: what it is for is a release that
 * passes its check and dies later, which a host of the last batch could do as well as one of the
 * first; a window per batch would multiply the roll's length by the number of batches and still
 * leave the last batch watched only as long as any other.
 *
 * One host failing (or a cancel) stops the roll: the hosts of the failing batch (out already)
 * go back to the release they ran, are checked and put back; then each earlier batch in turn is
 * taken out, switched back, checked and put back. A failure in the watch window (or a cancel in
 * it) does the same: the failing hosts out first, then every other host, a batch at a time.
 * ROLLED_BACK names the host and why.
 */

/** What a roll needs of one host: the target's session on it. */
export interface RollingHostSession {
  /** What the host ran when its preflight looked (null: nothing yet). */
  readonly previousCommit: string | null;
  /** Directories, lock, repository reachable, what runs now: changes nothing that serves. */
  preflight(): Promise<void>;
  /** The release ready beside what runs (`migrate`: this host also runs backup and migrate). */
  release(commit: string | null, migrate: boolean): Promise<Release>;
  /** `current` to the release and the service restarted on it; a failure reverts nothing. */
  activate(release: Release): Promise<void>;
  /** The host's health check; `cancellable: false` goes on after a cancel (a rollback's), `once`: one attempt. */
  check(options: { report: boolean; cancellable: boolean; once?: boolean }): Promise<{ ok: boolean; message: string }>;
  /** What ran before back in service: 'unchanged' when this run never switched it. */
  revert(reason: string): Promise<'reverted' | 'unchanged' | 'nothing-before'>;
  prune(): Promise<void>;
  unlock(): Promise<void>;
}

export interface RollingTarget {
  /** The target's session on `host`, for `ctx` (the host's environment, its progress prefixed). */
  open(host: RollingHost, ctx: DeployContext): RollingHostSession;
  /** Where the proxy's commands run. */
  readonly proxyShell: HostShell;
}

interface HostState {
  readonly host: RollingHost;
  readonly session: RollingHostSession;
  /** Took requests when the roll began. */
  servedBefore: boolean;
  /** In the upstream now. */
  serving: boolean;
  /** What it runs now (null: nothing). */
  version: string | null;
  release?: Release;
  /** This roll switched it to the release, or tried to. */
  switched: boolean;
}

class HostFailure extends Error {}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const names = (states: readonly HostState[]) => {
  const all = states.map((s) => s.host.name);
  return all.length <= 1 ? (all[0] ?? 'no host') : `${all.slice(0, -1).join(', ')} and ${all.at(-1)}`;
};
const label = (version: string | null) => (version ? shortVersion(version) : 'nothing');

export class Rolling {
  readonly #states: HostState[];
  readonly #proxy: TrafficProxy;
  #done = 0;
  #units: number;
  /** When a cancel came, as the rollback says it ("cancelled during the roll"). */
  #phase: 'during the roll' | 'before the watch window' | 'in the watch window' = 'during the roll';
  /** The hosts whose check failed last in the watch window: the rollback takes them out first. */
  #failing: HostState[] = [];

  constructor(
    private readonly ctx: DeployContext,
    private readonly strategy: RollingStrategy,
    target: RollingTarget,
    proxyFactory: (deps: ProxyDeps) => TrafficProxy = (deps) => createProxy(strategy.proxy, deps),
  ) {
    const record = sharedProcessRecorder(ctx.onProcess);
    this.#states = strategy.hosts.map((host) => ({
      host,
      session: target.open(host, {
        ...ctx,
        env: hostEnvironment(ctx.env, host),
        reporter: this.#hostReporter(host),
        ...(record ? { onProcess: record() } : {}),
      }),
      servedBefore: false,
      serving: false,
      version: null,
      switched: false,
    }));
    this.#proxy = proxyFactory({
      host: target.proxyShell,
      env: { ...ctx.env.env, FRAISIER_DEPLOYMENT_ID: ctx.deploymentId, FRAISIER_FRAISE: ctx.fraise.name, FRAISIER_ENVIRONMENT: ctx.env.name },
      log: (message) => ctx.reporter.log(message),
      serving: null,
      target: `${ctx.fraise.name}/${ctx.env.name}`,
    });
    const size = strategy.maxUnavailable;
    this.#units = 2 * strategy.hosts.length + Math.ceil(strategy.hosts.length / size);
  }

  /** Rolls the release each host's `release` makes ready over the hosts, a batch at a time; a deployment is then watched. */
  async run(kind: 'deploy' | 'rollback'): Promise<DeployOutcome> {
    const watch = kind === 'deploy' ? this.ctx.env.healthCheck?.watch : undefined;
    if (watch) this.#units += 1;
    try {
      await this.#preflight();
      // Hosts serving nothing go first: taking them out costs no capacity.
      const order = [...this.#states.filter((s) => !s.servedBefore), ...this.#states.filter((s) => s.servedBefore)];
      const commit = await this.#prepare(order);
      const groups = batches(order, this.strategy.maxUnavailable);
      await this.ctx.reporter.log(`Rolling ${shortVersion(commit)} over ${order.length} host${order.length === 1 ? '' : 's'}, ${this.strategy.maxUnavailable} at a time: ${groups.map(names).join(', then ')}`);
      for (const [index, batch] of groups.entries()) {
        await this.ctx.control.checkpoint();
        await this.#roll(batch, `batch ${index + 1}/${groups.length}`, commit);
        this.#done += 1;
      }
      if (watch) await this.#watch(watch, commit);
      for (const state of this.#states) await state.session.prune();
      return {
        version: commit,
        health: 'healthy',
        details: {
          hosts: this.#states.map((s) => ({ name: s.host.name, upstream: upstreamAddress(s.host), version: s.version, release: s.release?.path ?? null })),
          batches: groups.map((batch) => batch.map((s) => s.host.name)),
        },
      };
    } catch (error) {
      throw await this.#undo(error);
    } finally {
      for (const state of this.#states) await state.session.unlock().catch(() => {});
    }
  }

  async #preflight(): Promise<void> {
    for (const state of this.#states) {
      await this.#onHost(state, () => state.session.preflight());
      state.version = state.session.previousCommit;
      this.#done += 1;
    }
    // What takes the requests now: a host that runs a release and answers its health check.
    const seen: string[] = [];
    for (const state of this.#states) {
      if (!state.version) {
        seen.push(`${state.host.name}: nothing deployed yet, out of the upstream until it is`);
        continue;
      }
      const health = await state.session.check({ report: false, cancellable: true, once: true });
      if (this.ctx.signal.aborted) throw new DeploymentCancelled();
      state.servedBefore = state.serving = health.ok;
      seen.push(`${state.host.name}: ${label(state.version)}, ${health.ok ? 'healthy' : `${health.message}: out of the upstream until it is deployed and checked`}`);
    }
    await this.ctx.reporter.log(`Hosts before the roll: ${seen.join('; ')}`);
  }

  /** Every host's release ready; the first host of the roll last, since it migrates once all the others are ready. */
  async #prepare(order: HostState[]): Promise<string> {
    const [first, ...rest] = order;
    let commit = this.ctx.commit;
    for (const state of [...rest, first!]) {
      if (this.ctx.signal.aborted) throw new DeploymentCancelled();
      // The first host to fetch resolves the branch; every other one gets that exact commit.
      state.release = await this.#onHost(state, () => state.session.release(commit, state === first));
      commit = state.release.commit;
      this.#done += 1;
    }
    return commit!;
  }

  async #roll(batch: HostState[], which: string, commit: string): Promise<void> {
    await this.#takeOut(batch.filter((s) => s.serving), which);
    const results = await Promise.allSettled(batch.map((state) => this.#deployHost(state, commit)));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failures.some((f) => f instanceof DeploymentCancelled) || this.ctx.signal.aborted) throw new DeploymentCancelled();
    if (failures.length) throw failures[0];
    await this.#putBack(batch, `${which}: ${names(batch)} ${batch.length === 1 ? 'runs' : 'run'} ${shortVersion(commit)}`);
  }

  /**
   * The watch window over the whole environment, every host in the upstream checked at each
   * interval (one attempt each, side by side). A failure takes the failing hosts out of the
   * upstream first (while others serve), then the others go back a batch at a time (#undo).
   */
  async #watch(watch: WatchConfig, commit: string): Promise<void> {
    this.#phase = 'before the watch window';
    const subject = 'the environment';
    // A pause here holds the deployment before the window opens: the window does not count it.
    await this.ctx.control.checkpoint();
    await this.#step('watch', watchMessage(subject, watch, { one: 'rolls every host back', many: 'roll every host back' }));
    this.#phase = 'in the watch window';
    const result = await watchWindow({
      watch,
      subject,
      signal: this.ctx.signal,
      check: async () => {
        const watched = this.#states.filter((s) => s.serving);
        const results = await Promise.all(watched.map((s) => s.session.check({ report: false, cancellable: true, once: true })));
        this.#failing = watched.filter((_, i) => !results[i]!.ok);
        const why = results.flatMap((r, i) => (r.ok ? [] : [`${watched[i]!.host.name}: ${r.message}`]));
        return why.length ? { ok: false, message: why.join('; ') } : { ok: true, message: `${watched.length} healthy` };
      },
      log: (message) => this.ctx.reporter.log(message),
      version: shortVersion(commit),
    });
    if (result.kind === 'passed') {
      this.#done += 1;
      return;
    }
    if (result.kind === 'cancelled') {
      // A check the cancel cut short failed no host: the rollback goes batch by batch.
      this.#failing = [];
      throw new DeploymentCancelled();
    }
    throw new HostFailure(result.reason);
  }

  async #deployHost(state: HostState, commit: string): Promise<void> {
    const { host, session } = state;
    await this.#step('restart', `${host.name}: switching to ${shortVersion(commit)} and restarting`);
    state.switched = true;
    try {
      await session.activate(state.release!);
    } catch (error) {
      if (error instanceof DeploymentCancelled) throw error;
      throw new HostFailure(`${host.name}: ${(error as Error).message}`);
    }
    state.version = commit;
    await this.#step('health_check', `${host.name}: checking ${upstreamAddress(host)}`);
    const result = await session.check({ report: true, cancellable: true });
    if (this.ctx.signal.aborted) throw new DeploymentCancelled();
    if (!result.ok) throw new HostFailure(`health check of ${host.name} (${upstreamAddress(host)}) failed: ${result.message}`);
    await this.ctx.reporter.log(`${host.name}: healthy (${result.message}) on ${shortVersion(commit)}`);
  }

  /** `leaving` out of the upstream and drained; `rollback`: after a failure (no cancel point, errors said). */
  async #takeOut(leaving: HostState[], why: string, rollback = false): Promise<void> {
    if (leaving.length === 0) return;
    const staying = this.#states.filter((s) => s.serving && !leaving.includes(s));
    if (staying.length === 0) {
      // With nothing else serving, out would mean every request fails: it restarts where it is.
      await this.ctx.reporter.log(`${names(leaving)} ${leaving.length === 1 ? 'is the only host' : 'are the only hosts'} taking the requests: ${leaving.length === 1 ? 'it stays' : 'they stay'} in the upstream while ${leaving.length === 1 ? 'it restarts' : 'they restart'} (requests to ${leaving.length === 1 ? 'it' : 'them'} fail meanwhile)`);
      return;
    }
    const message = `${rollback ? 'Rollback' : why}: taking ${names(leaving)} out of the upstream through ${this.#proxy.description}`;
    if (rollback) await this.ctx.reporter.step('rollback', 99, message);
    else await this.#step('take_out', message);
    await this.ctx.touchTarget();
    for (const state of leaving) state.serving = false;
    try {
      await this.#proxy.apply(this.#upstreams());
    } catch (error) {
      for (const state of leaving) state.serving = true;
      throw new DeployFailure(`taking ${names(leaving)} out of the upstream failed: ${(error as Error).message}`);
    }
    await this.ctx.reporter.traffic(this.#shares(), `${names(leaving)} out of the upstream: ${this.#serving()} take${staying.length === 1 ? 's' : ''} the requests`);
    if (!rollback) await this.#step('drain', `Draining ${names(leaving)} for up to ${seconds(this.strategy.drainSeconds * 1000)}`);
    const started = Date.now();
    const drained = await this.#proxy.drain(this.strategy.drainSeconds * 1000);
    await this.ctx.reporter.log(
      drained === 'drained'
        ? `${names(leaving)} drained in ${seconds(Date.now() - started)}: the proxy's previous workers answered every request they had`
        : `${names(leaving)} drained (${seconds(Date.now() - started)})`,
    );
  }

  async #putBack(joining: HostState[], message: string, rollback = false): Promise<void> {
    const entering = joining.filter((s) => !s.serving);
    if (entering.length === 0) {
      await this.ctx.reporter.log(`${message}; ${names(joining)} never left the upstream`);
      return;
    }
    const into = `${names(entering)} ${entering.every((s) => s.servedBefore) ? 'back into' : 'into'} the upstream`;
    if (rollback) await this.ctx.reporter.step('rollback', 99, `Rollback: putting ${into}`);
    else await this.#step('put_back', `Putting ${into}`);
    await this.ctx.touchTarget();
    for (const state of entering) state.serving = true;
    try {
      await this.#proxy.apply(this.#upstreams());
    } catch (error) {
      for (const state of entering) state.serving = false;
      throw new DeployFailure(`putting ${into} failed: ${(error as Error).message}`);
    }
    await this.ctx.reporter.traffic(this.#shares(), `${message}; ${this.#serving()} take${this.#states.filter((s) => s.serving).length === 1 ? 's' : ''} the requests`);
  }

  /**
   * After a failure or a cancel during the roll: every host switched goes back to what it ran,
   * the failing batch first (it is out already), then the earlier batches, last one first. Returns
   * what to throw: ROLLED_BACK (naming the failure), CANCELLED, or the failure as it was when
   * nothing had been switched yet.
   */
  async #undo(error: unknown): Promise<unknown> {
    const cancelled = error instanceof DeploymentCancelled || this.ctx.signal.aborted;
    const reason = cancelled ? `cancelled ${this.#phase}` : (error as Error).message;
    // Taken out but never switched (a cancel in the drain): still what they ran, back in as they were.
    const untouched = this.#states.filter((s) => !s.switched && s.servedBefore && !s.serving);
    const switched = this.#states.filter((s) => s.switched);
    // A host that ran nothing before has nothing to go back to: it is left as it is, in or out.
    const revertible = switched.filter((s) => s.session.previousCommit !== null);
    const fresh = switched.filter((s) => s.session.previousCommit === null);
    const problems: string[] = [];
    const reverted: HostState[] = [];
    if (revertible.length) {
      const stops = this.#phase === 'during the roll' ? 'the roll stops; ' : '';
      await this.ctx.reporter.step('rollback', 99, `${reason}: ${stops}${names(revertible)} go${revertible.length === 1 ? 'es' : ''} back to what ${revertible.length === 1 ? 'it' : 'they'} ran`);
      // Out already, or failing in the watch window: these go back first, together.
      const out = revertible.filter((s) => !s.serving || this.#failing.includes(s));
      const serving = revertible.filter((s) => !out.includes(s)).reverse();
      for (const [index, group] of [out, ...batches(serving, this.strategy.maxUnavailable)].entries()) {
        if (group.length === 0) continue;
        try {
          await this.#takeOut(group.filter((s) => s.serving), 'rollback', true);
        } catch (failure) {
          problems.push((failure as Error).message);
          continue;
        }
        const back = await Promise.all(group.map((state) => this.#revertHost(state, reason, problems)));
        const ready = group.filter((_, i) => back[i]);
        reverted.push(...ready);
        const joining = [...ready, ...(index === 0 ? untouched : [])];
        if (joining.length) await this.#putBack(joining, `${names(joining)} back on ${label(joining[0]!.version)}`, true).catch((e: Error) => problems.push(e.message));
      }
    } else if (untouched.length) {
      await this.#putBack(untouched, `${names(untouched)} unchanged`, true).catch((e: Error) => problems.push(e.message));
    }
    if (fresh.length) {
      const inside = fresh.filter((s) => s.serving);
      const where = inside.length === fresh.length ? 'in the upstream' : inside.length === 0 ? 'out of the upstream' : `${names(inside)} in the upstream, the other${fresh.length - inside.length === 1 ? '' : 's'} out`;
      problems.push(`${names(fresh)} ran nothing before: ${fresh.length === 1 ? 'it keeps' : 'they keep'} ${label(fresh[0]!.version)}, ${where}`);
    }
    const lost = this.#states.filter((s) => s.servedBefore && !s.serving);
    const health: HealthStatus = this.#states.every((s) => !s.serving) ? 'down' : lost.length ? 'degraded' : 'healthy';
    const versions = [...new Set(reverted.map((s) => s.version))];
    const outcome = `${reverted.length ? `; ${names(reverted)} ${reverted.length === 1 ? 'runs' : 'run'} ${versions.map(label).join(' and ')} again` : ''}${problems.length ? `; ${problems.join('; ')}` : ''}`;
    if (switched.length || problems.length) await this.ctx.reporter.log(`The roll stopped${outcome}`);
    if (cancelled) return switched.length ? new DeploymentCancelled() : error;
    if (reverted.length === 0) return switched.length ? new DeployFailure(`${reason}${outcome}`, health, null) : error;
    return new RolledBackError(`${reason}${outcome}`, this.ctx.previousVersion ?? (versions.length === 1 ? (versions[0] ?? null) : null), health);
  }

  /** One host back on what it ran and checked; true when it may take requests again. */
  async #revertHost(state: HostState, reason: string, problems: string[]): Promise<boolean> {
    const { host, session } = state;
    let result: 'reverted' | 'unchanged' | 'nothing-before';
    try {
      result = await session.revert(reason);
    } catch (error) {
      problems.push(`switching ${host.name} back failed: ${(error as Error).message}; it stays out of the upstream`);
      return false;
    }
    if (result === 'nothing-before') return false;
    state.version = session.previousCommit;
    const health = await session.check({ report: false, cancellable: false });
    if (!health.ok) {
      problems.push(`${host.name} does not answer on ${label(state.version)} either (${health.message}): it stays out of the upstream`);
      return false;
    }
    await this.ctx.reporter.log(`${host.name}: ${result === 'reverted' ? 'back on' : 'still on'} ${label(state.version)}, healthy (${health.message})`);
    return true;
  }

  /** A failure of a host's preflight or preparation, said with the host's name (nothing that serves changed). */
  async #onHost<T>(state: HostState, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DeploymentCancelled || error instanceof DeploymentSuperseded || this.ctx.signal.aborted) throw error;
      const failure = error instanceof DeployFailure ? error : undefined;
      throw new DeployFailure(`${state.host.name}: ${(error as Error).message}`, failure?.health, failure?.runningVersion);
    }
  }

  /** A step of the roll; a cancelled run stops here. */
  async #step(name: string, message: string): Promise<void> {
    if (this.ctx.signal.aborted) throw new DeploymentCancelled();
    await this.ctx.reporter.step(name, this.#progress(), message);
  }

  #progress(): number {
    return Math.min(99, Math.round((100 * this.#done) / this.#units));
  }

  /** A host's session reports through this: its messages named by the host, the progress the roll's. */
  #hostReporter(host: RollingHost): ProgressReporter {
    const parent = this.ctx.reporter;
    return {
      step: (step, _progress, message) => parent.step(step, this.#progress(), `${host.name}: ${message ?? step}`),
      log: (message) => parent.log(`${host.name}: ${message}`),
      traffic: (shares, message) => parent.traffic(shares, `${host.name}: ${message}`),
    };
  }

  #upstreams(): Upstream[] {
    const weights = this.#weights();
    return this.#states.map((s, i) => ({ slot: s.host.name, host: s.host.upstream.host, port: s.host.upstream.port, weight: weights[i]!, version: s.version }));
  }

  #shares(): TrafficShare[] {
    const weights = this.#weights();
    return this.#states.map((s, i) => ({ slot: s.host.name, port: s.host.upstream.port, version: s.version, weight: weights[i]! }));
  }

  /** Even shares among the hosts in the upstream, 0 for the others. */
  #weights(): number[] {
    const shares = evenShares(this.#states.filter((s) => s.serving).length);
    let next = 0;
    return this.#states.map((s) => (s.serving ? shares[next++]! : 0));
  }

  #serving(): string {
    const serving = this.#states.filter((s) => s.serving);
    return serving.length ? serving.map((s) => `${s.host.name} (${label(s.version)})`).join(', ') : 'no host';
  }
}

/**
 * The hosts of a batch run commands side by side, and the deployment records one process group:
 * the latest one started that still runs (so a crash leaves at most the others of that moment).
 */
function sharedProcessRecorder(onProcess: DeployContext['onProcess']): (() => NonNullable<DeployContext['onProcess']>) | undefined {
  if (!onProcess) return undefined;
  const live = new Map<number, { pgid: number; identity: string | null }>();
  let next = 0;
  return () => {
    const key = next++;
    return (process) => {
      if (process) live.set(key, process);
      else live.delete(key);
      onProcess(process ?? [...live.values()].at(-1) ?? null);
    };
  };
}
