// The worker thread of sqlite-checkpointer.ts: a connection of its own that copies the WAL back
// into the database file every `intervalMs`, PASSIVE (it never waits for, nor blocks, a
// writer). Under sustained writes a PASSIVE checkpoint never catches up with the last frame,
// and the WAL only restarts from its beginning once one has: past `restartPages` the worker
// asks for a RESTART, which waits for the writer of the moment and holds the next one back
// for as long as it takes to copy the few frames PASSIVE has not copied yet; it takes the
// process's write lock for that (sqlite-write-lock.ts), so the writers queue rather than sleep.
// The lock's module is TypeScript, loaded through tsx the first time a RESTART is due (under
// sustained writes only): loading it at start would hold every store's close back by 0.1 s.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { file, intervalMs, restartPages } = workerData;
const db = new Database(file, { fileMustExist: true, timeout: 2_000 });
let writeLock;
let busy = false;
let stopped = false;
let failures = 0;

async function loadWriteLock() {
  const { register } = await import('tsx/esm/api');
  register();
  const { SqliteWriteLock } = await import('./sqlite-write-lock.ts');
  return new SqliteWriteLock(workerData.writeLock);
}

async function checkpoint() {
  const [passive] = db.pragma('wal_checkpoint(PASSIVE)');
  if (!passive || passive.log <= restartPages) return;
  writeLock ??= await loadWriteLock();
  if (stopped) return;
  writeLock.acquireSync();
  try {
    db.pragma('wal_checkpoint(RESTART)');
  } finally {
    writeLock.release();
  }
}

const timer = setInterval(() => {
  if (busy) return;
  busy = true;
  checkpoint().then(
    () => {
      failures = 0;
    },
    (error) => {
      // Reported once per run of failures, not every interval.
      if (failures++ === 0) parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
    },
  ).finally(() => {
    busy = false;
  });
}, intervalMs);

parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  stopped = true;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
