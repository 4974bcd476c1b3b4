import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

/*
 * The dashboard's text helpers (a browser module with no DOM in it, so Node runs it as is):
 * what a log line or commit message looks like once terminal escapes are dropped, and how
 * durations and times read.
 */

interface Format {
  plainText(text: string | null | undefined): string;
  firstLine(text: string | null | undefined): string;
  shortVersion(version: string | null): string;
  duration(seconds: number | null): string;
  deploymentDuration(d: { status: string; durationSeconds: number | null }): string;
  relativeTime(iso: string | null, now?: number): string;
  statusWords(status: string): string;
  shortError(text: string | null, max?: number): string;
  attemptToShow(env: { currentVersion: string | null; lastAttempt: { status: string; newVersion: string | null } | null }): unknown;
  gateKindWords(kind: string): string;
  awaitsApproval(deployment: { status: string; gates: { kind: string; satisfied: boolean }[] | null }): boolean;
}

let format: Format;
beforeAll(async () => {
  format = (await import(pathToFileURL(resolve('src/server/dashboard/public/js/format.js')).href)) as Format;
});

describe('the dashboard\'s text helpers', () => {
  it('drops terminal escapes and control characters, and keeps markup as plain characters', () => {
    expect(format.plainText('\u001b[1;31merror\u001b[0m: failed')).toBe('error: failed');
    expect(format.plainText('\u001b]0;window title\u0007done')).toBe('done');
    expect(format.plainText('\u001b]8;;https://example.com\u001b\\link\u001b]8;;\u001b\\')).toBe('link');
    expect(format.plainText('bell\u0007 back\u0008 nul\u0000 tab\tline\nnext')).toBe('bell back nul tab\tline\nnext');
    expect(format.plainText('<script>alert(1)</script>')).toBe('<script>alert(1)</script>');
    expect(format.plainText(null)).toBe('');
    expect(format.firstLine('subject\n\nbody')).toBe('subject');
  });

  it('says what a deployment without a duration is doing: queued, waiting, running, paused', () => {
    const without = (status: string) => format.deploymentDuration({ status, durationSeconds: null });
    expect(['PENDING', 'WAITING', 'IN_PROGRESS', 'PAUSED', 'CANCELLED'].map(without)).toEqual(['queued', 'waiting', 'running', 'paused', '—']);
    expect(format.deploymentDuration({ status: 'SUCCESS', durationSeconds: 75 })).toBe('1 min 15 s');
  });

  it('shortens commit SHAs to 12 characters and leaves other versions alone', () => {
    expect(format.shortVersion('0123456789abcdef0123456789abcdef01234567')).toBe('0123456789ab');
    expect(format.shortVersion('v1.2.3')).toBe('v1.2.3');
    expect(format.shortVersion(null)).toBe('—');
  });

  it('reads durations and times the way a person says them', () => {
    expect([0.0404, 0.85, 4.25, 42.9, 72, 3600, 3780].map(format.duration)).toEqual(['40 ms', '850 ms', '4.2 s', '42 s', '1 min 12 s', '1 h', '1 h 3 min']);
    expect(format.duration(null)).toBe('—');
    const now = Date.parse('2026-11-21T12:00:00Z');
    const ago = (seconds: number) => format.relativeTime(new Date(now - seconds * 1000).toISOString(), now);
    expect([2, 42, 300, 7200, 172800, -300].map(ago)).toEqual(['just now', '42 s ago', '5 min ago', '2 h ago', '2 d ago', 'in 5 min']);
    expect(format.relativeTime(null)).toBe('never');
    expect(format.statusWords('ROLLED_BACK')).toBe('rolled back');
  });

  it('cuts an error to the first line and a cell\'s width', () => {
    expect(format.shortError('health check failed\n  at step health_check')).toBe('health check failed');
    expect(format.shortError('\u001b[31mexit 1\u001b[0m')).toBe('exit 1');
    expect(format.shortError('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(format.shortError('word '.repeat(10), 12)).toBe('word word…');
    expect(format.shortError(null)).toBe('');
  });

  it('shows the last attempt only when it says something the running version does not', () => {
    const attempt = (status: string, newVersion: string | null) => ({ status, newVersion });
    const failed = attempt('FAILED', 'b');
    expect(format.attemptToShow({ currentVersion: null, lastAttempt: failed })).toBe(failed);
    expect(format.attemptToShow({ currentVersion: 'a', lastAttempt: failed })).toBe(failed);
    const rolledBack = attempt('ROLLED_BACK', 'b');
    expect(format.attemptToShow({ currentVersion: 'a', lastAttempt: rolledBack })).toBe(rolledBack);
    expect(format.attemptToShow({ currentVersion: 'a', lastAttempt: attempt('SUCCESS', 'a') })).toBeNull();
    const other = attempt('SUCCESS', 'b');
    expect(format.attemptToShow({ currentVersion: 'a', lastAttempt: other })).toBe(other);
    expect(format.attemptToShow({ currentVersion: 'a', lastAttempt: null })).toBeNull();
  });

  it('names gates for people, and offers to approvers only what waits on its approvals', () => {
    expect(['WAIT_TIMER', 'WINDOW', 'APPROVALS', 'FREEZE', 'PROMOTION'].map(format.gateKindWords)).toEqual(['Wait timer', 'Deploy window', 'Approvals', 'Freeze', 'Promotion']);
    const approvals = (satisfied: boolean) => ({ kind: 'APPROVALS', satisfied });
    const window = { kind: 'WINDOW', satisfied: false };
    expect(format.awaitsApproval({ status: 'WAITING', gates: [window, approvals(false)] })).toBe(true);
    // Approved, held by a window only: nothing to approve.
    expect(format.awaitsApproval({ status: 'WAITING', gates: [window, approvals(true)] })).toBe(false);
    expect(format.awaitsApproval({ status: 'WAITING', gates: [window] })).toBe(false);
    expect(format.awaitsApproval({ status: 'PENDING', gates: [approvals(false)] })).toBe(false);
    expect(format.awaitsApproval({ status: 'WAITING', gates: null })).toBe(false);
  });
});
