import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProxiedTestApp, startAppBehindProxy, testConfig } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';
import { deliver, deploymentsOf, eventRows, githubHeaders, githubMasterPush, NOW, WEBHOOK_CONFIG } from './support.js';

/*
 * The store goes away mid-life (PostgreSQL behind a proxy that cuts every connection and
 * refuses new ones): deliveries are answered 503, so the provider retries, nothing is half
 * written, and the retry after the store is back queues exactly what the delivery asks for.
 */

const postgres = DIALECTS.find((d) => d.name === 'postgres')!;

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
    const body = githubMasterPush();
    expect((await deliver(t.url, '/webhook', body, await githubHeaders(body))).status).toBe(202);

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
