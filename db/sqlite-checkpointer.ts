import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteWriteLock } from './sqlite-write-lock.js';

/*
 * SQLite's WAL is checkpointed (its pages copied back into the database file, which is then
 * fsync'd) by whichever connection commits past 1,000 pages: on the thread that answers
 * requests, in the middle of a webhook delivery. Under ingest that was a third of the cost of
 * a write. Here a worker thread with a connection of its own does it instead (see the
 * worker for how the WAL is kept from growing under sustained writes). The main connection's
 * automatic checkpoints are off while the worker runs, and come back on if it stops.
 */

export const DEFAULT_AUTOCHECKPOINT_PAGES = 1_000;
/**
 * A RESTART checkpoint holds the next writer back until it is done, and that writer is the
 * thread answering requests, asleep in SQLite's busy handler. Under sustained webhook ingest
 * the WAL grows by tens of MB a second: restarting past 8,000 pages (32 MB) stalled 2 to 3%
 * of delivery batches by 20 to 40 ms; past 32,000 pages (128 MB) restarts come a quarter as
 * often, slow batches halved, and ingest measured +13% (four alternating pairs of runs). The
 * WAL is bounded all the same, at a size that is nothing on a deploy server's disk.
 */
const DEFAULT_RESTART_PAGES = 32_000;
/** The WAL file is cut back to this size when it restarts (it may grow past it under load). */
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

export interface Checkpointer {
  /** Stops the worker and closes its connection (before the main connection closes). */
  stop(): Promise<void>;
}

export function startCheckpointer(
  sqlite: BetterSqlite3.Database,
  file: string,
  /** A RESTART waits for the writer of the moment: it takes the write lock, as writers do. */
  writeLock: SqliteWriteLock,
  options: { intervalMs?: number; restartPages?: number; onError?: (error: Error) => void } = {},
): Checkpointer {
  const worker = new Worker(new URL('./sqlite-checkpoint-worker.mjs', import.meta.url), {
    workerData: { file, intervalMs: options.intervalMs ?? 1000, restartPages: options.restartPages ?? DEFAULT_RESTART_PAGES, writeLock: writeLock.buffer },
  });
  const threadId = worker.threadId;
  worker.unref();
  let stopping = false;
  const restoreAutocheckpoint = () => {
    if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
  };
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('message', (message: { error?: string }) => {
    if (message.error) options.onError?.(new Error(`WAL checkpoint failed: ${message.error}`));
  });
  worker.on('error', (error) => {
    if (stopping) return;
    restoreAutocheckpoint();
    options.onError?.(error);
  });
  worker.once('exit', (code) => {
    // Ended in the middle of a RESTART: the lock is not left held.
    writeLock.releaseIfHeldBy(threadId);
    if (stopping) return;
    restoreAutocheckpoint();
    options.onError?.(new Error(`the WAL checkpoint worker exited (${code}): checkpoints are back on the main connection`));
  });
  sqlite.pragma('wal_autocheckpoint = 0');
  sqlite.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  return {
    async stop() {
      if (stopping) return exited;
      stopping = true;
      restoreAutocheckpoint();
      worker.postMessage('stop');
      // It closes its connection and ends; should it hang in a checkpoint, it is ended.
      const timer = setTimeout(() => void worker.terminate(), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
