import type { Logger } from 'pino';
import type { NotificationOutbox } from '../notifications/outbox.js';
import { DeploymentCancelled } from '../providers/provider.js';
import { type ControlRequests, enterPaused, leavePaused, NO_REQUESTS, readRequests } from '../store/control.repository.js';
import type { Store } from '../store/store.js';
import type { DeploymentControl, HoldOptions, HoldOutcome } from './control.js';
import { LeaseLostError } from './lease.js';
import type { FenceGuard } from './progress-recorder.js';

/*
 * The DeploymentControl of a run the dispatcher holds. What operators ask (pause, resume,
 * promote, cancel) is written on the deployment's row by whichever instance they reach; this
 * run learns it from `apply`: at once when the request reached this process (the service pokes
 * the dispatcher) or, on PostgreSQL, another one (NOTIFY), and at every lease renewal otherwise.
 * While held, the row says PAUSED (with why and until when) and the lease keeps being renewed;
 * the audit (who paused, resumed, promoted) is the deployment's progress history.
 */

/**
 * Where a run's control records its progress (the run's ProgressRecorder): the pause and its end
 * as events of their own, a request heard as a line of the step that runs.
 */
export interface ControlEvents {
  note(step: string, message: string): Promise<void>;
  log(message: string): Promise<void>;
}

export interface RunControlOptions {
  id: number;
  store: Store;
  signal: AbortSignal;
  logger: Logger;
  now: () => Date;
  /** A cancel was asked (read from the row): the run is aborted. */
  onCancelRequested(): void;
  /** A hold without an end waits for an operator: its notifications are written with the PAUSED state. */
  notifications?: Pick<NotificationOutbox, 'active' | 'awaitingApproval' | 'wake'>;
}

type Pause = { kind: 'hold'; message: string; ms: number | null; until?: AbortSignal | undefined } | { kind: 'operator' };

export class RunControl implements DeploymentControl {
  #requests: ControlRequests = NO_REQUESTS;
  /**
   * Grows whenever this run writes its paused state (which consumes a resume): a read of the
   * requests begun before that write is stale and is read again.
   */
  #epoch = 0;
  #events: ControlEvents | undefined;
  readonly #waiters = new Set<() => void>();
  #heldMs = 0;
  #heldSince: number | undefined;
  #holding: Pause['kind'] | undefined;
  #promoteNoted = false;
  /** Holds without an end so far in this run: each wait for approval is an event of its own. */
  #approvals = 0;
  #reading: Promise<void> | undefined;
  #readAgain = false;
  /**
   * The run's generation, once its claim is read: its PAUSED / IN_PROGRESS writes are refused
   * once it is no longer the row's.
   */
  fence: FenceGuard | undefined;

  constructor(private readonly options: RunControlOptions) {}

  get promoted(): boolean {
    return this.#requests.promotedBy !== null;
  }

  get pausedMs(): number {
    return this.#heldMs + (this.#heldSince === undefined ? 0 : performance.now() - this.#heldSince);
  }

  /** The epoch a read of the requests starts in (pass it back to `apply`). */
  get epoch(): number {
    return this.#epoch;
  }

  /** The run's progress recorder, once the pipeline made it; what was noticed before is told now. */
  bind(events: ControlEvents): this {
    this.#events = events;
    this.#noticePromote();
    return this;
  }

