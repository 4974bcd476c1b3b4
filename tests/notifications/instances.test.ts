import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.js';
import { createStore } from '../../src/store/store.js';
import { testConfig } from '../setup/app.js';
import { waitUntil } from '../setup/deployments.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { recordDeployment } from '../setup/notifications.js';
import { type Receiver, startReceiver } from '../setup/receiver.js';

/*
 * Two Fraisier instances on one PostgreSQL database, both sending: every notification is sent by
 * one of them, once (FOR UPDATE SKIP LOCKED and the lease), and both take a share.
 */

const postgres = DIALECTS.find((d) => d.name === 'postgres')!;
const COUNT = 60;

describe('two instances on PostgreSQL', async () => {
  const skip = await postgres.unavailable();
  let database: TestDatabase;
  let receiver: Receiver;
  const apps: App[] = [];
  const seen = new Map<string, number>();

  beforeAll(async () => {
    if (skip) return;
    database = await postgres.createDatabase();
    receiver = await startReceiver((request) => {
      const id = String(request.headers['webhook-id']);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      return { status: 200, delayMs: 10 };
    });
    const config = testConfig(`
fraisier:
  poll_interval: 0.2s
notifications:
  on_failure: [{ type: webhook, url: "${receiver.url}/hooks" }]
fraises:
  api:
    type: api
    environments:
      production: { target: { provider: bare-metal, app_path: /srv/api } }
`);
    for (const name of ['one', 'two']) {
      const app = createApp({ config, store: createStore(database.url, { poolSize: 4 }), logger: pino({ level: 'silent' }), instanceId: `instance-${name}` });
      await app.init();
      apps.push(app);
    }
  });
  afterAll(async () => {
    for (const app of apps) await app.stop();
    await receiver?.close();
    await database?.drop();
  });

  it.skipIf(skip)('sends each notification once, from one instance or the other', async () => {
    const [one, two] = apps as [App, App];
    for (let i = 0; i < COUNT; i++) {
      await recordDeployment(one.store, one.outbox, { status: 'failed', errorMessage: `failure ${i}`, at: Date.now(), commit: i.toString(16).padStart(40, '0') });
    }
    await Promise.all([one.startWorkers(), two.startWorkers()]);
    one.sender.wake();
    two.sender.wake();
    const store = one.store;
    await waitUntil(async () => {
      const rows = await store.db.selectFrom('tb_notification').select('status').execute();
      return rows.length === COUNT && rows.every((r) => r.status === 'delivered');
    }, { timeoutMs: 60_000, what: 'every notification delivered' });
    expect(seen.size).toBe(COUNT);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    const attempts = await store.db.selectFrom('tb_notification_attempt').select(['instance']).execute();
    expect(attempts).toHaveLength(COUNT);
    const byInstance = new Set(attempts.map((a) => a.instance));
    expect(byInstance).toEqual(new Set(['instance-one', 'instance-two']));
  });
});
