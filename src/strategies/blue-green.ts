import type { BlueGreenStrategy, SlotConfig } from '../config/types.js';
import { seconds, watchMessage, watchWindow } from '../deploy/watch-window.js';
import { shortVersion } from '../git/refs.js';
import type { TrafficShare } from '../model.js';
import type { HostShell } from '../providers/host.js';
import { type DeployContext, DeployFailure, DeploymentCancelled, type DeployOutcome, RolledBackError } from '../providers/provider.js';
import type { Release } from '../providers/release/session.js';
import { createProxy, type ProxyDeps, type TrafficProxy, type Upstream } from './proxy/proxy.js';
import { otherSlot, type SlotRuntime } from './slots.js';

/*
 * Blue-green: the new release starts in the idle slot while the live one keeps serving, is
 * checked on its own port, then the proxy sends it the traffic. The health check keeps watching
 * it for `health_check.watch` (the old slot still running): a failure there switches the traffic
 * back. Then the old slot drains and stops (or keeps running: keep_previous). A failure before
 * the switch leaves the traffic where it was and stops the new slot.
 */

/** What the strategy needs of the deployment's session (ReleaseSession has it all). */
export interface StrategySession {
  readonly ctx: DeployContext;
  readonly host: HostShell;
  /** Variables every command of the deployment sees. */
  readonly env: Record<string, string>;
  /** A step begins; `committed`: announced even after a cancel (past the point of no return). */
  step(name: string, message?: string, committed?: boolean): Promise<void>;
  log(message: string): Promise<void>;
  touch(): Promise<void>;
}

export interface Live {
  slot: SlotConfig;
  release: Release | null;
}

const label = (release: Release | null) => (release ? shortVersion(release.commit) : 'an unknown release');

export class BlueGreen {
  constructor(
    private readonly s: StrategySession,
    private readonly slots: SlotRuntime,
    private readonly strategy: BlueGreenStrategy,
    private readonly proxyFactory: (deps: ProxyDeps) => TrafficProxy = (deps) => createProxy(strategy.proxy, deps),
  ) {}

  /** A new release: started in the idle slot, checked, switched to, watched; the old slot drained and stopped. */
  async deploy(release: Release): Promise<DeployOutcome> {
    const live = await this.live();
    const idle = live ? otherSlot(this.strategy.slots, live.slot) : this.strategy.slots[0];
    if (!live) await this.s.log(`No slot takes the traffic yet: ${idle.name} (port ${idle.port}) gets it`);
    await this.startIn(idle, release, live);
    return this.#checkAndSwitch(idle, release, live);
  }

  /**
   * Back to `version`: when the idle slot still runs it (keep_previous), a switch back and
   * nothing started; otherwise `prepare` makes its release, which goes through the idle slot.
   */
  async rollback(version: string, prepare: () => Promise<Release>): Promise<DeployOutcome> {
    const live = await this.live();
    const idle = live ? otherSlot(this.strategy.slots, live.slot) : this.strategy.slots[0];
    const kept = await this.slots.slotRelease(idle);
    if (live && kept?.commit === version && (await this.slots.running(idle))) {
      await this.s.step('checkout', `Slot ${idle.name} (port ${idle.port}) still runs ${shortVersion(version)}: switching back to it, nothing to start`);
      return this.#checkAndSwitch(idle, kept, live);
    }
    const release = await prepare();
    await this.startIn(idle, release, live);
    return this.#checkAndSwitch(idle, release, live);
  }

  /** The slot taking the traffic (as the host records it) and its release, or null: none yet. */
  async live(): Promise<Live | null> {
    const name = await this.slots.liveSlot();
    const slot = this.strategy.slots.find((s) => s.name === name);
    if (!slot) return null;
    return { slot, release: await this.slots.slotRelease(slot) };
  }

