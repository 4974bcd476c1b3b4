import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../../src/store/store.js';
import { type ProxiedTestApp, startAppBehindProxy, testConfig } from '../setup/app.js';
import { startServer, type ServerProcess } from '../setup/cli.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { GITHUB_MASTER_SHA, githubHeaders, githubMasterPush, withCommit } from '../webhooks/support.js';

/*
 * Deliveries keep arriving while things break. kill -9 of the server in the middle of 1,000
 * deliveries: after a restart, every delivery answered 2xx is recorded exactly once, and
 * redelivering the others records each once. PostgreSQL cut off in the middle of ingest: 503s,
 * nothing half written, and full recovery without a restart when it comes back.
 */

const SECRET = 'fault-suite-github-secret-0123';
const CONFIG = `
git:
  github:
    webhook_secret: ${SECRET}
fraises:
  site:
    type: custom
    environments:
      production:
        branch: master
        app_path: /tmp/fraisier-fault-ingest
        steps: [{ name: noop, command: ["true"] }]
`;

type Outcome = number | 'refused';

/**
 * Delivery `id`'s push: a commit of its own (the same every time it is sent), since a push of a
 * commit already queued or deployed queues nothing.
 */
function pushOf(id: string): string {
  return withCommit(githubMasterPush(), GITHUB_MASTER_SHA, createHash('sha1').update(id).digest('hex'));
}

/** Sends `ids` as signed GitHub pushes, `concurrency` at a time; the status each got (or `refused`). */
async function send(url: () => string, ids: readonly string[], concurrency: number, onEach?: (sent: number) => void | Promise<void>): Promise<Map<string, Outcome>> {
  const outcomes = new Map<string, Outcome>();
  let next = 0;
  let sent = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++]!;
      const body = pushOf(id);
      try {
        const response = await fetch(`${url()}/webhook/github`, {
          method: 'POST',
          headers: await githubHeaders(body, { secret: SECRET, delivery: id }),
          body,
          signal: AbortSignal.timeout(10_000),
        });
        await response.text();
        outcomes.set(id, response.status);
      } catch {
        outcomes.set(id, 'refused');
      }
      await onEach?.(++sent);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return outcomes;
}

/** Rows per delivery id, and each event's deployments: the store's own account of what arrived. */
async function accounting(store: Store) {
  const events = await store.db.selectFrom('tb_webhook_event').select(['id', 'delivery_id']).execute();
  const deployments = await store.db
    .selectFrom('tb_deployment as d')
    .innerJoin('tb_deployment_request as r', 'r.id', 'd.fk_request')
    .select(['r.fk_webhook_event as event'])
    .execute();
  const rowsPerDelivery = new Map<string, number>();
  for (const e of events) rowsPerDelivery.set(e.delivery_id!, (rowsPerDelivery.get(e.delivery_id!) ?? 0) + 1);
  const deploymentsPerEvent = new Map<number, number>();
  for (const d of deployments) deploymentsPerEvent.set(Number(d.event), (deploymentsPerEvent.get(Number(d.event)) ?? 0) + 1);
  return { events, rowsPerDelivery, deploymentsPerEvent, deploymentCount: deployments.length };
}

/** Every recorded delivery has exactly one row and exactly one deployment: nothing half written. */
function expectWhole(account: Awaited<ReturnType<typeof accounting>>): void {
  for (const [delivery, rows] of account.rowsPerDelivery) expect(rows, delivery).toBe(1);
  for (const event of account.events) expect(account.deploymentsPerEvent.get(Number(event.id)) ?? 0, `event ${event.id}`).toBe(1);
  expect(account.deploymentCount).toBe(account.events.length);
}

