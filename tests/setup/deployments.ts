import type { App } from '../../src/app.js';
import { FINAL_STATUSES, type Deployment } from '../../src/model.js';
import { findDeployment } from '../../src/store/deployment.repository.js';

/** Resolves once deployment `id` has ended (from the bus, or at once if it already has). */
export function waitForEnd(app: App, id: string | number, timeoutMs = 60_000): Promise<Deployment> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`deployment ${id} did not end within ${timeoutMs / 1000}s`));
    }, timeoutMs);
    const done = (deployment: Deployment) => {
      clearTimeout(timer);
      unsubscribe();
      resolve(deployment);
    };
    const unsubscribe = app.bus.onCompleted((deployment) => {
      if (deployment.id === String(id)) done(deployment);
    });
    void findDeployment(app.store.db, Number(id)).then((deployment) => {
      if (deployment && FINAL_STATUSES.has(deployment.status)) done(deployment);
    });
  });
}

/** Resolves with the first progress event of `id` whose step is `step` (recorded or live). */
export function waitForStep(app: App, id: string | number, step: string, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`deployment ${id} did not reach ${step} within ${timeoutMs / 1000}s`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      unsubscribe();
      resolve();
    };
    const unsubscribe = app.bus.onProgress(String(id), (event) => {
      if (event.step === step) done();
    });
    void app.services.queries.progress(String(id)).then((events) => {
      if (events.some((e) => e.step === step)) done();
    });
  });
}

export interface WaitOptions {
  /** Default 20 s. */
  timeoutMs?: number;
  /** Between two probes; default 20 ms. */
  intervalMs?: number;
  /** What is awaited, for the error message. */
  what?: string;
}

/**
 * Polls `probe` until it answers something other than `false` or `undefined` (state owned by
 * another component or process), and resolves with that answer; rejects past the timeout.
 */
export async function waitUntil<T>(probe: () => T | false | undefined | Promise<T | false | undefined>, options: WaitOptions = {}): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 20, what } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== false && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(what ? `timed out waiting for ${what}` : 'condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
