import type { CanaryStrategy, SlotConfig } from '../config/types.js';
import { abortableSleep } from '../deploy/health-check.js';
import { shortVersion } from '../git/refs.js';
import type { TrafficShare } from '../model.js';
import { type DeployContext, DeployFailure, DeploymentCancelled, type DeployOutcome, RolledBackError } from '../providers/provider.js';
import type { Release } from '../providers/release/session.js';
import { type AnalysisWindow, type CanaryEndpoint, openWindow } from './analysis/window.js';
import { judge, type Judgement } from './analysis/verdict.js';
import { BlueGreen, type Live, type StrategySession } from './blue-green.js';
import { canaryStepName } from './plan.js';
import { createProxy, type ProxyDeps, type TrafficProxy, type Upstream } from './proxy/proxy.js';
import { otherSlot, type SlotRuntime } from './slots.js';

/*
 * Canary: the new release starts in the idle slot beside the live one, is checked on its own
 * port, then takes a growing share of the requests through the proxy's weights (the steps, the
 * last 100). Each step is held (`pause`, or until promoted), measured while held and judged at
 * its end: the canary's health check and its 5xx share of its own requests. A failure aborts at
 * once: the live slot takes all the requests again, the canary stops, ROLLED_BACK with the
 * figures. Too few requests to say (inconclusive) holds the step for a person: resume goes on,
 * promote goes to 100, cancel aborts. Promote skips the remaining steps, pauses and analyses. At
 * 100 the canary's slot is the live one, as after a blue-green switch; once its step passed, the
 * old slot drains and stops. A first deployment (nothing to compare with) and a rollback are
 * blue-green's: all the traffic at once.
 */

const DEFAULT_INTERVAL_SECONDS = 10;

const label = (release: Release | null) => (release ? shortVersion(release.commit) : 'an unknown release');
const percent = (share: number) => `${Math.round(share * 10_000) / 100}%`;
const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** The canary failed a step: the reason carries the figures. */
class CanaryFailed extends Error {}

/** Where the canary stands while its steps run. */
interface Run {
  idle: SlotConfig;
  release: Release;
  live: Live;
  proxy: TrafficProxy;
  endpoint: CanaryEndpoint;
  /** The canary's weight now (0 before the first step). */
  weight: number;
}

export class Canary {
  readonly #blueGreen: BlueGreen;

  constructor(
    private readonly s: StrategySession,
    private readonly slots: SlotRuntime,
    private readonly strategy: CanaryStrategy,
    private readonly proxyFactory: (deps: ProxyDeps) => TrafficProxy = (deps) => createProxy(strategy.proxy, deps),
  ) {
    const { steps: _steps, pauseSeconds: _pause, analysis: _analysis, ...slotted } = strategy;
    this.#blueGreen = new BlueGreen(s, slots, { ...slotted, type: 'blue-green' }, proxyFactory);
  }

