import type { HealthCheckConfig } from '../config/types.js';
import { abortableSleep } from './health-check.js';

/*
 * The watch window (`health_check.watch`): after the cutover the new release is checked once
 * every interval for the window's length; `failures` failed checks in a row end it. Both
 * strategies use this one watcher: blue-green switches the traffic back, recreate puts the
 * previous release back; what to do about a failure is the caller's.
 */

export type WatchConfig = NonNullable<HealthCheckConfig['watch']>;

export type WatchResult =
  | { kind: 'passed'; checks: number; elapsedMs: number }
  | { kind: 'failed'; reason: string; elapsedMs: number }
  | { kind: 'cancelled'; elapsedMs: number };

export interface WatchOptions {
  watch: WatchConfig;
  /** One health check of what is watched (one attempt, no retries). */
  check: () => Promise<{ ok: boolean; message: string }>;
  signal: AbortSignal;
  /** What is watched, for messages ("slot green", "the service"). */
  subject: string;
  log: (message: string) => Promise<void>;
  /** Appended to the "Watch passed" message (the version watched). */
  version?: string;
}

export const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/** What the `watch` step announces; `undo`: what a failure does, after one check and after several ("switches"/"switch the traffic back"). */
export function watchMessage(subject: string, watch: WatchConfig, undo: { one: string; many: string }): string {
  const failing = watch.failures === 1 ? `a failed check ${undo.one}` : `${watch.failures} failed checks in a row ${undo.many}`;
  return `Watching ${subject} for ${seconds(watch.seconds * 1000)} (a check every ${watch.intervalSeconds} s; ${failing})`;
}

export async function watchWindow(options: WatchOptions): Promise<WatchResult> {
  const { watch, signal, subject } = options;
  const started = Date.now();
  const end = started + watch.seconds * 1000;
  let failures = 0;
  let checks = 0;
  while (Date.now() < end) {
    await abortableSleep(Math.min(Math.max(50, watch.intervalSeconds * 1000), end - Date.now()), signal);
    if (signal.aborted) return { kind: 'cancelled', elapsedMs: Date.now() - started };
    const result = await options.check();
    if (signal.aborted) return { kind: 'cancelled', elapsedMs: Date.now() - started };
    checks += 1;
    if (result.ok) {
      failures = 0;
      continue;
    }
    failures += 1;
    await options.log(`watch: ${subject} failed its health check (${failures}/${watch.failures}): ${result.message}`);
    if (failures >= watch.failures) {
      const elapsedMs = Date.now() - started;
      return { kind: 'failed', reason: `failed in the watch window after ${seconds(elapsedMs)}: ${result.message}`, elapsedMs };
    }
  }
  const elapsedMs = Date.now() - started;
  await options.log(`Watch passed: ${subject} healthy for ${seconds(elapsedMs)} (${checks} check${checks === 1 ? '' : 's'})${options.version ? `: ${options.version}` : ''}`);
  return { kind: 'passed', checks, elapsedMs };
}
