import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { createStore } from '../../src/store/store.js';
import { type ProxiedTestApp, startAppBehindProxy, testConfig } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';
import { capturingLogger, deliver, deploymentsOf, eventRows, GITHUB_MASTER_SHA, githubHeaders, githubMasterPush, NOW, WEBHOOK_CONFIG, withCommit } from './support.js';

/*
 * The store goes away mid-life (PostgreSQL behind a proxy that cuts every connection and
 * refuses new ones), or cannot be written for longer than the busy timeout (another process
 * holds SQLite's lock): deliveries are answered 503, so the provider retries, nothing is half
 * written, and the retry after the store is back queues exactly what the delivery asks for.
 */

const postgres = DIALECTS.find((d) => d.name === 'postgres')!;
const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

describe('when PostgreSQL goes away', async () => {
  const skip = await postgres.unavailable();
  let t: ProxiedTestApp;

  beforeAll(async () => {
    if (!skip) t = await startAppBehindProxy(postgres, testConfig(WEBHOOK_CONFIG), { poolSize: 3, connectTimeoutMs: 2_000, now: () => NOW });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it.skipIf(skip)('answers 503 while it is gone, and the redelivery afterwards queues exactly one deployment', async () => {
    const first = githubMasterPush();
    expect((await deliver(t.url, '/webhook', first, await githubHeaders(first))).status).toBe(202);

    // The next push (another commit): the same one again would queue nothing.
    const body = withCommit(first, GITHUB_MASTER_SHA);
    const headers = await githubHeaders(body, { delivery: 'during-outage' });
    await t.proxy.down();
    let outage;
    try {
      outage = await deliver(t.url, '/webhook', body, headers);
    } finally {
      await t.proxy.up();
    }
    expect(outage.status).toBe(503);
    expect(outage.json).toEqual({ accepted: false, code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/^the store is unavailable: /) });
    expect(outage.text).not.toContain('postgres://');

    const redelivered = await deliver(t.url, '/webhook', body, headers);
    expect(redelivered.status).toBe(202);
    const again = await deliver(t.url, '/webhook', body, headers);
    expect(again.json.duplicate).toBe(true);
    const rows = (await eventRows(t.app)).filter((r) => r.delivery_id === 'during-outage');
    expect(rows).toHaveLength(1);
    expect(await deploymentsOf(t.app, rows[0]!.id)).toHaveLength(1);
  });
});

describe('when another process holds SQLite\'s write lock', () => {
  it('answers 503 past the busy timeout, logs why, and the redelivery afterwards queues exactly one deployment', async () => {
    const database = await sqlite.createDatabase();
    const { logger, lines } = capturingLogger();
    // SQLite's lock waited for 300 ms at most; the dispatcher runs nothing (only what is recorded counts).
    const app = createApp({ config: testConfig(WEBHOOK_CONFIG), store: createStore(database.url, { waitTimeoutMs: 300 }), logger, now: () => NOW, accept: () => false });
    try {
      await app.init();
      const { url } = await app.start({ port: 0 });
      const first = githubMasterPush();
      expect((await deliver(url, '/webhook', first, await githubHeaders(first, { delivery: 'before' }))).status).toBe(202);
      const body = withCommit(first, GITHUB_MASTER_SHA);

      // A CLI in local mode, say, in the middle of a write.
      const other = new BetterSqlite3(database.url.slice('sqlite:'.length));
      other.exec('BEGIN IMMEDIATE');
      const headers = await githubHeaders(body, { delivery: 'during' });
      let answer;
      try {
        answer = await deliver(url, '/webhook', body, headers);
      } finally {
        other.exec('ROLLBACK');
        other.close();
      }
      expect(answer.status).toBe(503);
      expect(answer.json).toEqual({ accepted: false, code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/^the store is unavailable: database is locked/) });
      expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual(['webhook delivery not recorded: the store is unavailable']);
      expect((await eventRows(app)).map((r) => r.delivery_id)).toEqual(['before']);

      expect((await deliver(url, '/webhook', body, headers)).status).toBe(202);
      expect((await deliver(url, '/webhook', body, headers)).json.duplicate).toBe(true);
      const rows = (await eventRows(app)).filter((r) => r.delivery_id === 'during');
      expect(rows).toHaveLength(1);
      expect(await deploymentsOf(app, rows[0]!.id)).toHaveLength(1);
    } finally {
      await app.stop();
      await database.drop();
    }
  });
});
