import type { TrafficShare } from '../../model.js';
import type { DeploymentView, ProgressView } from '../client/views.js';
import { clean, shortVersion, targetPath } from './format.js';
import type { Terminal } from './terminal.js';
import { formatDuration } from './time.js';

/*
 * A deployment's live steps, as the PRD's example shows them: "⟳" when a step starts (with what
 * it does), its details below it, "✓" with how it ended when the next one starts ("✗" when the
 * next one is a rollback or the end is a failure). Append-only, so it reads the same in a
 * terminal, a CI log or a pipe.
 */

const LABELS: Record<string, string> = {
  preflight: 'Pre-flight checks',
  fetch: 'Fetching the code',
  install: 'Install',
  build: 'Build',
  backup: 'Database backup',
  migrate: 'Database migration',
  compile: 'Compile',
  restart: 'Restart',
  health_check: 'Health check',
  checkout: 'Checkout',
  rollback: 'Rollback',
  register_jobs: 'Registering jobs',
  run: 'Run',
};

/** Steps that end a run: the summary (from the deployment's record) says the rest. */
const ENDINGS = new Set(['done', 'failed', 'rolled_back', 'cancelled']);
/** Steps whose start means the one before it failed. */
const AFTER_FAILURE = new Set(['rollback', 'failed', 'cancelled', 'interrupted']);
/** A pause and its end: one line each ("⏸ Paused by alice", "▶ Resumed by alice"), never closed with ✓. */
const MARKS: Record<string, string> = { paused: '⏸', resumed: '▶' };

export type OperationKind = 'deploy' | 'rollback' | 'job';

export function stepLabel(step: string): string {
  if (step.startsWith('run:')) return `Job ${step.slice(4)}`;
  return LABELS[step] ?? step.replace(/_/g, ' ');
}

export class ProgressRenderer {
  #step: string | undefined;
  /** The latest detail of the current step, printed once the next one shows what it was. */
  #pending: string | undefined;

  constructor(private readonly term: Terminal) {}

  event(event: ProgressView): void {
    const c = this.term.color;
    const message = event.message ? clean(event.message) : undefined;
    if (event.step !== this.#step) {
      this.#close(event.step);
      this.#step = event.step;
      this.#pending = undefined;
      if (ENDINGS.has(event.step)) return;
      if (event.step === 'interrupted') return this.term.out(`  ${c.yellow('!')} ${message ?? 'Interrupted'}`);
      if (MARKS[event.step]) return this.term.out(`  ${c.yellow(MARKS[event.step]!)} ${message ?? stepLabel(event.step)}`);
      this.term.out(`  ${c.cyan('⟳')} ${message ?? `${stepLabel(event.step)}...`}`);
      return;
    }
    if (ENDINGS.has(event.step) || !message) return;
    // A line heard while held ("Promoted by ...") shows as it comes.
    if (MARKS[event.step]) return this.term.out(`      ${c.dim(message)}`);
    // The traffic moved: said at once, with the split, one line a slot.
    if (event.traffic?.length) {
      if (this.#pending !== undefined) this.term.out(`      ${c.dim(this.#pending)}`);
      this.#pending = undefined;
      this.term.out(`      ${message}`);
      for (const line of trafficLines(event.traffic)) this.term.out(`        ${line}`);
      return;
    }
    if (this.#pending !== undefined) this.term.out(`      ${c.dim(this.#pending)}`);
    this.#pending = message;
  }

  /** Ends the current step: ✓ with its last detail, or ✗ when what follows says it failed. */
  #close(next: string | undefined): void {
    const step = this.#step;
    if (step === undefined || ENDINGS.has(step) || step === 'interrupted' || MARKS[step]) return;
    const c = this.term.color;
    const failed = next === undefined || AFTER_FAILURE.has(next);
    if (failed) {
      if (this.#pending !== undefined) this.term.out(`      ${c.dim(this.#pending)}`);
      this.term.out(`  ${c.red('✗')} ${stepLabel(step)} failed`);
    } else {
      this.term.out(`  ${c.green('✓')} ${this.#pending ?? `${stepLabel(step)} done`}`);
    }
    this.#pending = undefined;
  }

  /** After the end: closes the last step and prints the outcome. */
  finish(deployment: DeploymentView, kind: OperationKind): void {
    if (this.#step !== undefined && !ENDINGS.has(this.#step)) this.#close(deployment.status === 'SUCCESS' ? 'done' : undefined);
    this.term.out();
    printOutcome(this.term, deployment, kind);
  }
}

/** "blue   90% █████████░ 2c952af647e4": each slot's share of the requests, a bar of ten. */
export function trafficLines(traffic: readonly TrafficShare[]): string[] {
  const width = Math.max(...traffic.map((s) => s.slot.length));
  return traffic.map((s) => {
    const filled = Math.round(s.weight / 10);
    return `${clean(s.slot).padEnd(width)} ${String(s.weight).padStart(3)}% ${'█'.repeat(filled)}${'░'.repeat(10 - filled)} ${shortVersion(s.version)}`;
  });
}

/** The PRD's closing lines: the outcome, the version change, the duration, the target. */
export function printOutcome(term: Terminal, d: DeploymentView, kind: OperationKind): void {
  const c = term.color;
  const what = d.job ? `Job ${d.job}` : kind === 'rollback' ? 'Rollback' : 'Deployment';
  const line = (label: string, value: string) => term.out(`  ${`${label}:`.padEnd(10)}${value}`);
  if (d.status === 'SUCCESS') {
    term.out(c.green(c.bold(`✓ ${what} successful!`)));
    if (!d.job) line('Version', `${shortVersion(d.oldVersion) === '-' ? 'none' : shortVersion(d.oldVersion)} → ${shortVersion(d.newVersion)}`);
  } else {
    const verb: Record<string, string> = {
      FAILED: 'failed',
      ROLLED_BACK: 'rolled back',
      CANCELLED: 'cancelled',
      SUPERSEDED: 'superseded by a newer one',
    };
    const reason = d.errorMessage ? `: ${clean(d.errorMessage)}` : '';
    term.out(c.red(c.bold(`✗ ${what} ${verb[d.status] ?? d.status}${reason}`)));
    if (!d.job) {
      const attempted = d.gitCommit ? `; ${shortVersion(d.gitCommit)} not deployed` : '';
      line('Version', `${d.oldVersion ? shortVersion(d.oldVersion) : 'none'} (unchanged${attempted})`);
    }
  }
  line('Duration', formatDuration(d.durationSeconds));
  line('Target', targetPath(d.target));
}
