import type { TargetView } from '../client/views.js';
import { shortVersion as shortRef } from '../../git/refs.js';
import type { Colors } from './terminal.js';
import { CONTROL } from './table.js';

/* Small pieces of text several commands print the same way. */

/** Where a target runs, as the PRD's list shows it: its host or its region. */
export function targetDetail(target: TargetView): string | undefined {
  const config = target.config ?? {};
  for (const key of ['host', 'region']) {
    const value = config[key];
    if (typeof value === 'string' && value) return value;
  }
  return undefined;
}

/** "scaleway (fr-par)", "bare-metal" */
export function targetLabel(target: TargetView): string {
  const detail = targetDetail(target);
  return detail ? `${target.provider} (${detail})` : target.provider;
}

/** "scaleway/fr-par", "bare-metal": the deploy output's form. */
export function targetPath(target: TargetView): string {
  const detail = targetDetail(target);
  return detail ? `${target.provider}/${detail}` : target.provider;
}

/** Commit ids shortened to 12 characters; other versions (tags, numbers) as they are. */
export function shortVersion(version: string | null | undefined): string {
  return version ? shortRef(version) : '-';
}

/** Text from outside (commit messages, errors) with control characters removed. */
export function clean(text: string): string {
  return text.replace(CONTROL, ' ');
}

const GOOD = new Set(['SUCCESS', 'HEALTHY', 'accepted', 'DELIVERED']);
const BAD = new Set(['FAILED', 'ROLLED_BACK', 'DOWN', 'refused', 'failed', 'DISABLED', 'DROPPED']);
const BUSY = new Set(['IN_PROGRESS', 'PAUSED', 'PENDING', 'WAITING', 'DEGRADED', 'RETRY']);

/** A status coloured by what it means (nothing changes without colour). */
export function statusColor(color: Colors, status: string): (text: string) => string {
  if (GOOD.has(status)) return color.green;
  if (BAD.has(status)) return color.red;
  if (BUSY.has(status)) return color.yellow;
  return color.dim;
}