for (const dialect of DIALECTS) {
  describe(`kill -9 during ingest on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let database: TestDatabase;
    let dir: string;
    const servers: ServerProcess[] = [];
    beforeAll(async () => {
      if (skip) return;
      database = await dialect.createDatabase();
      dir = mkdtempSync(join(tmpdir(), 'fraisier-ingest-kill-'));
      writeFileSync(join(dir, 'fraises.yaml'), `fraisier:\n  webhook: { rate_limit: false }\n${CONFIG}`);
    });
    afterAll(async () => {
      for (const server of servers) if (server.child.exitCode === null) await server.stop('SIGKILL');
      await database?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it.skipIf(skip)('keeps every acknowledged delivery exactly once, and the redelivery of the rest deploys each once', { timeout: 180_000 }, async () => {
      const start = async () => {
        const server = await startServer(['--config', join(dir, 'fraises.yaml'), '--database', database.url], { cwd: dir });
        servers.push(server);
        return server;
      };
      let server = await start();
      const ids = Array.from({ length: 1_000 }, (_, i) => `kill-${dialect.name}-${i}`);
      let killed = false;
      const first = await send(() => server.url, ids, 10, (sent) => {
        if (sent === 300 && !killed) {
          killed = true;
          server.child.kill('SIGKILL');
        }
      });
      expect(killed).toBe(true);
      const before = [...first.values()].slice(0, 250);
      expect(before.filter((s) => s !== 202 && s !== 200), `before the kill: ${JSON.stringify(before.filter((s) => s !== 202))}`).toEqual([]);
      const acknowledged = [...first].filter(([, status]) => status === 202 || status === 200).map(([id]) => id);
      expect(acknowledged.length).toBeGreaterThanOrEqual(250);
      expect(acknowledged.length).toBeLessThan(1_000);

      server = await start();
      const store = createStore(database.url, { poolSize: 2 });
      try {
        const afterCrash = await accounting(store);
        for (const id of acknowledged) expect(afterCrash.rowsPerDelivery.get(id), id).toBe(1);
        expectWhole(afterCrash);

        // The provider redelivers everything (GitHub's "redeliver"): each delivery ends up once.
        const second = await send(() => server.url, ids, 10);
        for (const [id, status] of second) expect([200, 202], `${id}: ${status}`).toContain(status);
        for (const id of acknowledged) expect(second.get(id), id).toBe(200);
        const final = await accounting(store);
        expect(final.rowsPerDelivery.size).toBe(1_000);
        expectWhole(final);
      } finally {
        await store.close();
      }
    });
  });
}

describe('PostgreSQL cut off during ingest', async () => {
  const postgres = DIALECTS.find((d) => d.name === 'postgres')!;
  const skip = await postgres.unavailable();
  let t: ProxiedTestApp;
  beforeAll(async () => {
    if (!skip) t = await startAppBehindProxy(postgres, testConfig(`fraisier:\n  webhook: { rate_limit: false }\n${CONFIG}`), { poolSize: 4, connectTimeoutMs: 1_000 });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it.skipIf(skip)('answers 503 while it is gone, writes nothing by halves, and recovers without a restart', { timeout: 120_000 }, async () => {
    const ids = Array.from({ length: 600 }, (_, i) => `cut-${i}`);
    // Counted, not timed: the store goes away after 150 answers and comes back after 300.
    const outcomes = await send(() => t.url, ids, 8, async (sent) => {
      if (sent === 150) await t.proxy.down();
      if (sent === 300) await t.proxy.up();
    });
    const statuses = [...outcomes.values()];
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 202 || s === 503), JSON.stringify([...new Set(statuses)])).toBe(true);
    // Recovered on its own: the last deliveries, after the store came back, were accepted.
    expect(outcomes.get(ids.at(-1)!)).toBe(202);

    const store = createStore(t.database.url, { poolSize: 2 });
    try {
      const account = await accounting(store);
      // A 202 is recorded. A 503 may be too: the commit can reach the database while its
      // acknowledgement is cut off. Either way whole, never half.
      for (const [id, status] of outcomes) expect(account.rowsPerDelivery.get(id) ?? 0, `${id}: ${status}`).toBeLessThanOrEqual(1);
      for (const [id, status] of outcomes) if (status === 202) expect(account.rowsPerDelivery.get(id), id).toBe(1);
      expectWhole(account);
      // The provider retries the 503s: recorded ones answer 200 (duplicate), the others 202.
      const refused = [...outcomes].filter(([, s]) => s === 503).map(([id]) => id);
      const retried = await send(() => t.url, refused, 8);
      for (const id of refused) expect(retried.get(id), id).toBe(account.rowsPerDelivery.has(id) ? 200 : 202);
      const final = await accounting(store);
      expect(final.rowsPerDelivery.size).toBe(ids.length);
      expectWhole(final);
    } finally {
      await store.close();
    }
  });
});
