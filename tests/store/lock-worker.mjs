// A thread that takes the SQLite write lock as the WAL checkpoint worker does
// (write-lock.test.ts): told `hold` it takes it and says so; `release`, `cycle N` (take and
// release N times, as a worker committing batch after batch), `wait` (take it, blocking),
// `exit`.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { SqliteWriteLock } = await import('../../db/sqlite-write-lock.ts');
const lock = new SqliteWriteLock(workerData.buffer);
const shared = new Int32Array(workerData.counter);

parentPort.on('message', async (message) => {
  if (message === 'hold') {
    await lock.acquire();
    parentPort.postMessage('held');
  } else if (message === 'release') {
    lock.release();
    parentPort.postMessage('released');
  } else if (message === 'wait') {
    parentPort.postMessage('waiting');
    lock.acquireSync();
    parentPort.postMessage('held');
  } else if (message.cycle) {
    for (let i = 0; i < message.cycle; i++) {
      await lock.acquire();
      // A read-modify-write that only stays exact when nobody else is inside.
      const seen = Atomics.load(shared, 0);
      for (let spin = 0; spin < 2_000; spin++) Math.sqrt(spin);
      Atomics.store(shared, 0, seen + 1);
      Atomics.add(shared, 1, 1);
      lock.release();
    }
    parentPort.postMessage('cycled');
  } else if (message === 'exit') {
    process.exit(0);
  }
});
parentPort.postMessage('ready');
