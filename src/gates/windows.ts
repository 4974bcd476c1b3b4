import type { DeployWindow } from '../config/types.js';
import { WEEKDAY_NAMES, ZoneClock } from './zone-clock.js';

/*
 * Deploy windows: whether an instant is inside one, and when that next changes.
 *
 * "Inside" is read on the wall clock of the window's zone: a window from 09:00 opens at 08:00Z
 * in Paris in winter and 07:00Z in summer, and on the spring-forward night a window from 02:30
 * is open from the instant the clocks jump to 03:00 (the wall clock then reads past 02:30). A
 * window whose `to` is not after its `from` runs past midnight, into the day after one of its
 * `days`.
 *
 * The next change is searched among the instants where the answer can change: the wall clock
 * reaching a window's from or to on each day (each instant that reading happens: none in a gap,
 * two in a repeated hour) and the zone's offset changes. croner's next run is not used: in a gap
 * it answers the reading shifted by the gap (03:30 for 02:30) and in a repeated hour its second
 * occurrence, later than the wall clock first shows the window open.
 */

const DAY_MS = 86_400_000;
/** Weekly windows change at least once a week when they change at all; a day more for the zones' offsets. */
const SEARCH_DAYS = 8;

/** Minutes since local midnight of "HH:MM" (24:00 → 1440). */
export function minutesOf(time: string): number {
  const [hours, minutes] = time.split(':').map(Number);
  return (hours ?? 0) * 60 + (minutes ?? 0);
}

export function isInside(window: DeployWindow, instant: number): boolean {
  const wall = new ZoneClock(window.timezone).wall(instant);
  const minute = (wall.naive - Date.UTC(wall.year, wall.month - 1, wall.day)) / 60_000;
  const from = minutesOf(window.from);
  const to = minutesOf(window.to);
  const today = window.days.includes(wall.weekday);
  if (from < to) return today && minute >= from && minute < to;
  const yesterday = window.days.includes(wall.weekday === 1 ? 7 : wall.weekday - 1);
  return (today && minute >= from) || (yesterday && minute < to);
}

/** The first window inside at `instant`, if any. */
export function windowAt(windows: readonly DeployWindow[], instant: number): DeployWindow | undefined {
  return windows.find((window) => isInside(window, instant));
}

/**
 * The first instant after `now` at which being inside some window becomes `inside` (true: the
 * next opening; false: the next closing of all of them). null: not within a week (a window
 * open all week never closes).
 */
export function nextChange(windows: readonly DeployWindow[], now: number, inside: boolean): number | null {
  const candidates = new Set<number>();
  const zones = new Set<string>();
  for (const window of windows) {
    const clock = new ZoneClock(window.timezone);
    if (!zones.has(window.timezone)) {
      zones.add(window.timezone);
      for (const instant of clock.transitions(now - 2 * DAY_MS, now + (SEARCH_DAYS + 2) * DAY_MS)) candidates.add(instant);
    }
    const today = clock.wall(now);
    for (let day = -1; day <= SEARCH_DAYS; day++) {
      for (const time of [window.from, window.to]) {
        const naive = Date.UTC(today.year, today.month - 1, today.day + day) + minutesOf(time) * 60_000;
        for (const instant of clock.instantsOf(naive)) candidates.add(instant);
      }
    }
  }
  const sorted = [...candidates].filter((instant) => instant > now).sort((a, b) => a - b);
  return sorted.find((instant) => (windowAt(windows, instant) !== undefined) === inside) ?? null;
}

/** "mon-fri", "sat,sun", "mon,wed-fri", "daily". */
export function describeDays(days: readonly number[]): string {
  const set = [...new Set(days)].sort((a, b) => a - b);
  if (set.length === 7) return 'daily';
  const runs: string[] = [];
  for (let i = 0; i < set.length; ) {
    let j = i;
    while (j + 1 < set.length && set[j + 1] === set[j]! + 1) j++;
    const name = (day: number) => WEEKDAY_NAMES[day]!.toLowerCase();
    runs.push(j - i >= 2 ? `${name(set[i]!)}-${name(set[j]!)}` : set.slice(i, j + 1).map(name).join(','));
    i = j + 1;
  }
  return runs.join(',');
}

/** "mon-fri 09:00-17:00 Europe/Paris" */
export function describeWindow(window: DeployWindow): string {
  return `${describeDays(window.days)} ${window.from}-${window.to} ${window.timezone}`;
}

/** "Mon 09:00 Europe/Paris": the wall clock of `zone` at `instant`. */
export function describeWallTime(instant: number, zone: string): string {
  const wall = new ZoneClock(zone).wall(instant);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${WEEKDAY_NAMES[wall.weekday]} ${pad(wall.hour)}:${pad(wall.minute)} ${zone}`;
}
