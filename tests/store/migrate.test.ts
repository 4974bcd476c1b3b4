import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../db/migrate.js';
import { createStore } from '../../src/store/store.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';

const run = promisify(execFile);

for (const dialect of DIALECTS) {
  describe(`migrations on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let database: TestDatabase;
    beforeAll(async () => {
      if (!skip) database = await dialect.createDatabase();
    });
    afterAll(async () => {
      await database?.drop();
    });

    it.skipIf(skip)('apply from two processes at once, each migration exactly once, then are a no-op', async () => {
      const child = () => run(process.execPath, ['--import', 'tsx', 'tests/setup/migrate-child.ts', database.url], { timeout: 60_000 });
      const [a, b] = await Promise.all([child(), child()]);
      const applied = [...JSON.parse(a.stdout), ...JSON.parse(b.stdout)];
      expect(applied.sort()).toEqual(Object.keys(MIGRATIONS).sort());

      const store = createStore(database.url, { poolSize: 2 });
      try {
        expect(await store.migrate()).toEqual([]);
        expect(await store.readiness()).toEqual({ ready: true });
      } finally {
        await store.close();
      }
    });

    it.skipIf(skip)('says the store is not ready before migrating', async () => {
      const fresh = await dialect.createDatabase();
      const store = createStore(fresh.url, { poolSize: 2 });
      try {
        expect(await store.readiness()).toMatchObject({ ready: false });
      } finally {
        await store.close();
        await fresh.drop();
      }
    });
  });
}

describe('an unreachable store', () => {
  it('is not ready, with a reason that keeps the password out', async () => {
    const store = createStore('postgres://fraisier:topsecret@127.0.0.1:1/nowhere', { connectTimeoutMs: 1_000 });
    try {
      const readiness = await store.readiness();
      expect(readiness.ready).toBe(false);
      expect(JSON.stringify(readiness)).not.toContain('topsecret');
      expect(store.description).toBe('postgres://fraisier:***@127.0.0.1:1/nowhere');
    } finally {
      await store.close();
    }
  });
});
