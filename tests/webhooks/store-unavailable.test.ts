import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.js';
import { createStore } from '../../src/store/store.js';
import { testConfig } from '../setup/app.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { proxyDatabase, type TcpProxy } from '../setup/tcp-proxy.js';
import { deliver, deploymentsOf, eventRows, githubHeaders, githubMasterPush, NOW, WEBHOOK_CONFIG } from './support.js';

/*
 * The store goes away mid-life (PostgreSQL behind a proxy that cuts every connection and
 * refuses new ones): deliveries are answered 503, so the provider retries, nothing is half
 * written, and the retry after the store is back queues exactly what the delivery asks for.
 */

const postgres = DIALECTS.find((d) => d.name === 'postgres')!;

describe('when PostgreSQL goes away', async () => {
  const skip = await postgres.unavailable();
  let database: TestDatabase;
  let proxy: TcpProxy;
  let app: App;
  let url: string;

  beforeAll(async () => {
    if (skip) return;
    database = await postgres.createDatabase();
    const proxied = await proxyDatabase(database.url);
    proxy = proxied.proxy;
    app = createApp({
      config: testConfig(WEBHOOK_CONFIG),
      store: createStore(proxied.url, { poolSize: 3, connectTimeoutMs: 2_000 }),
      logger: pino({ level: 'silent' }),
      now: () => NOW,
    });
    ({ url } = await app.start({ port: 0 }));
  });
  afterAll(async () => {
    if (skip) return;
    await proxy.up();
    await app.stop();
    await proxy.close();
    await database.drop();
  });

  it.skipIf(skip)('answers 503 while it is gone, and the redelivery afterwards queues exactly one deployment', async () => {
    const body = githubMasterPush();
    expect((await deliver(url, '/webhook', body, await githubHeaders(body))).status).toBe(202);

    const headers = await githubHeaders(body, { delivery: 'during-outage' });
    await proxy.down();
    let outage;
    try {
      outage = await deliver(url, '/webhook', body, headers);
    } finally {
      await proxy.up();
    }
    expect(outage.status).toBe(503);
    expect(outage.json).toEqual({ accepted: false, code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/^the store is unavailable: /) });
    expect(outage.text).not.toContain('postgres://');

    const redelivered = await deliver(url, '/webhook', body, headers);
    expect(redelivered.status).toBe(202);
    const again = await deliver(url, '/webhook', body, headers);
    expect(again.json.duplicate).toBe(true);
    const rows = (await eventRows(app)).filter((r) => r.delivery_id === 'during-outage');
    expect(rows).toHaveLength(1);
    expect(await deploymentsOf(app, rows[0]!.id)).toHaveLength(1);
  });
});
