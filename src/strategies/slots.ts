import { posix } from 'node:path';
import type { Command, HealthCheckConfig, SlotConfig } from '../config/types.js';
import type { Layout } from '../providers/release/layout.js';
import type { Release } from '../providers/release/session.js';

/*
 * Slots: instances of the service side by side on one host, each on its own port, each running a
 * release. Under app_path, beside `current` (which follows the slot taking the traffic):
 *   slots/<slot>  -> the release the slot runs (a symlink, switched atomically)
 *   slots/<slot>.env  FRAISIER_SLOT and FRAISIER_PORT, for a systemd template unit's EnvironmentFile
 *   slots/live    -> <slot>: which slot takes the traffic (a symlink whose text is the slot's name),
 *                 so that a restarted Fraisier, or another instance, knows it
 * What starts and stops a slot depends on the target (systemd or commands on bare metal; a
 * Compose project per slot): each target implements SlotRuntime.
 */

export interface SlotRuntime {
  /** The slot the host records as taking the traffic, or null (none yet). */
  liveSlot(): Promise<string | null>;
  /** The release `slot` was last started on, or null. */
  slotRelease(slot: SlotConfig): Promise<Release | null>;
  /** Whether `slot` runs now (as its status command or unit says). */
  running(slot: SlotConfig): Promise<boolean>;
  /** Points `slot` at `release` and (re)starts it there. */
  start(slot: SlotConfig, release: Release): Promise<void>;
  /** Stops `slot`; outside the deployment's deadline and cancel (it also undoes). */
  stop(slot: SlotConfig): Promise<void>;
  /** Records `slot` as taking the traffic (and `current` as its release). */
  recordLive(slot: SlotConfig, release: string): Promise<void>;
  /** The environment's health check against `slot`'s port; `once`: one attempt (the watch window). */
  check(slot: SlotConfig, options: { report: boolean; once?: boolean }): Promise<{ ok: boolean; message: string }>;
}

export function slotsDirectory(layout: Layout): string {
  return posix.join(layout.appPath, 'slots');
}

export function slotLink(layout: Layout, slot: string): string {
  return posix.join(slotsDirectory(layout), slot);
}

export function slotEnvFile(layout: Layout, slot: string): string {
  return posix.join(slotsDirectory(layout), `${slot}.env`);
}

export function liveLink(layout: Layout): string {
  return posix.join(slotsDirectory(layout), 'live');
}

/** Points `link` at `target` atomically: a new link beside it, renamed over it. */
export function pointLink(link: string, target: string): Command[] {
  const next = `${link}.next`;
  return [
    ['ln', '-sfn', '--', target, next],
    ['mv', '-T', '--', next, link],
  ];
}

/** The variables a slot's commands (and its unit, through slots/<slot>.env) get. */
export function slotVariables(slot: SlotConfig): Record<string, string> {
  return { FRAISIER_SLOT: slot.name, FRAISIER_PORT: String(slot.port) };
}

/** slots/<slot>.env: what systemd's EnvironmentFile= reads. */
export function slotEnvContent(slot: SlotConfig): string {
  return `${Object.entries(slotVariables(slot)).map(([k, v]) => `${k}=${v}`).join('\n')}\n`;
}

/**
 * The environment's health check pointed at one slot: `{port}` in its url, or the slot's port
 * for a check built from path (HTTP) or host (TCP).
 */
export function slotHealth(config: HealthCheckConfig, slot: SlotConfig): HealthCheckConfig {
  const { watch: _watch, ...check } = config;
  if (check.url !== undefined) return { ...check, url: check.url.replaceAll('{port}', String(slot.port)) };
  return { ...check, port: slot.port };
}

/** The other slot of two. */
export function otherSlot(slots: readonly [SlotConfig, SlotConfig], slot: SlotConfig): SlotConfig {
  return slots[0].name === slot.name ? slots[1] : slots[0];
}
