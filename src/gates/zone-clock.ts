/*
 * Wall clocks in IANA time zones, from Intl alone (Node has no Temporal yet). A deploy window is
 * read on the wall clock of its zone, so a daylight-saving change moves the UTC instant of
 * "09:00" and the hour that does not exist (or happens twice) is whatever the clock shows.
 */

const DAY_MS = 86_400_000;

/** What a clock on the wall shows at one instant; `naive` is that reading as if it were UTC (ms). */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** ISO weekday: 1 = Monday … 7 = Sunday. */
  weekday: number;
  naive: number;
}

export const WEEKDAY_NAMES = ['', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;

/** Whether Intl knows this zone (an IANA name such as Europe/Paris, or UTC). */
export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export class ZoneClock {
  private readonly format: Intl.DateTimeFormat;

  constructor(readonly zone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** The wall clock at `instant` (ms since the epoch); sub-second precision is kept in `naive`. */
  wall(instant: number): WallTime {
    const parts: Record<string, number> = {};
    for (const part of this.format.formatToParts(new Date(instant))) {
      if (part.type !== 'literal') parts[part.type] = Number(part.value);
    }
    const { year = 0, month = 1, day = 1, minute = 0, second = 0 } = parts;
    // Some ICU versions print midnight as 24 even with h23.
    const hour = parts.hour === 24 ? 0 : (parts.hour ?? 0);
    const millis = ((instant % 1000) + 1000) % 1000;
    const naive = Date.UTC(year, month - 1, day, hour, minute, second, millis);
    const weekday = new Date(naive).getUTCDay() || 7;
    return { year, month, day, hour, minute, second, weekday, naive };
  }

  /** How far the wall clock is ahead of UTC at `instant`, in ms. */
  offset(instant: number): number {
    return this.wall(instant).naive - instant;
  }

  /**
   * Every instant whose wall clock reads `naive` (ms, a wall reading as if UTC): one normally,
   * none in a spring-forward gap, two in a fall-back hour (earlier first).
   */
  instantsOf(naive: number): number[] {
    const tried = new Set([this.offset(naive - DAY_MS), this.offset(naive), this.offset(naive + DAY_MS)]);
    const found = [...tried].map((offset) => naive - offset).filter((instant) => this.wall(instant).naive === naive);
    return [...new Set(found)].sort((a, b) => a - b);
  }

  /** The instants in [from, to) where the zone's offset changes (the first instant of the new offset). */
  transitions(from: number, to: number): number[] {
    // Zones change their offset months (at the very least days) apart: a probe a day finds each.
    const step = DAY_MS;
    const found: number[] = [];
    // Offsets change on whole seconds: so do the probes.
    for (let start = Math.floor(from / 1000) * 1000; start < to; start += step) {
      const end = Math.min(start + step, to);
      let lo = start;
      let hi = end;
      const before = this.offset(lo);
      if (this.offset(hi) === before) continue;
      while (hi - lo > 1000) {
        const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
        if (this.offset(mid) === before) lo = mid;
        else hi = mid;
      }
      found.push(hi);
    }
    return found;
  }
}
