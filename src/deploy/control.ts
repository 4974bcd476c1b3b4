import { DeploymentCancelled } from '../providers/provider.js';

/*
 * How an operator steers a running deployment between its phases: pause it, resume it, promote it
 * (skip the remaining steps and pauses of a canary), besides cancelling it (the abort signal).
 * Strategies call `hold` for a timed or indefinite pause and `checkpoint` at each phase boundary.
 * The dispatcher's implementation is run-control.ts.
 */

export type HoldOutcome = 'elapsed' | 'resumed' | 'promoted' | 'ended';

export interface HoldOptions {
  /**
   * Ends the hold early, with 'ended': the strategy saw enough (a canary's analysis failed while
   * its step was held). The signal's reason, a sentence, is recorded as why.
   */
  until?: AbortSignal;
}

export interface DeploymentControl {
  /**
   * Holds the deployment (status PAUSED) for `ms` milliseconds, or until resumed or promoted when
   * `ms` is null. Rejects with DeploymentCancelled when the deployment is cancelled meanwhile.
   * Resolves 'promoted' at once once the deployment was promoted, 'ended' when `options.until` aborts.
   */
  hold(message: string, ms: number | null, options?: HoldOptions): Promise<HoldOutcome>;
  /** At a phase boundary: waits while an operator has paused the deployment. */
  checkpoint(): Promise<void>;
  /** Whether promote was asked: the remaining steps and pauses are skipped. */
  readonly promoted: boolean;
  /**
   * Milliseconds spent held so far (the current hold included): the environment's timeout does
   * not count them.
   */
  readonly pausedMs: number;
}

/**
 * A control no operator can reach (a run outside the dispatcher): a timed hold elapses, an
 * indefinite one lasts until the deployment is cancelled, a checkpoint never waits.
 */
export function timedControl(signal: AbortSignal): DeploymentControl {
  let heldMs = 0;
  let heldSince: number | undefined;
  return {
    promoted: false,
    get pausedMs() {
      return heldMs + (heldSince === undefined ? 0 : performance.now() - heldSince);
    },
    checkpoint: async () => {
      if (signal.aborted) throw new DeploymentCancelled();
    },
    hold: (_message, ms, options = {}) =>
      new Promise<HoldOutcome>((resolve, reject) => {
        if (signal.aborted) return reject(new DeploymentCancelled());
        if (options.until?.aborted) return resolve('ended');
        const since = performance.now();
        heldSince = since;
        const settle = (end: () => void) => {
          if (timer) clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          options.until?.removeEventListener('abort', onEnd);
          heldMs += performance.now() - since;
          heldSince = undefined;
          end();
        };
        const timer = ms === null ? undefined : setTimeout(() => settle(() => resolve('elapsed')), ms);
        const onAbort = () => settle(() => reject(new DeploymentCancelled()));
        const onEnd = () => settle(() => resolve('ended'));
        signal.addEventListener('abort', onAbort, { once: true });
        options.until?.addEventListener('abort', onEnd, { once: true });
      }),
  };
}
