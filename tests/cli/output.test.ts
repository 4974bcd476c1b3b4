import { describe, expect, it } from 'vitest';
import type { DeploymentView, ProgressView } from '../../src/cli/client/views.js';
import { ProgressRenderer } from '../../src/cli/output/progress-renderer.js';
import { renderTable } from '../../src/cli/output/table.js';
import { createTerminal, type Terminal } from '../../src/cli/output/terminal.js';
import { formatDuration, parseSince, relativeTime } from '../../src/cli/output/time.js';

/* The CLI's output pieces, in process: colour rules, tables fitting the width, times, steps. */

const stream = (isTTY: boolean, columns?: number) => ({ isTTY, columns, write: () => true }) as unknown as NodeJS.WriteStream;

function recorder(): Terminal & { text: string[] } {
  const text: string[] = [];
  const base = createTerminal(stream(false), stream(false), {});
  return { ...base, text, out: (line = '') => void text.push(line), err: (line) => void text.push(`ERR ${line}`) };
}

describe('terminal output', () => {
  it('colours only a terminal, never with NO_COLOR or TERM=dumb; fits the terminal or 100 columns', () => {
    const tty = createTerminal(stream(true, 80), stream(true), {});
    expect(tty.colorEnabled).toBe(true);
    expect(tty.color.red('x')).toBe('\u001b[31mx\u001b[39m');
    expect(tty.width).toBe(80);
    expect(createTerminal(stream(true), stream(true), { NO_COLOR: '1' }).color.red('x')).toBe('x');
    expect(createTerminal(stream(true), stream(true), { TERM: 'dumb' }).colorEnabled).toBe(false);
    const piped = createTerminal(stream(false), stream(false), { FORCE_COLOR: '1' });
    expect(piped.color.red('x')).toBe('x');
    expect(piped.width).toBe(100);
    expect(createTerminal(stream(false), stream(false), { COLUMNS: '60' }).width).toBe(60);
  });

  it('tables shrink free-text columns to fit, and keep cells on one line without control characters', () => {
    const rows = [
      { id: '1', message: 'a rather long error message that will not fit in a narrow terminal at all' },
      { id: '22', message: 'line one\nline two \u001b[31mred\u001b[0m' },
    ];
    const table = renderTable(rows, [{ header: 'ID', value: (r) => r.id, align: 'right' }, { header: 'MESSAGE', value: (r) => r.message, shrink: true }], 30);
    expect(table).toEqual(['ID  MESSAGE', ' 1  a rather long error messa…', '22  line one line two [31mred…']);
    expect(Math.max(...table.map((l) => l.length))).toBeLessThanOrEqual(30);
    const wide = renderTable(rows.slice(0, 1), [{ header: 'ID', value: (r) => r.id }, { header: 'MESSAGE', value: (r) => r.message, shrink: true }], 200);
    expect(wide[1]).toBe(`1   ${rows[0]!.message}`);
  });

  it('times: relative, durations, --since', () => {
    const now = new Date('2026-03-10T12:00:00Z');
    expect(relativeTime('2026-03-10T11:59:58Z', now)).toBe('just now');
    expect(relativeTime('2026-03-10T11:59:00Z', now)).toBe('1m ago');
    expect(relativeTime('2026-03-07T11:00:00Z', now)).toBe('3d ago');
    expect(relativeTime('2025-12-01T00:00:00Z', now)).toBe('2025-12-01');
    expect(relativeTime(null, now)).toBe('-');
    expect([formatDuration(47.34), formatDuration(125), formatDuration(3720), formatDuration(null)]).toEqual(['47.3s', '2m05s', '1h02m', '-']);
    expect(parseSince('24h', now).toISOString()).toBe('2026-03-09T12:00:00.000Z');
    expect(parseSince('2w', now).toISOString()).toBe('2026-02-24T12:00:00.000Z');
    expect(parseSince('2026-01-31', now).toISOString()).toBe('2026-01-31T00:00:00.000Z');
    expect(() => parseSince('last week', now)).toThrow('--since: expected a span such as 24h or 7d');
  });

  it('renders steps as the PRD shows them: ⟳ when one starts, ✓ or ✗ when the next starts', () => {
    const term = recorder();
    const renderer = new ProgressRenderer(term);
    let sequence = 0;
    const event = (step: string, message: string | null): ProgressView => ({ deploymentId: '7', sequence: ++sequence, step, progress: 0, message, timestamp: '2026-03-10T12:00:00.000Z' });
    for (const e of [
      event('preflight', 'Checking api/prod on web-1'),
      event('preflight', 'Pre-flight checks passed'),
      event('migrate', null),
      event('health_check', 'Checking health'),
      event('health_check', 'attempt 1: HTTP 500'),
      event('health_check', 'attempt 2: HTTP 500'),
      event('rollback', 'health check failed: HTTP 500: rolling back to abc'),
      event('rollback', 'Rolled back to abc: healthy'),
      event('rolled_back', 'Rolled back: health check failed: HTTP 500'),
    ]) {
      renderer.event(e);
    }
    const deployment = { id: '7', job: null, status: 'ROLLED_BACK', errorMessage: 'health check failed: HTTP 500', oldVersion: 'a'.repeat(40), newVersion: null, gitCommit: 'b'.repeat(40), durationSeconds: 12.34, target: { provider: 'scaleway', config: { region: 'fr-par' } } } as unknown as DeploymentView;
    renderer.finish(deployment, 'deploy');
    expect(term.text).toEqual([
      '  ⟳ Checking api/prod on web-1',
      '  ✓ Pre-flight checks passed',
      '  ⟳ Database migration...',
      '  ✓ Database migration done',
      '  ⟳ Checking health',
      '      attempt 1: HTTP 500',
      '      attempt 2: HTTP 500',
      '  ✗ Health check failed',
      '  ⟳ health check failed: HTTP 500: rolling back to abc',
      '  ✓ Rolled back to abc: healthy',
      '',
      '✗ Deployment rolled back: health check failed: HTTP 500',
      `  Version:  ${'a'.repeat(12)} (unchanged; ${'b'.repeat(12)} not deployed)`,
      '  Duration: 12.3s',
      '  Target:   scaleway/fr-par',
    ]);
  });

  it('shows a pause and its end as one line each, what was heard while held below the pause', () => {
    const term = recorder();
    const renderer = new ProgressRenderer(term);
    let sequence = 0;
    const event = (step: string, message: string | null): ProgressView => ({ deploymentId: '8', sequence: ++sequence, step, progress: 0, message, timestamp: '2026-03-10T12:00:00.000Z' });
    for (const e of [
      event('install', 'Running npm ci'),
      event('install', 'Pause requested by alice: pauses at the next step boundary'),
      event('install', 'install done in 1.2s'),
      event('paused', 'Paused by alice: until resumed'),
      event('paused', 'Promoted by bob: the remaining steps and pauses are skipped'),
      event('resumed', 'Resumed: promoted by bob (4.2s held in all)'),
      event('restart', 'Restarting on web-1'),
      event('restart', 'Service restarted'),
    ]) {
      renderer.event(e);
    }
    expect(term.text).toEqual([
      '  ⟳ Running npm ci',
      '      Pause requested by alice: pauses at the next step boundary',
      '  ✓ install done in 1.2s',
      '  ⏸ Paused by alice: until resumed',
      '      Promoted by bob: the remaining steps and pauses are skipped',
      '  ▶ Resumed: promoted by bob (4.2s held in all)',
      '  ⟳ Restarting on web-1',
    ]);
  });

  it('prints where the traffic went when it moves: each slot, its share as a bar, its version', () => {
    const term = recorder();
    const renderer = new ProgressRenderer(term);
    let sequence = 0;
    const event = (step: string, message: string, traffic?: ProgressView['traffic']): ProgressView => ({ deploymentId: '9', sequence: ++sequence, step, progress: 0, message, timestamp: '2026-03-10T12:00:00.000Z', traffic: traffic ?? null });
    const [A, B] = ['a'.repeat(40), 'b'.repeat(40)];
    for (const e of [
      event('canary_10', 'Sending 10% of the traffic to slot green'),
      event('canary_10', 'Slot green takes 10% of the traffic, slot blue 90%', [
        { slot: 'blue', port: 3001, version: A, weight: 90 },
        { slot: 'green', port: 3002, version: B, weight: 10 },
      ]),
      event('paused', 'Canary at 10% on slot green (until resumed or promoted)'),
      event('resumed', 'Resumed by alice (2s held in all)'),
      event('analysis_10', 'Judging the canary at 10%'),
      event('analysis_10', 'Canary at 10%: canary error rate 0% (0 of 20 requests) within max 5% (nginx access log)'),
    ]) {
      renderer.event(e);
    }
    expect(term.text).toEqual([
      '  ⟳ Sending 10% of the traffic to slot green',
      '      Slot green takes 10% of the traffic, slot blue 90%',
      `        blue   90% █████████░ ${'a'.repeat(12)}`,
      `        green  10% █░░░░░░░░░ ${'b'.repeat(12)}`,
      '  ✓ canary 10 done',
      '  ⏸ Canary at 10% on slot green (until resumed or promoted)',
      '  ▶ Resumed by alice (2s held in all)',
      '  ⟳ Judging the canary at 10%',
    ]);
  });
});
