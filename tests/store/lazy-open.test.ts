import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { createStore } from '../../src/store/store.js';
import { BASIC_CONFIG, testConfig } from '../setup/app.js';

/*
 * Wiring does no I/O: the store is opened by its first query (in an app, by init). SQLite only:
 * it is the dialect whose opening is visible (a file and its directory); the PostgreSQL and
 * MySQL pools connect on first use by themselves.
 */
describe('opening the store', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'fraisier-open-'));
    dirs.push(dir);
    return dir;
  };

  it('createStore touches no file; the first query creates the directory and the SQLite file', async () => {
    const file = join(tempDir(), 'data', 'fraisier.db');
    const store = createStore(`sqlite:${file}`);
    try {
      expect(existsSync(dirname(file))).toBe(false);
      expect(await store.readiness()).toEqual({ ready: false, reason: 'migrations not applied yet' });
      expect(existsSync(file)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('createApp wires without opening the store; init opens and migrates it', async () => {
    const file = join(tempDir(), 'fraisier.db');
    const app = createApp({
      config: testConfig(BASIC_CONFIG, { FRAISIER_DATABASE_URL: `sqlite:${file}` }),
      logger: pino({ level: 'silent' }),
      scheduler: false,
    });
    try {
      expect(existsSync(file)).toBe(false);
      await app.init();
      expect(existsSync(file)).toBe(true);
      expect(await app.store.readiness()).toEqual({ ready: true });
    } finally {
      await app.stop();
    }
  });
});
