import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../../src/store/store.js';

/*
 * SQLite's WAL is checkpointed by a worker thread, not by the connection that answers
 * requests: the main connection's automatic checkpoints are off, yet the WAL stays bounded
 * under sustained writes, and it is gone once the store is closed.
 */

const dirs: string[] = [];
const stores: Store[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function open(options: Parameters<typeof createStore>[1]) {
  const dir = mkdtempSync(join(tmpdir(), 'fraisier-wal-'));
  dirs.push(dir);
  const file = join(dir, 'fraisier.db');
  const store = createStore(`sqlite:${file}`, options);
  stores.push(store);
  return { store, file };
}

/**
 * Writes `seconds` worth of small transactions of 8 KiB rows, as webhook deliveries do, at up
 * to 16 MB/s (20 rows every 10 ms): far above any real webhook traffic, within what a disk
 * absorbs twice (the WAL, then the database file).
 */
async function writeFor(store: Store, seconds: number, onTick: () => void): Promise<number> {
  await store.withSqlite!((db) => db.exec('CREATE TABLE blob_rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)'));
  const body = 'x'.repeat(8_192);
  const until = Date.now() + seconds * 1_000;
  let rows = 0;
  while (Date.now() < until) {
    await store.withSqlite!((db) => {
      const insert = db.prepare('INSERT INTO blob_rows (body) VALUES (?)');
      db.transaction(() => {
        for (let i = 0; i < 20; i++) insert.run(body);
      })();
    });
    rows += 20;
    onTick();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return rows;
}

const walBytes = (file: string) => (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);

describe('the SQLite WAL checkpoint worker', () => {
  it('keeps the WAL bounded under sustained writes, with checkpoints off on the main connection', { timeout: 30_000 }, async () => {
    const { store, file } = open({ checkpointInWorker: { intervalMs: 50, restartPages: 200 } });
    expect(await store.withSqlite!((db) => db.pragma('wal_autocheckpoint', { simple: true }))).toBe(0);
    let largest = 0;
    const rows = await writeFor(store, 3, () => (largest = Math.max(largest, walBytes(file))));
    const written = rows * 8_192;
    // Everything written reached the database file (the main connection copied nothing itself).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(statSync(file).size).toBeGreaterThan(written * 0.5);
    // The WAL restarted from its beginning again and again: far smaller than what went through it.
    expect(written).toBeGreaterThan(10 * 1024 * 1024);
    expect(largest).toBeLessThan(written / 4);
  });

  it('without the worker (and with automatic checkpoints off), the same writes pile up in the WAL', { timeout: 30_000 }, async () => {
    const { store, file } = open({ checkpointInWorker: false });
    await store.withSqlite!((db) => db.pragma('wal_autocheckpoint = 0'));
    let largest = 0;
    const rows = await writeFor(store, 1, () => (largest = Math.max(largest, walBytes(file))));
    expect(largest).toBeGreaterThan(rows * 8_192);
  });

  it('stops with the store: the worker lets go of the file and the WAL is folded back', async () => {
    const { store, file } = open({});
    await writeFor(store, 0.3, () => {});
    await store.close();
    expect(existsSync(`${file}-wal`)).toBe(false);
    expect(statSync(file).size).toBeGreaterThan(0);
  });
});
