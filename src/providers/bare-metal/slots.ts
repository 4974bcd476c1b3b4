import type { HealthCheckConfig, SlotConfig, SlotStrategy } from '../../config/types.js';
import { slotEnvContent, slotEnvFile, slotLink, slotsDirectory, slotVariables } from '../../strategies/slots.js';
import type { HostShell } from '../host.js';
import { isDirectory, type Layout } from '../release/layout.js';
import type { Release, ReleaseSession } from '../release/session.js';
import { liveSlotOn, ReleaseSlots, UNDO_TIMEOUT_MS } from '../release/slots.js';
import { writeFile } from '../release/version-file.js';
import type { SlotCommands } from './commands.js';

/*
 * Slots on a bare-metal host: slots/<slot> points at the release a slot runs, slots/<slot>.env
 * holds its variables (a systemd template unit reads them: EnvironmentFile=), and the slot runs
 * as `<systemd_service>@<slot>.service` or through the environment's commands, which get
 * FRAISIER_SLOT and FRAISIER_PORT. slots/live names the slot taking the traffic.
 */

export class BareMetalSlots extends ReleaseSlots {
  constructor(
    s: ReleaseSession,
    private readonly commands: SlotCommands,
    health: HealthCheckConfig,
    healthHost: string,
  ) {
    super(s, health, healthHost);
  }

  async running(slot: SlotConfig): Promise<boolean> {
    const status = this.commands.status?.(slot.name);
    if (!status) return false;
    return this.s.succeeds(status, { cwd: slotLink(this.s.layout, slot.name), env: slotVariables(slot) });
  }

  async start(slot: SlotConfig, release: Release): Promise<void> {
    await this.s.run(['mkdir', '-p', '--', slotsDirectory(this.s.layout)]);
    await this.s.run(writeFile(slotEnvFile(this.s.layout, slot.name)), { input: slotEnvContent(slot) });
    await this.pointSlot(slot, release);
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
}

/** What `fraisier stop|start|logs` do to an environment under blue-green: the slots, each told its variables. */
export async function slotAction(host: HostShell, layout: Layout, strategy: SlotStrategy, commands: SlotCommands, action: 'start' | 'stop'): Promise<void> {
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
