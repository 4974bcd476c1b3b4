/*
 * When to try again: exponential backoff with full jitter (a random delay between 0 and
 * initial·2^(n-1), capped), so that many notifications failing together do not come back
 * together. A service's Retry-After (or Discord's retry_after) wins over the schedule.
 */

export interface BackoffSettings {
  initialMs: number;
  maxMs: number;
}

/** The delay before attempt `failed + 1`, after `failed` failed attempts (1, 2, ...). */
export function backoffMs(failed: number, settings: BackoffSettings, random: () => number): number {
  const ceiling = Math.min(settings.maxMs, settings.initialMs * 2 ** Math.min(Math.max(0, failed - 1), 40));
  return Math.floor(random() * ceiling);
}