  /** `release` started in the idle slot; on a failure (a cancel too) it is stopped and the traffic untouched. */
  async startIn(idle: SlotConfig, release: Release, live: Live | null): Promise<void> {
    await this.#beforeSwitch(idle, live, async () => {
      await this.s.ctx.control.checkpoint();
      await this.s.step('start', `Starting ${shortVersion(release.commit)} in slot ${idle.name} (port ${idle.port})`);
      await this.s.touch();
      try {
        await this.slots.start(idle, release);
      } catch (error) {
        if (error instanceof DeploymentCancelled) throw error;
        throw new DeployFailure(`starting slot ${idle.name} (port ${idle.port}) failed: ${(error as Error).message}; ${this.#untouched(live)}`);
      }
      await this.s.log(`Slot ${idle.name} started on port ${idle.port}: ${shortVersion(release.commit)}`);
    });
  }

  async #checkAndSwitch(idle: SlotConfig, release: Release, live: Live | null): Promise<DeployOutcome> {
    const proxy = this.proxyFactory({
      host: this.s.host,
      env: this.s.env,
      log: (message) => this.s.log(message),
      serving: live ? [this.#upstream(live.slot, live.release, 100)] : null,
      target: `${this.s.ctx.fraise.name}/${this.s.ctx.env.name}`,
    });
    await this.#beforeSwitch(idle, live, async () => {
      await this.s.ctx.control.checkpoint();
      await this.s.step('health_check', `Checking slot ${idle.name} on port ${idle.port}`);
      const result = await this.slots.check(idle, { report: true });
      if (this.s.ctx.signal.aborted) throw new DeploymentCancelled();
      if (!result.ok) throw new DeployFailure(`health check of slot ${idle.name} (port ${idle.port}) failed: ${result.message}; ${this.#untouched(live)}`);
      await this.s.log(`Slot ${idle.name} healthy on port ${idle.port} (${result.message}): ${shortVersion(release.commit)}`);
      await this.s.ctx.control.checkpoint();
      await this.s.step('switch', `Switching the traffic to slot ${idle.name} (port ${idle.port}, ${shortVersion(release.commit)}) through ${proxy.description}`);
      await this.s.touch();
      try {
        await proxy.apply(this.#upstreams(idle, release, live));
      } catch (error) {
        throw new DeployFailure(`switching the traffic to slot ${idle.name} failed: ${(error as Error).message}; ${this.#untouched(live)}`);
      }
    });
    await this.slots.recordLive(idle, release.path);
    await this.s.ctx.reporter.traffic(
      this.#shares(idle, release, live),
      `Slot ${idle.name} (port ${idle.port}) takes the traffic: ${shortVersion(release.commit)}${live ? `; slot ${live.slot.name} (${label(live.release)}) takes none` : ''}`,
    );

    await this.#watch(idle, release, live, proxy);

    if (!live) return this.#outcome(idle, release, null);
    // Past the watch window the deployment stands: a cancel from here on no longer undoes it.
    await this.retire(live, proxy);
    return this.#outcome(idle, release, live);
  }

  /** Runs what comes before the switch; on any failure (a cancel included) the new slot stops, the traffic untouched. */
  /** The old slot, once the new one stands: drained, then stopped (or kept warm: keep_previous). */
  async retire(live: Live, proxy: TrafficProxy): Promise<void> {
    await this.s.step('drain', `Draining slot ${live.slot.name} (port ${live.slot.port}) for up to ${seconds(this.strategy.drainSeconds * 1000)}`, true);
    const drainStarted = Date.now();
    const drained = await proxy.drain(this.strategy.drainSeconds * 1000);
    await this.s.log(
      drained === 'drained'
        ? `Slot ${live.slot.name} drained in ${((Date.now() - drainStarted) / 1000).toFixed(1)} s: the proxy's previous workers answered every request they had`
        : `Slot ${live.slot.name} drained (${seconds(Date.now() - drainStarted)})`,
    );
    if (this.strategy.keepPrevious) {
      await this.s.log(`Slot ${live.slot.name} keeps running ${label(live.release)} (keep_previous): a rollback to it is a switch back`);
    } else {
      await this.s.step('stop_previous', `Stopping slot ${live.slot.name} (port ${live.slot.port}, ${label(live.release)})`, true);
      try {
        await this.slots.stop(live.slot);
        await this.s.log(`Slot ${live.slot.name} stopped`);
      } catch (error) {
        await this.s.log(`could not stop slot ${live.slot.name}: ${(error as Error).message}; it still runs ${label(live.release)}, taking no traffic`);
      }
    }
  }

  async #beforeSwitch(idle: SlotConfig, live: Live | null, phase: () => Promise<void>): Promise<void> {
    try {
      await phase();
    } catch (error) {
      await this.stopQuietly(idle);
      throw error;
    }
  }

  /** The watch window (deploy/watch-window.ts): the new slot checked every interval; `failures` in a row switch the traffic back. */
  async #watch(idle: SlotConfig, release: Release, live: Live | null, proxy: TrafficProxy): Promise<void> {
    const watch = this.s.ctx.env.healthCheck?.watch;
    if (!watch) return;
    const started = Date.now();
    const subject = `slot ${idle.name}`;
    try {
      await this.s.ctx.control.checkpoint();
      await this.s.step('watch', watchMessage(subject, watch, { one: 'switches the traffic back', many: 'switch the traffic back' }));
    } catch (error) {
      // A cancel (or a pause ended by one) between the switch and the watch: the traffic goes back.
      if (live) await this.#switchBack(idle, live, proxy, 'cancelled before the watch window', started);
      throw error;
    }
    const result = await watchWindow({
      watch,
      subject,
      signal: this.s.ctx.signal,
      check: () => this.slots.check(idle, { report: false, once: true }),
      log: (message) => this.s.log(message),
      version: shortVersion(release.commit),
    });
    if (result.kind === 'passed') return;
    if (result.kind === 'cancelled') {
      if (live) await this.#switchBack(idle, live, proxy, 'cancelled in the watch window', started);
      throw new DeploymentCancelled();
    }
    // Nothing served before: the new slot keeps the traffic, failing.
    if (!live) throw new DeployFailure(`${result.reason}; no slot served before it, so slot ${idle.name} keeps the traffic`, 'down', null);
    await this.#switchBack(idle, live, proxy, result.reason, started);
    const health = await this.slots.check(live.slot, { report: false });
    throw new RolledBackError(result.reason, live.release?.commit ?? null, health.ok ? 'healthy' : 'down');
  }

  /** The traffic back to the slot that served before, the new slot stopped. */
  async #switchBack(idle: SlotConfig, live: Live, proxy: TrafficProxy, reason: string, since: number): Promise<void> {
    await this.s.ctx.reporter.step('rollback', 99, `${reason}: switching the traffic back to slot ${live.slot.name} (port ${live.slot.port}, ${label(live.release)})`);
    try {
      await this.s.touch();
      await proxy.revert();
      if (live.release) await this.slots.recordLive(live.slot, live.release.path);
    } catch (error) {
      throw new DeployFailure(`${reason}; switching the traffic back to slot ${live.slot.name} failed too: ${(error as Error).message}`, 'down', null);
    }
    await this.s.ctx.reporter.traffic(
      [this.#share(live.slot, live.release, 100), this.#share(idle, null, 0)],
      `Slot ${live.slot.name} (port ${live.slot.port}) takes the traffic again, ${seconds(Date.now() - since)} after the switch: ${label(live.release)}`,
    );
    // The failing slot still answers what it was sent before the switch back.
    await proxy.drain(this.strategy.drainSeconds * 1000);
    await this.stopQuietly(idle);
  }

  /** Stops a slot that takes no traffic; a failure to stop it is a line of the log, not an error. */
  async stopQuietly(slot: SlotConfig): Promise<void> {
    try {
      await this.slots.stop(slot);
      await this.s.log(`Slot ${slot.name} stopped`);
    } catch (error) {
      await this.s.log(`could not stop slot ${slot.name}: ${(error as Error).message}`);
    }
  }

  #untouched(live: Live | null): string {
    return live ? `the traffic stays on slot ${live.slot.name} (${label(live.release)})` : 'no slot takes the traffic yet';
  }

  #upstream(slot: SlotConfig, release: Release | null, weight: number): Upstream {
    return { slot: slot.name, host: '127.0.0.1', port: slot.port, weight, version: release?.commit ?? null };
  }

  #upstreams(idle: SlotConfig, release: Release, live: Live | null): Upstream[] {
    return [this.#upstream(idle, release, 100), ...(live ? [this.#upstream(live.slot, live.release, 0)] : [])];
  }

  #share(slot: SlotConfig, release: Release | null, weight: number): TrafficShare {
    return { slot: slot.name, port: slot.port, version: release?.commit ?? null, weight };
  }

  #shares(idle: SlotConfig, release: Release, live: Live | null): TrafficShare[] {
    return [this.#share(idle, release, 100), ...(live ? [this.#share(live.slot, live.release, 0)] : [])];
  }

  #outcome(idle: SlotConfig, release: Release, live: Live | null): DeployOutcome {
    return {
      version: release.commit,
      health: 'healthy',
      details: { release: release.path, slot: idle.name, port: idle.port, previousSlot: live?.slot.name ?? null },
    };
  }
}