  /**
   * What the row says was asked, read in `epoch`. False when the read is stale (this run wrote
   * its paused state since) and was ignored.
   */
  apply(requests: ControlRequests, epoch: number): boolean {
    if (epoch !== this.#epoch) return false;
    const before = this.#requests;
    this.#requests = requests;
    if (requests.cancelRequested && !before.cancelRequested) this.options.onCancelRequested();
    this.#noticePromote();
    if (requests.pauseBy !== null && requests.pauseBy !== before.pauseBy && this.#holding !== 'operator') {
      this.#note(
        null,
        this.#holding === 'hold'
          ? `Paused by ${requests.pauseBy}: stays paused after this hold, until resumed`
          : `Pause requested by ${requests.pauseBy}: pauses at the next step boundary`,
      );
    }
    for (const wake of [...this.#waiters]) wake();
    return true;
  }

  /** Reads the requests now (one read at a time; one more when asked meanwhile). */
  refresh(): Promise<void> {
    if (this.#reading) {
      this.#readAgain = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      do {
        this.#readAgain = false;
        const epoch = this.#epoch;
        const requests = await readRequests(this.options.store.db, this.options.id);
        if (requests && !this.apply(requests, epoch)) this.#readAgain = true;
      } while (this.#readAgain && !this.options.signal.aborted);
    })()
      .catch((error: unknown) => this.options.logger.warn({ err: error, deployment: this.options.id }, 'could not read what was asked of the deployment; the next lease renewal will'))
      .finally(() => {
        this.#reading = undefined;
      });
    return this.#reading;
  }

  async checkpoint(): Promise<void> {
    if (this.options.signal.aborted) throw new DeploymentCancelled();
    if (this.#requests.pauseBy === null) return;
    await this.#hold({ kind: 'operator' });
  }

  async hold(message: string, ms: number | null, options: HoldOptions = {}): Promise<HoldOutcome> {
    if (this.options.signal.aborted) throw new DeploymentCancelled();
    if (ms !== null && (!Number.isFinite(ms) || ms < 0)) throw new RangeError(`a hold lasts a finite number of milliseconds ≥ 0 or null (got ${ms})`);
    if (this.promoted) return 'promoted';
    if (options.until?.aborted) return 'ended';
    return this.#hold({ kind: 'hold', message, ms, until: options.until });
  }

  async #hold(pause: Pause): Promise<HoldOutcome> {
    const { id, store, now } = this.options;
    const fence = this.fence;
    const pausedBy = this.#requests.pauseBy;
    const until = pause.kind === 'hold' && pause.ms !== null ? new Date(now().getTime() + pause.ms).toISOString() : null;
    const why = pause.kind === 'hold' ? pause.message : `Paused by ${pausedBy}`;
    // Held until someone resumes or promotes it: those who may are told, with the PAUSED state.
    const approval = pause.kind === 'hold' && pause.ms === null && this.options.notifications?.active ? this.options.notifications : undefined;
    const key = `${fence?.generation ?? 0}.${++this.#approvals}`;
    await this.#write(
      () =>
        approval
          ? store.db.transaction().execute(async (trx) => {
              const paused = await enterPaused(trx, id, { until, message: why }, fence?.generation);
              if (paused) await approval.awaitingApproval(trx, id, key, why);
              return paused;
            })
          : enterPaused(store.db, id, { until, message: why }, fence?.generation),
      'PAUSED',
    );
    approval?.wake();
    // The write consumed any resume asked before this pause began.
    this.#requests = { ...this.#requests, resumeBy: null };
    this.#heldSince = performance.now();
    this.#holding = pause.kind;
    let outcome: HoldOutcome;
    try {
      await this.#note(
        'paused',
        pause.kind === 'hold' ? `${why} (${until ? `until ${until}` : 'until resumed or promoted'})` : `Paused by ${pausedBy}: until resumed`,
      );
      outcome = await this.#released(pause);
    } finally {
      this.#heldMs += performance.now() - this.#heldSince;
      this.#heldSince = undefined;
      this.#holding = undefined;
    }
    const { resumeBy, promotedBy } = this.#requests;
    await this.#write(() => leavePaused(store.db, id, fence?.generation), 'IN_PROGRESS');
    const held = `${Math.round(this.#heldMs / 100) / 10}s held in all`;
    await this.#note(
      'resumed',
      outcome === 'elapsed'
        ? `Hold ended: ${pause.kind === 'hold' ? pause.message : ''} (${held})`
        : outcome === 'ended'
          ? `Hold ended early: ${endReason(pause)} (${held})`
          : outcome === 'promoted'
          ? `Resumed: promoted by ${promotedBy} (${held})`
          : `Resumed by ${resumeBy ?? promotedBy ?? 'an operator'} (${held})`,
    );
    return outcome;
  }

  /** Waits until the pause ends: its time (a hold), a resume, a promote; rejects on cancel. */
  #released(pause: Pause): Promise<HoldOutcome> {
    const { signal } = this.options;
    const promotedBefore = this.promoted;
    return new Promise<HoldOutcome>((resolve, reject) => {
      let elapsed = false;
      const timer =
        pause.kind === 'hold' && pause.ms !== null
          ? setTimeout(() => {
              elapsed = true;
              check();
            }, pause.ms)
          : undefined;
      const until = pause.kind === 'hold' ? pause.until : undefined;
      const settle = (end: () => void) => {
        if (timer) clearTimeout(timer);
        this.#waiters.delete(check);
        signal.removeEventListener('abort', check);
        until?.removeEventListener('abort', check);
        end();
      };
      const check = () => {
        if (signal.aborted) return settle(() => reject(new DeploymentCancelled()));
        // The strategy ended its own hold (an operator's pause asked meanwhile is taken at the next boundary).
        if (until?.aborted) return settle(() => resolve('ended'));
        const { pauseBy, resumeBy, promotedBy } = this.#requests;
        if (pause.kind === 'operator') {
          // Resume and promote both withdraw the operator's pause.
          if (pauseBy === null) settle(() => resolve(promotedBy !== null && !promotedBefore ? 'promoted' : 'resumed'));
          return;
        }
        if (promotedBy !== null) return settle(() => resolve('promoted'));
        if (resumeBy !== null) return settle(() => resolve('resumed'));
        // An operator who paused during a timed hold keeps it paused past its end.
        if (elapsed && pauseBy === null) settle(() => resolve('elapsed'));
      };
      this.#waiters.add(check);
      signal.addEventListener('abort', check);
      until?.addEventListener('abort', check);
      check();
    });
  }

  /** A write of the paused state, under the run's generation: refused means the run lost its target. */
  async #write(write: () => Promise<boolean>, status: string): Promise<void> {
    this.#epoch++;
    if (await write()) return;
    this.fence?.lost();
    throw new LeaseLostError(`deployment ${this.options.id} could not be marked ${status}: it is no longer held under generation ${this.fence?.generation}`);
  }

  #noticePromote(): void {
    const by = this.#requests.promotedBy;
    if (by === null || this.#promoteNoted || !this.#events) return;
    this.#promoteNoted = true;
    this.#note(null, `Promoted by ${by}: the remaining steps and pauses are skipped`);
  }

  /**
   * Records an event (`step`), or a line (null) of the pause or of the step that runs; one that cannot be recorded
   * is logged (a lost lease stops the run elsewhere).
   */
  #note(step: string | null, message: string): Promise<void> {
    const events = this.#events;
    if (!events) return Promise.resolve();
    // While held, a line belongs to the pause; otherwise to the step that runs.
    const recorded = step !== null ? events.note(step, message) : this.#holding ? events.note('paused', message) : events.log(message);
    return recorded.catch((error: unknown) => {
      if (!(error instanceof LeaseLostError)) this.options.logger.warn({ err: error, deployment: this.options.id }, `could not record "${message}"`);
    });
  }
}

/** Why a strategy ended its hold: the reason its signal was aborted with, when it is a sentence. */
function endReason(pause: Pause): string {
  const reason: unknown = pause.kind === 'hold' ? pause.until?.reason : undefined;
  return typeof reason === 'string' ? reason : 'the strategy ended it';
}
