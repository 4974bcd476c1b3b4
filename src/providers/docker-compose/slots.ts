import type { HealthCheckConfig, SlotConfig } from '../../config/types.js';
import { slotVariables } from '../../strategies/slots.js';
import type { Release, ReleaseSession } from '../release/session.js';
import { ReleaseSlots, UNDO_TIMEOUT_MS } from '../release/slots.js';
import { compose, type ComposeCli, type ComposeFiles, upCommand } from './commands.js';

/*
 * Slots on Compose: each slot is a project of its own, `<project>-<slot>`, started from the
 * slot's release with FRAISIER_SLOT and FRAISIER_PORT in the environment, so the Compose file
 * publishes the slot's port with `${FRAISIER_PORT}`. The images are the release's, built once
 * whatever slot runs them.
 */

/** What the slots need of the Compose target and its session. */
export interface ComposeSlotTarget {
  readonly cli: ComposeCli;
  /** The configured service (none: every service of the file). */
  readonly service: string | undefined;
  /** The Compose files of a release, under `project`. */
  files(releasePath: string, project: string): Promise<ComposeFiles>;
  /** The project of the environment; a slot's is `<project>-<slot>`. */
  readonly project: string;
  /** Whether every container of `files`' project runs. */
  running(files: ComposeFiles, env: Record<string, string>): Promise<boolean>;
}

export function slotProject(project: string, slot: string): string {
  return `${project}-${slot}`;
}

export class ComposeSlots extends ReleaseSlots {
  constructor(
    s: ReleaseSession,
    private readonly target: ComposeSlotTarget,
    health: HealthCheckConfig,
    healthHost: string,
  ) {
    super(s, health, healthHost);
  }

  async running(slot: SlotConfig): Promise<boolean> {
    const files = await this.#files(slot);
    return files ? this.target.running(files, { ...this.s.env, ...slotVariables(slot) }) : false;
  }

  async start(slot: SlotConfig, release: Release): Promise<void> {
    await this.pointSlot(slot, release);
    const files = await this.target.files(release.path, slotProject(this.target.project, slot.name));
    await this.s.streamLines(upCommand(this.target.cli, files, this.target.service), release.path, { env: slotVariables(slot) });
  }

  async stop(slot: SlotConfig): Promise<void> {
    const files = await this.#files(slot);
    if (!files) return;
    await this.s.host.run(compose(this.target.cli, files, 'down'), { cwd: this.s.layout.appPath, env: { ...this.s.env, ...slotVariables(slot) }, timeoutMs: UNDO_TIMEOUT_MS });
  }

  /** The Compose files of the release `slot` runs, under its project (null: never started). */
  async #files(slot: SlotConfig): Promise<ComposeFiles | null> {
    const release = await this.slotRelease(slot);
    return release ? this.target.files(release.path, slotProject(this.target.project, slot.name)) : null;
  }
}
