import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteWriteLock } from '../../db/sqlite-write-lock.js';

/*
 * The write lock the threads of one process take before writing to a SQLite file
 * (db/sqlite-write-lock.ts): one holder at a time, the main thread's event loop runs while it
 * waits, the main thread goes before a worker that takes it again and again, and a thread that
 * dies, waiting or holding it, leaves nothing behind.
 */

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

function counter(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
}

async function lockWorker(lock: SqliteWriteLock, shared = counter()) {
  const worker = new Worker(new URL('./lock-worker.mjs', import.meta.url), { workerData: { buffer: lock.buffer, counter: shared.buffer } });
  workers.push(worker);
  // The worker's messages in order: each awaited once.
  const inbox: string[] = [];
  let awaited: { text: string; resolve: () => void } | undefined;
  worker.on('message', (text: string) => {
    if (awaited?.text !== text) return void inbox.push(text);
    const { resolve } = awaited;
    awaited = undefined;
    resolve();
  });
  const said = (text: string) =>
    new Promise<void>((resolve) => {
      const at = inbox.indexOf(text);
      if (at < 0) return void (awaited = { text, resolve });
      inbox.splice(at, 1);
      resolve();
    });
  await said('ready');
  return { worker, said, tell: (message: unknown) => worker.postMessage(message) };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('the SQLite write lock', () => {
  it('has one holder at a time: the main thread waits for a worker without blocking its event loop', async () => {
    const lock = new SqliteWriteLock();
    const w = await lockWorker(lock);
    w.tell('hold');
    await w.said('held');
    let acquired = false;
    const acquiring = lock.acquire().then(() => (acquired = true));
    // Timers fire meanwhile (a blocking wait would hold this thread until the worker let go).
    for (let i = 0; i < 5; i++) await tick();
    expect(acquired).toBe(false);
    w.tell('release');
    await acquiring;
    expect(acquired).toBe(true);
    // And the worker waits for the main thread in turn.
    w.tell('wait');
    await w.said('waiting');
    await tick();
    lock.release();
    await w.said('held');
  });

  it('keeps a read-modify-write exact between threads taking it thousands of times', async () => {
    const lock = new SqliteWriteLock();
    const shared = counter();
    const a = await lockWorker(lock, shared);
    const b = await lockWorker(lock, shared);
    a.tell({ cycle: 2_000 });
    b.tell({ cycle: 2_000 });
    for (let i = 0; i < 200; i++) {
      await lock.acquire();
      const seen = Atomics.load(shared, 0);
      await Promise.resolve();
      Atomics.store(shared, 0, seen + 1);
      Atomics.add(shared, 1, 1);
      lock.release();
    }
    await Promise.all([a.said('cycled'), b.said('cycled')]);
    expect(Atomics.load(shared, 1)).toBe(4_200);
    expect(Atomics.load(shared, 0)).toBe(4_200);
  });

  it('lets the main thread in before a worker that takes it batch after batch, even while it is busy', async () => {
    const lock = new SqliteWriteLock();
    const shared = counter();
    const w = await lockWorker(lock, shared);
    w.tell('hold');
    await w.said('held');
    // The main thread asks while the worker holds it, then is busy elsewhere for a while
    // (answering requests) while the worker lets go and wants it again and again.
    const acquiring = lock.acquire();
    w.tell('release');
    w.tell({ cycle: 1_000_000 });
    const until = performance.now() + 100;
    while (performance.now() < until);
    const meanwhile = Atomics.load(shared, 1);
    await acquiring;
    lock.release();
    // The worker makes about 40 turns a millisecond: it took none while the main thread waited.
    expect(meanwhile).toBe(0);
    // Once the main thread is done, the worker goes on.
    while (Atomics.load(shared, 1) === 0) await tick();
  });

  it('a worker that dies holding it: releaseIfHeldBy hands it on; one that dies waiting leaves nothing', async () => {
    const lock = new SqliteWriteLock();
    const holder = await lockWorker(lock);
    holder.tell('hold');
    await holder.said('held');
    const waiter = await lockWorker(lock);
    waiter.tell('wait');
    await waiter.said('waiting');
    const threadId = holder.worker.threadId;
    await waiter.worker.terminate();
    await holder.worker.terminate();
    expect(lock.releaseIfHeldBy(waiter.worker.threadId)).toBe(false);
    expect(lock.releaseIfHeldBy(threadId)).toBe(true);
    await lock.acquire();
    lock.release();
    expect(lock.releaseIfHeldBy(threadId)).toBe(false);
  });
});