  get #ctx(): DeployContext {
    return this.s.ctx;
  }

  async deploy(release: Release): Promise<DeployOutcome> {
    const live = await this.#blueGreen.live();
    if (!live) {
      await this.s.log('No slot takes the traffic yet: there is nothing to compare a canary with, so the release takes all of it once healthy (as blue-green)');
      return this.#blueGreen.deploy(release);
    }
    const idle = otherSlot(this.strategy.slots, live.slot);
    await this.#blueGreen.startIn(idle, release, live);
    await this.#untouchedOnFailure(idle, async () => {
      await this.s.step('health_check', `Checking slot ${idle.name} on port ${idle.port}`);
      const result = await this.slots.check(idle, { report: true });
      if (this.#ctx.signal.aborted) throw new DeploymentCancelled();
      if (!result.ok) throw new DeployFailure(`health check of slot ${idle.name} (port ${idle.port}) failed: ${result.message}; ${this.#untouched(live)}`);
      await this.s.log(`Slot ${idle.name} healthy on port ${idle.port} (${result.message}): ${shortVersion(release.commit)}`);
    });
    const proxy = this.proxyFactory({
      host: this.s.host,
      env: this.s.env,
      log: (message) => this.s.log(message),
      serving: [this.#upstream(live.slot, live.release, 100)],
      target: `${this.#ctx.fraise.name}/${this.#ctx.env.name}`,
    });
    const run: Run = { idle, release, live, proxy, endpoint: { slot: idle.name, port: idle.port, upstream: `127.0.0.1:${idle.port}` }, weight: 0 };
    await this.#steps(run);
    return this.#finish(run);
  }

  /** A rollback switches all the traffic at once, as blue-green does: no steps, no analysis. */
  rollback(version: string, prepare: () => Promise<Release>): Promise<DeployOutcome> {
    return this.#blueGreen.rollback(version, prepare);
  }

  /** Every step, until 100 (or a promote) passed; any failure once the traffic moved aborts. */
  async #steps(run: Run): Promise<void> {
    try {
      for (const weight of this.strategy.steps) {
        if (this.#ctx.control.promoted) break;
        // Opened before the weights move: an access log that cannot be read fails with the traffic untouched.
        const window = this.strategy.analysis ? await openWindow(this.strategy.analysis, this.s.host, run.endpoint) : undefined;
        await this.#setWeight(run, weight);
        if ((await this.#holdAndJudge(run, window)) === 'promoted') break;
      }
      // Promoted: straight to 100, the remaining steps, pauses and analyses skipped.
      if (run.weight < 100) await this.#setWeight(run, 100);
    } catch (error) {
      if (run.weight === 0) {
        // The first weights were never applied: the traffic did not move.
        await this.#blueGreen.stopQuietly(run.idle);
        if (error instanceof DeploymentCancelled) throw error;
        throw new DeployFailure(`${(error as Error).message}; ${this.#untouched(run.live)}`);
      }
      const reason = error instanceof CanaryFailed ? error.message : error instanceof DeploymentCancelled ? `cancelled at ${run.weight}%` : `${(error as Error).message} (at ${run.weight}%)`;
      await this.#abort(run, reason);
      if (error instanceof DeploymentCancelled) throw error;
      const health = await this.slots.check(run.live.slot, { report: false, once: true });
      throw new RolledBackError(reason, run.live.release?.commit ?? null, health.ok ? 'healthy' : 'down');
    }
  }

  /** The proxy's weights: the canary `weight`, the live slot the rest (left out at 100). */
  async #setWeight(run: Run, weight: number): Promise<void> {
    const { idle, release, live } = run;
    const step = canaryStepName(weight);
    const to = `slot ${idle.name} (port ${idle.port}, ${shortVersion(release.commit)}) through ${run.proxy.description}`;
    await this.s.step(
      step,
      weight < 100
        ? `Sending ${weight}% of the traffic to ${to}`
        : this.#ctx.control.promoted
          ? `Promoted: switching all the traffic to ${to}, the remaining steps, pauses and analyses skipped`
          : `Switching all the traffic to ${to}`,
    );
    await this.s.touch();
    try {
      await run.proxy.apply([this.#upstream(live.slot, live.release, 100 - weight), this.#upstream(idle, release, weight)]);
    } catch (error) {
      throw new Error(`setting the canary's weight to ${weight}% failed: ${(error as Error).message}`);
    }
    run.weight = weight;
    if (weight === 100) await this.slots.recordLive(idle, release.path);
    await this.#ctx.reporter.traffic(
      [this.#share(live.slot, live.release, 100 - weight), this.#share(idle, release, weight)],
      weight === 100
        ? `Slot ${idle.name} (port ${idle.port}) takes all the traffic: ${shortVersion(release.commit)}; slot ${live.slot.name} (${label(live.release)}) takes none`
        : `Slot ${idle.name} (port ${idle.port}, ${shortVersion(release.commit)}) takes ${weight}% of the traffic, slot ${live.slot.name} (${label(live.release)}) ${100 - weight}%`,
    );
  }

  /**
   * The step held (its pause, or until promoted), measured every interval while held (a failure
   * ends the hold and aborts), then judged; inconclusive holds it for a person.
   */
  async #holdAndJudge(run: Run, window: AnalysisWindow | undefined): Promise<'pass' | 'promoted'> {
    const { weight } = run;
    const pauseMs = this.strategy.pauseSeconds === null ? null : this.strategy.pauseSeconds * 1000;
    const at = `Canary at ${weight}% on slot ${run.idle.name} (${shortVersion(run.release.commit)})`;
    const held = await this.#watched(run, window, pauseMs === null ? at : `${at}, held for ${seconds(pauseMs)}`, pauseMs);
    if (held === 'promoted') return 'promoted';

    await this.s.step(`analysis_${weight}`, `Judging the canary at ${weight}%: its health check${window ? ' and its error rate over the step' : ''}`);
    const judged = await this.#judge(run, window, true);
    if (judged.verdict === 'fail') throw new CanaryFailed(judged.reason);
    if (judged.verdict === 'pass') {
      await this.s.log(judged.reason);
      return 'pass';
    }
    await this.s.log(judged.reason);
    const decided = await this.#watched(run, window, `${judged.reason}: resume to go on, promote to go to 100%, cancel to abort`, null);
    if (decided === 'promoted') return 'promoted';
    await this.s.log(`Resumed at ${weight}% without a verdict: the canary goes on`);
    return 'pass';
  }

  /** A hold during which the window is measured every interval: a failure ends it and throws. */
  async #watched(run: Run, window: AnalysisWindow | undefined, message: string, ms: number | null): Promise<'elapsed' | 'resumed' | 'promoted'> {
    const failed = new AbortController();
    const done = new AbortController();
    let failure: string | undefined;
    const intervalMs = (this.strategy.analysis?.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS) * 1000;
    const signal = AbortSignal.any([done.signal, this.#ctx.signal]);
    const seen = new Set<string>();
    const watcher = (async () => {
      while (!signal.aborted) {
        await abortableSleep(intervalMs, signal);
        if (signal.aborted) return;
        try {
          const judged = await this.#judge(run, window, false);
          if (judged.verdict === 'fail' && !signal.aborted) {
            failure = judged.reason;
            failed.abort(judged.reason);
            return;
          }
        } catch (error) {
          if (signal.aborted) return;
          // Said once: the next measure may read it, and the step's end judges in any case.
          const why = `canary analysis could not measure at ${run.weight}%: ${(error as Error).message}`;
          if (!seen.has(why)) await this.s.log(why);
          seen.add(why);
        }
      }
    })();
    let outcome;
    try {
      outcome = await this.#ctx.control.hold(message, ms, { until: failed.signal });
    } finally {
      done.abort();
      await watcher;
    }
    if (outcome === 'ended' || failure !== undefined) throw new CanaryFailed(failure ?? 'the canary failed while held');
    return outcome;
  }

  /**
   * The canary's health check, then its error rate since the window opened. `final`: the step's
   * end, where a source that cannot be read is inconclusive (silence never passes); while held
   * it only throws.
   */
  async #judge(run: Run, window: AnalysisWindow | undefined, final: boolean): Promise<Judgement> {
    const { idle, weight } = run;
    let health = await this.slots.check(idle, { report: false, once: true });
    // One failed attempt is confirmed by the whole check (its retries) before it aborts.
    if (!health.ok && !this.#ctx.signal.aborted) health = await this.slots.check(idle, { report: false });
    if (this.#ctx.signal.aborted) throw new DeploymentCancelled();
    const none = { requests: 0, errors: null, errorRate: null, source: window ? this.strategy.analysis!.source.type : 'health check' };
    if (!health.ok) return { ...none, verdict: 'fail', reason: `canary health check failed at ${weight}%: ${health.message}` };
    if (!window) return { ...none, verdict: 'pass', reason: `Canary healthy at ${weight}% (${health.message})` };
    const analysis = this.strategy.analysis!;
    let measured;
    try {
      measured = await window.measure(this.#ctx.signal);
    } catch (error) {
      if (!final) throw error;
      return { ...none, verdict: 'inconclusive', reason: `canary analysis inconclusive at ${weight}%: ${(error as Error).message}` };
    }
    const judged = judge(measured, { maxErrorRate: analysis.maxErrorRate, minRequests: analysis.minRequests });
    const counted = judged.errors === null ? `${judged.requests} requests` : `${judged.errors} of ${judged.requests} requests`;
    const rate = judged.errorRate === null ? 'no error rate' : `canary error rate ${percent(judged.errorRate)} (${counted})`;
    switch (judged.verdict) {
      case 'fail':
        return { ...judged, reason: `${rate} over max ${percent(analysis.maxErrorRate)} at ${weight}%` };
      case 'pass':
        return { ...judged, reason: `Canary at ${weight}%: ${rate} within max ${percent(analysis.maxErrorRate)} (${judged.source})` };
      default:
        return {
          ...judged,
          reason:
            judged.requests < analysis.minRequests
              ? `canary analysis inconclusive at ${weight}%: ${judged.requests} request${judged.requests === 1 ? '' : 's'} to the canary, fewer than the ${analysis.minRequests} needed`
              : `canary analysis inconclusive at ${weight}%: ${judged.requests} requests, ${rate}`,
        };
    }
  }

  /** The live slot takes all the traffic again, the canary drains and stops. */
  async #abort(run: Run, reason: string): Promise<void> {
    const { idle, live, proxy } = run;
    await this.#ctx.reporter.step('rollback', 99, `${reason}: the traffic goes back to slot ${live.slot.name} (port ${live.slot.port}, ${label(live.release)})`);
    const started = Date.now();
    try {
      await this.s.touch();
      await proxy.apply([this.#upstream(live.slot, live.release, 100), this.#upstream(idle, run.release, 0)]);
      if (live.release) await this.slots.recordLive(live.slot, live.release.path);
    } catch (error) {
      throw new DeployFailure(`${reason}; putting the traffic back on slot ${live.slot.name} failed too: ${(error as Error).message}`, 'degraded', null);
    }
    await this.#ctx.reporter.traffic(
      [this.#share(live.slot, live.release, 100), this.#share(idle, run.release, 0)],
      `Slot ${live.slot.name} (port ${live.slot.port}) takes all the traffic again, in ${((Date.now() - started) / 1000).toFixed(1)} s: ${label(live.release)}`,
    );
    run.weight = 0;
    // The canary still answers what it was sent before the weights went back.
    await proxy.drain(this.strategy.drainSeconds * 1000);
    await this.#blueGreen.stopQuietly(idle);
  }

  /** Past its last step the deployment stands: the old slot drains and stops (or stays: keep_previous). */
  async #finish(run: Run): Promise<DeployOutcome> {
    const { idle, release, live, proxy } = run;
    await this.#blueGreen.retire(live, proxy);
    return {
      version: release.commit,
      health: 'healthy',
      details: { release: release.path, slot: idle.name, port: idle.port, previousSlot: live.slot.name },
    };
  }

  async #untouchedOnFailure(idle: SlotConfig, phase: () => Promise<void>): Promise<void> {
    try {
      await phase();
    } catch (error) {
      await this.#blueGreen.stopQuietly(idle);
      throw error;
    }
  }


  #untouched(live: Live): string {
    return `the traffic stays on slot ${live.slot.name} (${label(live.release)})`;
  }

  #upstream(slot: SlotConfig, release: Release | null, weight: number): Upstream {
    return { slot: slot.name, host: '127.0.0.1', port: slot.port, weight, version: release?.commit ?? null };
  }

  #share(slot: SlotConfig, release: Release | null, weight: number): TrafficShare {
    return { slot: slot.name, port: slot.port, version: release?.commit ?? null, weight };
  }
}
