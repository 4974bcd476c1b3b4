import type { Core } from '../../core.js';
import { FINAL_STATUSES, type Deployment, type DeploymentProgress } from '../../model.js';
import { MAX_PROGRESS_LIMIT } from '../../services/queries.js';
import { findDeployment } from '../../store/deployment.repository.js';

/** How often the store is read when the deployment runs in another process (no bus events here). */
const POLL_MS = 500;

/**
 * Follows one deployment through the store, which is the truth: every read takes the progress
 * recorded after the last event delivered, then the status, so events come in order, without
 * gaps or duplicates, and the end is seen only once everything before it was delivered. Reads
 * are triggered by this process's bus (when it runs the deployment, or relays another
 * PostgreSQL instance's events) and by a slow poll (another process on SQLite tells nobody).
 */
export class StoreFollower {
  #last = 0;
  #busy = false;
  #again = false;

  constructor(
    private readonly app: Core,
    private readonly id: string,
    private readonly onProgress: (event: DeploymentProgress) => void,
  ) {}

  run(signal?: AbortSignal): Promise<Deployment> {
    const { app, id } = this;
    return new Promise<Deployment>((resolve, reject) => {
      const cleanup: (() => void)[] = [];
      const finish = (outcome: () => void) => {
        for (const undo of cleanup.splice(0)) undo();
        outcome();
      };
      const sync = async (): Promise<void> => {
        if (this.#busy) return void (this.#again = true);
        this.#busy = true;
        try {
          do {
            this.#again = false;
            await this.#readProgress();
            const deployment = await findDeployment(app.store.db, Number(id));
            if (!deployment) return finish(() => reject(new Error(`deployment ${id} disappeared from the store`)));
            if (FINAL_STATUSES.has(deployment.status)) {
              // Everything up to the end is recorded before the end is.
              await this.#readProgress();
              return finish(() => resolve(deployment));
            }
            if (signal?.aborted) return finish(() => resolve(deployment));
          } while (this.#again);
        } catch (error) {
          finish(() => reject(error));
        } finally {
          this.#busy = false;
        }
      };
      const trigger = () => void sync();
      cleanup.push(app.bus.onProgress(id, trigger));
      cleanup.push(app.bus.onCompleted((d) => d.id === id && trigger()));
      const timer = setInterval(trigger, POLL_MS);
      cleanup.push(() => clearInterval(timer));
      if (signal) {
        signal.addEventListener('abort', trigger, { once: true });
        cleanup.push(() => signal.removeEventListener('abort', trigger));
      }
      trigger();
    });
  }

  /** Everything recorded after the last event delivered, a page at a time. */
  async #readProgress(): Promise<void> {
    for (;;) {
      const page = await this.app.services.queries.progress(this.id, this.#last, MAX_PROGRESS_LIMIT);
      this.#deliver(page);
      if (page.length < MAX_PROGRESS_LIMIT) return;
    }
  }

  #deliver(events: DeploymentProgress[]): void {
    for (const event of events) {
      if (event.sequence <= this.#last) continue;
      this.#last = event.sequence;
      this.onProgress(event);
    }
  }
}
