import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { changeFraiseStatus, findFraiseState } from '../../src/store/fraise-state.repository.js';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd, waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { createServiceRepo, freePort, helloConfig, helloEnvironment, type ServiceRepo } from '../setup/service-repo.js';

/*
 * Continuous health, for real: the hello service deployed from a git repository, the monitor
 * checking it every 0.3 s. The service dies after a healthy deployment (its own stop script, as
 * a crash would): a subscriber over graphql-ws hears HEALTHY → DOWN once, and Environment.status
 * says DOWN; it is started again (its restart script, as systemd would): DOWN → HEALTHY, once. On each dialect.
 */

const CHANGES = `subscription($f: String, $e: String) { environmentStatusChanged(fraise: $f, environment: $e) { fraise environment status previous message at } }`;

interface Change {
  fraise: string;
  environment: string;
  status: string;
  previous: string;
  message: string;
  at: string;
}

for (const dialect of DIALECTS) {
  describe(`the health monitor on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: TestApp;
    let repo: ServiceRepo;
    let client: Client;
    let port: number;
    const changes: Change[] = [];
    const others: Change[] = [];

    beforeAll(async () => {
      if (skip) return;
      repo = createServiceRepo();
      port = await freePort();
      const yaml = `${helloConfig(helloEnvironment(repo, port, { retries: 3 }))}\nmonitor:\n  interval: 0.3s\n`;
      t = await createTestApp(dialect, { config: testConfig(yaml) });
      const { url } = await t.app.start({ port: 0 });
      client = createClient({ url: `${url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
      const listen = (variables: Record<string, string>, into: Change[]) =>
        new Promise<void>((resolve, reject) => {
          client.subscribe({ query: CHANGES, variables }, { next: (r) => (r.errors ? reject(new Error(JSON.stringify(r.errors))) : into.push(r.data!.environmentStatusChanged as Change)), error: reject, complete: () => {} });
          resolve();
        });
      await listen({ f: 'hello', e: 'local' }, changes);
      // Another environment's subscriber hears nothing of this one.
      await listen({ f: 'hello', e: 'elsewhere' }, others);
      await waitUntil(() => t.app.bus.listensHere('environmentStatus', ''), { what: 'the subscriptions' });
    });
    afterAll(async () => {
      await client?.dispose();
      await t?.dispose();
      repo?.dispose();
    });

    /** Runs the service's own script in the release `current` points at, outside Fraisier. */
    const service = (script: 'stop' | 'restart') =>
      execFileSync(join(repo.appPath, 'current', 'bin', script), {
        cwd: join(repo.appPath, 'current'),
        env: { ...process.env, FRAISIER_SHARED_PATH: join(repo.appPath, 'shared'), PORT: String(port) },
      });
    const status = async () => (await gql(t.app, `{ status(fraise: "hello", environment: "local") }`)).data.status as string;

    it.skipIf(skip)('a service that dies after a healthy deployment: DOWN, announced once; back: HEALTHY, announced once', async () => {
      const A = repo.commit('A');
      const queued = await gql(t.app, `mutation($c: String) { deploy(fraise: "hello", environment: "local", commit: $c) { deployment { id } } }`, { c: A });
      expect(await waitForEnd(t.app, queued.data.deploy.deployment.id)).toMatchObject({ status: 'success' });
      expect(await status()).toBe('HEALTHY');

      service('stop');
      await waitUntil(() => changes.length >= 1, { what: 'the DOWN event', timeoutMs: 30_000 });
      expect(changes[0]).toMatchObject({ fraise: 'hello', environment: 'local', status: 'DOWN', previous: 'HEALTHY' });
      expect(changes[0]!.message).toMatch(/ECONNREFUSED/);
      expect(Number.isNaN(Date.parse(changes[0]!.at))).toBe(false);
      expect(await status()).toBe('DOWN');
      const env = await gql(t.app, `{ fraise(name: "hello") { environments { name status } } }`);
      expect(env.data.fraise.environments).toEqual([{ name: 'local', status: 'DOWN' }]);

      service('restart');
      await waitUntil(() => changes.length >= 2, { what: 'the HEALTHY event', timeoutMs: 30_000 });
      expect(changes[1]).toMatchObject({ fraise: 'hello', environment: 'local', status: 'HEALTHY', previous: 'DOWN', message: 'HTTP 200' });
      expect(await status()).toBe('HEALTHY');

      // A few more passes over a healthy service: no more events (a change is announced once).
      const passes = await Promise.all([t.app.monitor.checkAll(), t.app.monitor.checkAll()]);
      expect(passes.flat()).toEqual([]);
      expect(changes).toHaveLength(2);
      expect(others).toEqual([]);
    });

    it.skipIf(skip)('a change is recorded once: a check that read the row before another wrote it records nothing', async () => {
      const db = t.app.store.db;
      const before = (await db.selectFrom('tb_fraise_state').select(['status', 'updated_at']).where('fraise', '=', 'hello').executeTakeFirstOrThrow());
      const change = { fraise: 'hello', environment: 'local', from: before.status, seenAt: before.updated_at };
      // Two instances saw the same change from the same row: the first records it, the second finds the row changed.
      expect(await changeFraiseStatus(db, { ...change, to: 'degraded', at: new Date(Date.now() + 1000).toISOString() })).toBe(true);
      expect(await changeFraiseStatus(db, { ...change, to: 'degraded', at: new Date(Date.now() + 2000).toISOString() })).toBe(false);
      expect((await findFraiseState(db, 'hello', 'local'))?.status).toBe('degraded');
    });
  });
}
