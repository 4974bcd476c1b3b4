import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.js';
import { createStore } from '../../src/store/store.js';
import { testConfig } from '../setup/app.js';
import { DIALECTS, type DialectFixture, type TestDatabase } from '../setup/dialects.js';
import { proxyDatabase } from '../setup/tcp-proxy.js';
import { deliver, deploymentsOf, eventRows, GITHUB_MASTER_SHA, githubHeaders, githubMasterPush, NOW, WEBHOOK_CONFIG, withCommit } from '../webhooks/support.js';

/*
 * The store stalls while deliveries arrive: SQLite locked by another process, a table locked on
 * PostgreSQL or MySQL, or PostgreSQL's link stalled (packets no longer flow, nothing is closed).
 * Every delivery is answered 503 within 3 s (GitHub gives up at 10 s), /health keeps answering
 * at once meanwhile (the event loop never waits on the store), and once the store is back the
 * providers' retries record each delivery exactly once.
 */

const DELIVERIES = 5;
/** Well under GitHub's 10 s: the deadline the issue sets. */
const ANSWER_WITHIN_MS = 3_000;

/** Something that holds the store's lock until released. */
interface Hold {
  release(): Promise<void>;
}

/** Another process (as a CLI or a backup would be) holding SQLite's write lock. */
async function lockSqlite(database: TestDatabase): Promise<Hold> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked\\n');
    process.stdin.on('end', () => { db.exec('ROLLBACK'); db.close(); process.exit(0); });
    process.stdin.resume();`;
  const child: ChildProcess = spawn(process.execPath, ['-e', script, database.url.slice('sqlite:'.length)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  expect(String(chunk)).toBe('locked\n');
  return {
    async release() {
      const exited = once(child, 'exit');
      child.stdin!.end();
      await exited;
    },
  };
}

async function lockPostgresTable(database: TestDatabase): Promise<Hold> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE tb_webhook_event IN ACCESS EXCLUSIVE MODE');
  return {
    async release() {
      await client.query('ROLLBACK');
      await client.end();
    },
  };
}

async function lockMysqlTable(database: TestDatabase): Promise<Hold> {
  const connection = await createConnection({ uri: database.url });
  await connection.query('LOCK TABLES tb_webhook_event WRITE');
  return {
    async release() {
      await connection.query('UNLOCK TABLES');
      await connection.end();
    },
  };
}

const LOCKS: Record<DialectFixture['name'], (database: TestDatabase) => Promise<Hold>> = {
  sqlite: lockSqlite,
  postgres: lockPostgresTable,
  mysql: lockMysqlTable,
};

/** Polls /health until stopped; what each answer took. */
function pollHealth(url: string): { stop(): Promise<number[]> } {
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const response = await fetch(`${url}/health`);
      await response.text();
      expect(response.status).toBe(200);
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return latencies;
    },
  };
}

interface Delivery {
  body: string;
  headers: Record<string, string>;
}

/** Sends DELIVERIES pushes (each of its own commit) at once while the store stalls; checks the answers and /health. */
async function deliverWhileStalled(url: string, tag: string): Promise<Delivery[]> {
  const deliveries = await Promise.all(
    Array.from({ length: DELIVERIES }, async (_, i) => {
      const body = withCommit(githubMasterPush(), GITHUB_MASTER_SHA);
      return { body, headers: await githubHeaders(body, { delivery: `${tag}-${i}` }) };
    }),
  );
  const health = pollHealth(url);
  const answers = await Promise.all(
    deliveries.map(async ({ body, headers }) => {
      const started = performance.now();
      const answer = await deliver(url, '/webhook', body, headers);
      return { ...answer, ms: performance.now() - started };
    }),
  );
  const latencies = await health.stop();
  for (const answer of answers) {
    expect(answer.status).toBe(503);
    expect(answer.json).toMatchObject({ accepted: false, code: 'STORE_UNAVAILABLE' });
    expect(answer.ms).toBeLessThan(ANSWER_WITHIN_MS);
  }
  // /health answered all along, never held behind the store (it was frozen for seconds before).
  expect(latencies.length).toBeGreaterThan(5);
  latencies.sort((a, b) => a - b);
  expect(latencies[Math.floor(latencies.length / 2)]!).toBeLessThan(100);
  expect(latencies.at(-1)!).toBeLessThan(500);
  return deliveries;
}

/** The providers retry: each delivery recorded exactly once, with one deployment. */
async function redeliver(app: App, url: string, deliveries: Delivery[]): Promise<void> {
  for (const { body, headers } of deliveries) expect((await deliver(url, '/webhook', body, headers)).status).toBe(202);
  for (const { body, headers } of deliveries) expect((await deliver(url, '/webhook', body, headers)).json.duplicate).toBe(true);
  const rows = await eventRows(app);
  for (const { headers } of deliveries) {
    const recorded = rows.filter((r) => r.delivery_id === headers['x-github-delivery']);
    expect(recorded).toHaveLength(1);
    expect(await deploymentsOf(app, recorded[0]!.id)).toHaveLength(1);
  }
}

describe.each(DIALECTS)('when the store stalls ($name)', async (dialect) => {
  const skip = await dialect.unavailable();
  const disposers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const dispose of disposers.splice(0).reverse()) await dispose();
  });

  async function start(storeUrl: string): Promise<{ app: App; url: string }> {
    // The dispatcher runs nothing: only what is recorded counts here.
    const app = createApp({ config: testConfig(WEBHOOK_CONFIG), store: createStore(storeUrl, { poolSize: 5 }), logger: pino({ level: process.env.DEBUG_LOG ?? 'silent' }), now: () => NOW, accept: () => false });
    disposers.push(() => app.stop());
    const { url } = await app.start({ port: 0 });
    return { app, url };
  }

  it.skipIf(skip)('answers 503 within 3 s while another holds the lock, /health stays fast, and retries record each delivery once', async () => {
    const database = await dialect.createDatabase();
    disposers.push(() => database.drop());
    const { app, url } = await start(database.url);
    const hold = await LOCKS[dialect.name](database);
    let deliveries: Delivery[];
    try {
      deliveries = await deliverWhileStalled(url, 'locked');
    } finally {
      await hold.release();
    }
    expect((await eventRows(app)).length).toBe(0);
    await redeliver(app, url, deliveries);
  });

  it.skipIf(skip || dialect.name !== 'postgres')('answers 503 within 3 s while the link to PostgreSQL stalls, and recovers without a restart', async () => {
    const database = await dialect.createDatabase();
    disposers.push(() => database.drop());
    const { proxy, url: proxied } = await proxyDatabase(database.url);
    disposers.push(() => proxy.close());
    const { app, url } = await start(proxied);
    // Connections open and in the pool, then nothing flows on them any more.
    await proxy.stall();
    let deliveries: Delivery[];
    try {
      deliveries = await deliverWhileStalled(url, 'stalled');
    } finally {
      await proxy.resume();
    }
    await redeliver(app, url, deliveries);
  });
});
