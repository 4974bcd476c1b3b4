import type { BlueGreenStrategy, HealthCheckConfig, SlotConfig } from '../../config/types.js';
import { checkHealth } from '../../deploy/health-check.js';
import { liveLink, pointLink, slotEnvContent, slotEnvFile, slotHealth, slotLink, type SlotRuntime, slotsDirectory, slotVariables } from '../../strategies/slots.js';
import { DeploymentCancelled } from '../provider.js';
import type { HostShell } from '../host.js';
import { isDirectory, type Layout, readLink, switchCurrent } from '../release/layout.js';
import { type Release, releaseCommit, type ReleaseSession } from '../release/session.js';
import { writeFile } from '../release/version-file.js';
import type { SlotCommands } from './commands.js';

/*
 * Slots on a bare-metal host: slots/<slot> points at the release a slot runs, slots/<slot>.env
 * holds its variables (a systemd template unit reads them: EnvironmentFile=), and the slot runs
 * as `<systemd_service>@<slot>.service` or through the environment's commands, which get
 * FRAISIER_SLOT and FRAISIER_PORT. slots/live names the slot taking the traffic.
 */

/** Stopping, and the short file operations of a switch back: not bound to the deployment's deadline. */
const UNDO_TIMEOUT_MS = 120_000;

export class BareMetalSlots implements SlotRuntime {
  constructor(
    private readonly s: ReleaseSession,
    private readonly commands: SlotCommands,
    private readonly health: HealthCheckConfig,
    private readonly healthHost: string,
  ) {}

  async liveSlot(): Promise<string | null> {
    return this.#readLink(liveLink(this.s.layout));
  }

  async slotRelease(slot: SlotConfig): Promise<Release | null> {
    const path = await this.#readLink(slotLink(this.s.layout, slot.name));
    const commit = path ? releaseCommit(path) : null;
    return path && commit ? { commit, path } : null;
  }

  async running(slot: SlotConfig): Promise<boolean> {
    const status = this.commands.status?.(slot.name);
    if (!status) return false;
    return this.s.succeeds(status, { cwd: slotLink(this.s.layout, slot.name), env: slotVariables(slot) });
  }

  async start(slot: SlotConfig, release: Release): Promise<void> {
    const { layout } = this.s;
    await this.s.run(['mkdir', '-p', '--', slotsDirectory(layout)]);
    await this.s.run(writeFile(slotEnvFile(layout, slot.name)), { input: slotEnvContent(slot) });
    for (const command of pointLink(slotLink(layout, slot.name), release.path)) await this.s.run(command);
    await this.s.run(this.commands.restart(slot.name), { cwd: release.path, env: { ...slotVariables(slot), FRAISIER_COMMIT: release.commit } });
  }

  async stop(slot: SlotConfig): Promise<void> {
    // In the slot's tree, where a relative command (./bin/stop) is.
    await this.s.host.run(this.commands.stop(slot.name), {
      cwd: slotLink(this.s.layout, slot.name),
      env: { ...this.s.env, ...slotVariables(slot) },
      timeoutMs: UNDO_TIMEOUT_MS,
    });
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

  async #readLink(path: string): Promise<string | null> {
    try {
      return (await this.s.host.run(readLink(path), { timeoutMs: UNDO_TIMEOUT_MS })).stdout.trim() || null;
    } catch (error) {
      if (error instanceof DeploymentCancelled) throw error;
      return null;
    }
  }
}

/** The slot slots/live names on `host`, or null (no blue-green deployment ran there yet). */
export async function liveSlotOn(host: HostShell, layout: Layout, strategy: BlueGreenStrategy): Promise<SlotConfig | null> {
  const name = await host.run(readLink(liveLink(layout)), { timeoutMs: 30_000 }).then(
    (result) => result.stdout.trim(),
    () => null,
  );
  return strategy.slots.find((slot) => slot.name === name) ?? null;
}

/** What `fraisier stop|start|logs` do to an environment under blue-green: the slots, each told its variables. */
export async function slotAction(host: HostShell, layout: Layout, strategy: BlueGreenStrategy, commands: SlotCommands, action: 'start' | 'stop'): Promise<void> {
  const live = await liveSlotOn(host, layout, strategy);
  // Stop: both (a kept-warm slot too); start: the one taking the traffic.
  const slots = action === 'stop' ? strategy.slots : live ? [live] : [];
  if (slots.length === 0) throw new Error('no slot takes the traffic yet: deploy first');
  for (const slot of slots) {
    const cwd = slotLink(layout, slot.name);
    // A slot never started has nothing to stop (and no tree to run its command in).
    if (action === 'stop' && !(await host.run(isDirectory(cwd), { timeoutMs: 30_000 }).then(() => true, () => false))) continue;
    await host.run(action === 'stop' ? commands.stop(slot.name) : commands.restart(slot.name), { cwd, env: slotVariables(slot), timeoutMs: UNDO_TIMEOUT_MS });
  }
}
