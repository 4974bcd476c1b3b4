import type { EventBus } from '../events/bus.js';
import type { DeploymentProgress, TrafficShare } from '../model.js';
import type { ProgressReporter } from '../providers/provider.js';
import { insertProgress } from '../store/progress.repository.js';
import type { Store } from '../store/store.js';
import { LeaseLostError } from './lease.js';

/** The generation a run holds, and what to do when a write under it is refused. */
export interface FenceGuard {
  generation: number;
  /** The run must stop: its writes are refused (another holder took the target over). */
  lost(): void;
}

/**
 * Numbers a deployment's progress events 1, 2, 3, ... (continuing after a retried run),
 * records each one, then publishes it: a subscriber never sees an event the store does not
 * have. Calls are serialised, so events keep their order whoever emits them. Under a fence,
 * an event refused because the generation is no longer the row's stops the run (LeaseLostError).
 */
export class ProgressRecorder implements ProgressReporter {
  #sequence: number;
  #step = 'queued';
  #progress = 0;
  #chain: Promise<void> = Promise.resolve();
  /** Told of each step as it begins (the deployment's trace opens a span per step). */
  onStep: ((step: string) => void) | undefined;

  constructor(
    private readonly deploymentId: string,
    lastSequence: number,
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly now: () => Date,
    private readonly fence?: FenceGuard,
  ) {
    this.#sequence = lastSequence;
  }

  /** The progress (0..100) of the last step announced. */
  get currentProgress(): number {
    return this.#progress;
  }

  step(step: string, progress: number, message?: string): Promise<void> {
    if (step !== this.#step) this.onStep?.(step);
    this.#step = step;
    this.#progress = Math.max(0, Math.min(100, Math.round(progress)));
    return this.#emit(this.#step, this.#progress, message ?? null);
  }

  log(message: string): Promise<void> {
    return this.#emit(this.#step, this.#progress, message);
  }

  traffic(shares: TrafficShare[], message: string): Promise<void> {
    return this.#emit(this.#step, this.#progress, message, shares.map((s) => ({ ...s })));
  }

  /**
   * An event of its own (`paused`, `resumed`, `promoted`) at the current progress, which does not
   * change the step that later lines belong to.
   */
  note(step: string, message: string): Promise<void> {
    return this.#emit(step, this.#progress, message);
  }

  #emit(step: string, progress: number, message: string | null, traffic?: TrafficShare[]): Promise<void> {
    const next = this.#chain.then(async () => {
      const event: DeploymentProgress = {
        deploymentId: this.deploymentId,
        sequence: this.#sequence + 1,
        step,
        progress,
        message,
        timestamp: this.now().toISOString(),
        ...(traffic ? { traffic } : {}),
      };
      const recorded = await insertProgress(this.store.db, event, this.fence?.generation);
      if (!recorded) {
        this.fence?.lost();
        throw new LeaseLostError(`progress refused: deployment ${this.deploymentId} is no longer held under generation ${this.fence?.generation}`);
      }
      this.#sequence = event.sequence;
      this.bus.publish({ type: 'progress', event });
    });
    // One failed write must not stop the ones after it from being tried.
    this.#chain = next.catch(() => {});
    return next;
  }
}
