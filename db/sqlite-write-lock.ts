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
    let wait = this.#attempt();
    if (!wait) return;
    const cells = this.#cells;
    if (isMainThread) Atomics.add(cells, MAIN_WAITING, 1);
    const alive = setInterval(() => {}, 60_000);
    try {
      for (; wait; wait = this.#attempt()) {
        const waited = Atomics.waitAsync(cells, wait.cell, wait.value, wait.timeoutMs);
        if (waited.async) await waited.value;
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
    for (let wait = this.#attempt(); wait; wait = this.#attempt()) Atomics.wait(this.#cells, wait.cell, wait.value, wait.timeoutMs);
  }

  /**
   * One try: undefined once the lock is taken, else the cell to wait on while it holds `value`.
   * A worker that finds the main thread waiting does not try: it waits for it to go first.
   */
  #attempt(): { cell: number; value: number; timeoutMs?: number } | undefined {
    if (!isMainThread) {
      const waiting = Atomics.load(this.#cells, MAIN_WAITING);
      if (waiting > 0) return { cell: MAIN_WAITING, value: waiting, timeoutMs: YIELD_MS };
    }
    const holder = Atomics.compareExchange(this.#cells, HOLDER, 0, this.#me);
    return holder === 0 ? undefined : { cell: HOLDER, value: holder };
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
