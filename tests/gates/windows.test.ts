import { describe, expect, it } from 'vitest';
import type { DeployWindow } from '../../src/config/types.js';
import { describeDays, isInside, nextChange } from '../../src/gates/windows.js';
import { ZoneClock } from '../../src/gates/zone-clock.js';

/*
 * Deploy windows on the wall clock of their zone, with the clock injected: Europe/Paris springs
 * forward on 2026-03-29 (02:00 CET → 03:00 CEST, at 01:00Z) and falls back on 2026-10-25
 * (03:00 CEST → 02:00 CET, at 01:00Z).
 */

const WEEKDAYS = [1, 2, 3, 4, 5];
const PARIS_OFFICE: DeployWindow = { days: WEEKDAYS, from: '09:00', to: '17:00', timezone: 'Europe/Paris' };
const at = (text: string) => Date.parse(text);
const iso = (instant: number | null) => (instant === null ? null : new Date(instant).toISOString());

function opening(windows: DeployWindow[], now: string): string | null {
  return iso(nextChange(windows, at(now), true));
}
function closing(windows: DeployWindow[], now: string): string | null {
  return iso(nextChange(windows, at(now), false));
}
function inside(window: DeployWindow, now: string): boolean {
  return isInside(window, at(now));
}

describe('a deploy window across daylight-saving changes', () => {
  it('09:00 in Paris is 08:00Z before the spring change and 07:00Z after it', () => {
    // Friday 27 March, after hours: the next opening is Monday 30 March, in summer time.
    expect(opening([PARIS_OFFICE], '2026-03-27T17:30:00Z')).toBe('2026-03-30T07:00:00.000Z');
    // Friday 27 March before the opening: still winter time.
    expect(opening([PARIS_OFFICE], '2026-03-27T06:00:00Z')).toBe('2026-03-27T08:00:00.000Z');
    expect(inside(PARIS_OFFICE, '2026-03-27T07:59:59Z')).toBe(false);
    expect(inside(PARIS_OFFICE, '2026-03-27T08:00:00Z')).toBe(true);
    expect(inside(PARIS_OFFICE, '2026-03-30T06:59:59Z')).toBe(false);
    expect(inside(PARIS_OFFICE, '2026-03-30T07:00:00Z')).toBe(true);
    // 17:00 closes it: 15:00Z in summer.
    expect(inside(PARIS_OFFICE, '2026-03-30T14:59:59Z')).toBe(true);
    expect(inside(PARIS_OFFICE, '2026-03-30T15:00:00Z')).toBe(false);
    expect(closing([PARIS_OFFICE], '2026-03-30T10:00:00Z')).toBe('2026-03-30T15:00:00.000Z');
  });

  it('09:00 in Paris is 07:00Z before the autumn change and 08:00Z after it', () => {
    expect(opening([PARIS_OFFICE], '2026-10-23T16:00:00Z')).toBe('2026-10-26T08:00:00.000Z');
    expect(inside(PARIS_OFFICE, '2026-10-23T07:00:00Z')).toBe(true);
    expect(inside(PARIS_OFFICE, '2026-10-26T07:30:00Z')).toBe(false);
    expect(inside(PARIS_OFFICE, '2026-10-26T08:00:00Z')).toBe(true);
  });

  it('a window wrapping past midnight (22:00-06:00) belongs to the day it opens, across both changes', () => {
    const nightly: DeployWindow = { days: [6], from: '22:00', to: '06:00', timezone: 'Europe/Paris' };
    // Saturday 28 March 22:00 CET = 21:00Z; it runs into Sunday, the night the clocks jump.
    expect(opening([nightly], '2026-03-28T12:00:00Z')).toBe('2026-03-28T21:00:00.000Z');
    expect(inside(nightly, '2026-03-29T00:59:59Z')).toBe(true); // 01:59:59 CET
    expect(inside(nightly, '2026-03-29T03:59:59Z')).toBe(true); // 05:59:59 CEST
    // 06:00 CEST = 04:00Z: it lasted seven hours of real time.
    expect(closing([nightly], '2026-03-28T22:00:00Z')).toBe('2026-03-29T04:00:00.000Z');
    // Sunday is not among its days: Sunday night stays closed.
    expect(inside(nightly, '2026-03-29T21:00:00Z')).toBe(false);
    // In autumn the night has an hour more: 22:00 CEST (20:00Z) to 06:00 CET (05:00Z).
    expect(opening([nightly], '2026-10-24T12:00:00Z')).toBe('2026-10-24T20:00:00.000Z');
    expect(closing([nightly], '2026-10-24T20:00:00Z')).toBe('2026-10-25T05:00:00.000Z');
  });

  it('a window opening at 02:30 on the spring-forward night opens when the clocks jump to 03:00', () => {
    const early: DeployWindow = { days: [7], from: '02:30', to: '04:00', timezone: 'Europe/Paris' };
    // 02:30 does not exist on 29 March: at 01:00Z the wall clock reads 03:00, past 02:30.
    expect(opening([early], '2026-03-28T12:00:00Z')).toBe('2026-03-29T01:00:00.000Z');
    expect(inside(early, '2026-03-29T00:59:59Z')).toBe(false);
    expect(inside(early, '2026-03-29T01:00:00Z')).toBe(true);
    expect(closing([early], '2026-03-29T01:00:00Z')).toBe('2026-03-29T02:00:00.000Z');
  });

  it('a window opening at 02:30 on the fall-back night opens at its first 02:30 and opens again when the hour repeats', () => {
    const early: DeployWindow = { days: [7], from: '02:30', to: '02:45', timezone: 'Europe/Paris' };
    expect(opening([early], '2026-10-24T12:00:00Z')).toBe('2026-10-25T00:30:00.000Z'); // 02:30 CEST
    expect(closing([early], '2026-10-25T00:30:00Z')).toBe('2026-10-25T00:45:00.000Z');
    // The wall clock reads 02:30 a second time an hour later (CET).
    expect(opening([early], '2026-10-25T00:45:00Z')).toBe('2026-10-25T01:30:00.000Z');
  });

  it('the next opening of several windows is the earliest, each in its own zone', () => {
    const newYork: DeployWindow = { days: WEEKDAYS, from: '09:00', to: '17:00', timezone: 'America/New_York' };
    // Friday 27 March 16:00Z: Paris has closed (17:00 CET), New York is open (12:00 EDT).
    expect(inside(PARIS_OFFICE, '2026-03-27T16:30:00Z')).toBe(false);
    expect(closing([PARIS_OFFICE, newYork], '2026-03-27T16:30:00Z')).toBe('2026-03-27T21:00:00.000Z');
    // Saturday: the first to open is Paris on Monday (07:00Z), before New York (13:00Z).
    expect(opening([newYork, PARIS_OFFICE], '2026-03-28T12:00:00Z')).toBe('2026-03-30T07:00:00.000Z');
  });

  it('"to: 24:00" runs to midnight; a window open all week never closes', () => {
    const evening: DeployWindow = { days: [1], from: '18:00', to: '24:00', timezone: 'UTC' };
    expect(inside(evening, '2026-03-30T23:59:59Z')).toBe(true);
    expect(inside(evening, '2026-03-31T00:00:00Z')).toBe(false);
    const always: DeployWindow = { days: [1, 2, 3, 4, 5, 6, 7], from: '00:00', to: '24:00', timezone: 'Europe/Paris' };
    expect(inside(always, '2026-03-29T01:30:00Z')).toBe(true);
    expect(closing([always], '2026-03-29T01:30:00Z')).toBeNull();
  });
});

describe('the zone clock', () => {
  it('finds no instant for a reading in the gap and two in the repeated hour', () => {
    const paris = new ZoneClock('Europe/Paris');
    expect(paris.instantsOf(Date.UTC(2026, 2, 29, 2, 30))).toEqual([]);
    expect(paris.instantsOf(Date.UTC(2026, 9, 25, 2, 30)).map(iso)).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z']);
    expect(paris.instantsOf(Date.UTC(2026, 2, 30, 9, 0)).map(iso)).toEqual(['2026-03-30T07:00:00.000Z']);
    expect(paris.transitions(at('2026-03-28T00:00:00Z'), at('2026-03-31T00:00:00Z')).map(iso)).toEqual(['2026-03-29T01:00:00.000Z']);
  });

  it('describes days the way they are written', () => {
    expect(describeDays([1, 2, 3, 4, 5])).toBe('mon-fri');
    expect(describeDays([6, 7])).toBe('sat,sun');
    expect(describeDays([1, 3, 4, 5])).toBe('mon,wed-fri');
    expect(describeDays([1, 2, 3, 4, 5, 6, 7])).toBe('daily');
  });
});
