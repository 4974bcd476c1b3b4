import type { HealthCheckConfig, SlotConfig, SlotStrategy } from '../../config/types.js';
import { checkHealth } from '../../deploy/health-check.js';
import { liveLink, pointLink, slotHealth, slotLink, type SlotRuntime, slotsDirectory } from '../../strategies/slots.js';
import type { HostShell } from '../host.js';
import { DeploymentCancelled } from '../provider.js';
import { type Layout, readLink, switchCurrent } from './layout.js';
import { type Release, releaseCommit, type ReleaseSession } from './session.js';

/*
 * What slots share on a host that keeps releases (bare metal, Compose): slots/<slot> points at
 * the release a slot runs, slots/live names the slot taking the traffic (and `current` follows
 * it), and a slot is checked with the environment's health check on its own port. Starting and
 * stopping one is the target's (a systemd unit or commands; a Compose project per slot).
 */

/** Stopping, and the short file operations of a switch back: not bound to the deployment's deadline. */
export const UNDO_TIMEOUT_MS = 120_000;

export abstract class ReleaseSlots implements SlotRuntime {
  constructor(
    protected readonly s: ReleaseSession,
    private readonly health: HealthCheckConfig,
    private readonly healthHost: string,
  ) {}

  abstract running(slot: SlotConfig): Promise<boolean>;
  abstract start(slot: SlotConfig, release: Release): Promise<void>;
  abstract stop(slot: SlotConfig): Promise<void>;

  async liveSlot(): Promise<string | null> {
    return this.readLink(liveLink(this.s.layout));
  }

  async slotRelease(slot: SlotConfig): Promise<Release | null> {
    const path = await this.readLink(slotLink(this.s.layout, slot.name));
    const commit = path ? releaseCommit(path) : null;
    return path && commit ? { commit, path } : null;
  }

  async recordLive(slot: SlotConfig, release: string): Promise<void> {
    const { layout } = this.s;
    for (const command of [...pointLink(liveLink(layout), slot.name), ...switchCurrent(layout, release)]) {
      await this.s.host.run(command, { timeoutMs: UNDO_TIMEOUT_MS });
    }
  }

  async check(slot: SlotConfig, options: { report: boolean; once?: boolean }): Promise<{ ok: boolean; message: string }> {
    const config = slotHealth(this.health, slot);
    return checkHealth(options.once ? { ...config, retries: 1 } : config, {
      host: this.s.host,
      defaultHost: this.healthHost,
      signal: this.s.ctx.signal,
      ...(options.report ? { onAttempt: (attempt, message) => void this.s.log(`attempt ${attempt}: ${message}`) } : {}),
    });
  }

  /** slots/<slot> pointed at `release` (a change of the target: within the deployment). */
  protected async pointSlot(slot: SlotConfig, release: Release): Promise<void> {
    const { layout } = this.s;
    await this.s.run(['mkdir', '-p', '--', slotsDirectory(layout)]);
    for (const command of pointLink(slotLink(layout, slot.name), release.path)) await this.s.run(command);
  }

  protected async readLink(path: string): Promise<string | null> {
    try {
      return (await this.s.host.run(readLink(path), { timeoutMs: UNDO_TIMEOUT_MS })).stdout.trim() || null;
    } catch (error) {
      if (error instanceof DeploymentCancelled) throw error;
      return null;
    }
  }
}

/** The slot slots/live names on `host`, or null (no blue-green deployment ran there yet). */
export async function liveSlotOn(host: HostShell, layout: Layout, strategy: SlotStrategy): Promise<SlotConfig | null> {
  const name = await host.run(readLink(liveLink(layout)), { timeoutMs: 30_000 }).then(
    (result) => result.stdout.trim(),
    () => null,
  );
  return strategy.slots.find((slot) => slot.name === name) ?? null;
}
