import { isMainThread, threadId } from 'node:worker_threads';

/*
 * One writer at a time on a SQLite file, among the threads of this process that each have a
 * connection to it (the main thread, the WAL checkpoint worker, whose RESTART holds writers
 * back). SQLite lets only one connection write anyway; a connection that finds its lock taken
 * sleeps in its busy handler, 1, 2, 5, 10, 15 ms... with its thread stopped, and racing a thread
 * that commits batch after batch it can lose every time: measured under webhook ingest with a
 * second writing thread, the main thread slept 33 ms at a stretch, its event loop stopped. Here
 * a thread waits on shared memory instead (Atomics.waitAsync: its event loop goes on meanwhile,
 * the main thread answering requests) and is woken the moment the lock is released. The main
 * thread goes first: a worker that finds it waiting lets it in before taking the lock again. A
 * pending waitAsync does not keep a thread alive (a worker still starting would exit in the
 * middle of its wait): a timer does, while it waits.
 *
 * Nothing is left to a thread that dies: one waiting holds no state, one holding the lock is
 * found by its id (releaseIfHeldBy). Other processes on the same file still meet SQLite's own
 * lock and busy timeout.
 */

/** threadId + 1 of the holder; 0 when free. */
const HOLDER = 0;
/** Main-thread acquisitions waiting. */
const MAIN_WAITING = 1;
/** How long a worker yields to the main thread before it looks again (a safety net: it is woken). */
const YIELD_MS = 5;

export class SqliteWriteLock {
  readonly #cells: Int32Array;
  readonly #me = threadId + 1;

  /** A new lock, or a view of one made in another thread (`buffer` from `.buffer`). */
  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT)) {
    this.#cells = new Int32Array(buffer);
  }

  /** To hand to another thread. */
  get buffer(): SharedArrayBuffer {
    return this.#cells.buffer as SharedArrayBuffer;
  }

  /** Takes the lock, without blocking this thread's event loop while it waits. */
  async acquire(): Promise<void> {
    const cells = this.#cells;
    if (isMainThread) Atomics.add(cells, MAIN_WAITING, 1);
    let alive: NodeJS.Timeout | undefined;
    const wait = async (index: number, value: number, timeoutMs?: number) => {
      alive ??= setInterval(() => {}, 60_000);
      const waited = Atomics.waitAsync(cells, index, value, timeoutMs);
      if (waited.async) await waited.value;
    };
    try {
      for (;;) {
        const waiting = isMainThread ? 0 : Atomics.load(cells, MAIN_WAITING);
        if (waiting > 0) {
          await wait(MAIN_WAITING, waiting, YIELD_MS);
          continue;
        }
        const holder = Atomics.compareExchange(cells, HOLDER, 0, this.#me);
        if (holder === 0) return;
        await wait(HOLDER, holder);
      }
    } finally {
      clearInterval(alive);
      if (isMainThread) {
        Atomics.sub(cells, MAIN_WAITING, 1);
        Atomics.notify(cells, MAIN_WAITING);
      }
    }
  }

  /** Takes the lock, blocking this thread while it waits (a worker with nothing else to do). */
  acquireSync(): void {
    const cells = this.#cells;
    for (;;) {
      const waiting = Atomics.load(cells, MAIN_WAITING);
      if (waiting > 0 && isMainThread === false) {
        Atomics.wait(cells, MAIN_WAITING, waiting, YIELD_MS);
        continue;
      }
      const holder = Atomics.compareExchange(cells, HOLDER, 0, this.#me);
      if (holder === 0) return;
      Atomics.wait(cells, HOLDER, holder);
    }
  }

  release(): void {
    Atomics.store(this.#cells, HOLDER, 0);
    Atomics.notify(this.#cells, HOLDER);
  }

  /** Runs `work` holding the lock. */
  async with<T>(work: () => T | Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  /**
   * Releases the lock if the thread `id` holds it: called once that thread has exited, so that
   * a worker ended in the middle of a write (its transaction rolled back with its connection)
   * does not leave every other writer waiting for good.
   */
  releaseIfHeldBy(id: number): boolean {
    if (Atomics.compareExchange(this.#cells, HOLDER, id + 1, 0) !== id + 1) return false;
    Atomics.notify(this.#cells, HOLDER);
    return true;
  }
}
