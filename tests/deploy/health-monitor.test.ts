import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { HealthMonitor } from '../../src/deploy/health-monitor.js';
import type { EnvironmentStatusChange, HealthStatus } from '../../src/model.js';
import { NotificationOutbox } from '../../src/notifications/outbox.js';
import { type AnyProvider, ProviderRegistry } from '../../src/providers/registry.js';
import type { TargetContext } from '../../src/providers/provider.js';
import { changeFraiseStatus, findFraiseState, updateFraiseState } from '../../src/store/fraise-state.repository.js';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd, waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { HoldProvider } from '../setup/hold-provider.js';
import { json } from '../setup/notifications.js';
import { type Receiver, startReceiver } from '../setup/receiver.js';
import { createServiceRepo, freePort, helloConfig, helloEnvironment, type ServiceRepo } from '../setup/service-repo.js';

/*
 * Continuous health, for real: the hello service deployed from a git repository, the monitor
 * checking it every 0.3 s. The service dies after a healthy deployment (its own stop script, as
 * a crash would): a subscriber over graphql-ws hears HEALTHY → DOWN once, Environment.status
 * says DOWN, and a local webhook endpoint (the on_failure list) receives one notification of it;
 * it is started again (its restart script, as systemd would): DOWN → HEALTHY, once, and a local
 * Slack stand-in (on_success) hears of the recovery. Two monitors sharing the store that both
 * saw the same change record it once and write one notification. On each dialect. Last, an
 * environment's own `monitor:`: its interval, or no checks at all.
 */

const CHANGES = `subscription($f: String, $e: String) { environmentStatusChanged(fraise: $f, environment: $e) { fraise environment status previous message at } }`;
const NOTIFIED = `{ notifications(first: 50) { eventId event fraise environment deployment { id } healthChange { fraise environment status previous message at } destination { type path } status } }`;
const PUBLIC_URL = 'https://deploy.example.com';
const SLACK_PATH = '/slack/T01/B02/sLaCkHoOkToKeN0123';
const ENV_URL = `${PUBLIC_URL}/#/environments/hello/local`;

interface Change {
  fraise: string;
  environment: string;
  status: string;
  previous: string;
  message: string;
  at: string;
}

interface Notified {
  eventId: string;
  event: string;
  deployment: { id: string } | null;
  healthChange: Change | null;
  destination: { type: string; path: string };
  status: string;
}

for (const dialect of DIALECTS) {
  describe(`the health monitor on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: TestApp;
    let repo: ServiceRepo;
    let client: Client;
    let receiver: Receiver;
    let port: number;
    const changes: Change[] = [];
    const others: Change[] = [];

    beforeAll(async () => {
      if (skip) return;
      repo = createServiceRepo();
      port = await freePort();
      receiver = await startReceiver();
      const yaml = `${helloConfig(helloEnvironment(repo, port, { retries: 3 })).replace('fraisier:\n', `fraisier:\n  public_url: ${PUBLIC_URL}\n`)}
notifications:
  retry_initial: 0.05s
  retry_max: 0.2s
  on_failure: [{ type: webhook, url: "${receiver.url}/hooks/failure" }]
  on_success: [{ type: slack, webhook_url: "${receiver.url}${SLACK_PATH}" }]
monitor:
  interval: 0.3s
`;
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
      await receiver?.close();
      repo?.dispose();
    });

    /** Runs the service's own script in the release `current` points at, outside Fraisier. */
    const service = (script: 'stop' | 'restart') =>
      execFileSync(join(repo.appPath, 'current', 'bin', script), {
        cwd: join(repo.appPath, 'current'),
        env: { ...process.env, FRAISIER_SHARED_PATH: join(repo.appPath, 'shared'), PORT: String(port) },
      });
    /** Whether the service answers its health check now (stop signals it and returns at once). */
    const answers = () => fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
    const status = async () => (await gql(t.app, `{ status(fraise: "hello", environment: "local") }`)).data.status as string;
    const notified = async () => (await gql<{ notifications: Notified[] }>(t.app, NOTIFIED)).data!.notifications;
    const healthNotified = async () => (await notified()).filter((n) => n.event === 'HEALTH');
    /** The webhook endpoint's requests, as (id, body). */
    const failureHooks = () => receiver.to('/hooks/failure').map((r) => ({ id: String(r.headers['webhook-id']), body: json(r.body) }));
    /** What the Slack stand-in heard of health (deployments' successes go there too). */
    const slackHealth = () => receiver.to(SLACK_PATH).map((r) => json(r.body)).filter((b) => /is (healthy|down|degraded)/.test(b.text));

    it.skipIf(skip)('a service that dies after a healthy deployment: DOWN, announced and notified once; back: HEALTHY, announced and notified once', async () => {
      const A = repo.commit('A');
      const queued = await gql(t.app, `mutation($c: String) { deploy(fraise: "hello", environment: "local", commit: $c) { deployment { id } } }`, { c: A });
      expect(await waitForEnd(t.app, queued.data.deploy.deployment.id)).toMatchObject({ status: 'success' });
      expect(await status()).toBe('HEALTHY');

      service('stop');
      await waitUntil(() => changes.length >= 1, { what: 'the DOWN event', timeoutMs: 30_000 });
      const down = changes[0]!;
      expect(down).toMatchObject({ fraise: 'hello', environment: 'local', status: 'DOWN', previous: 'HEALTHY' });
      expect(down.message).toMatch(/ECONNREFUSED/);
      expect(Number.isNaN(Date.parse(down.at))).toBe(false);
      expect(await status()).toBe('DOWN');
      const env = await gql(t.app, `{ fraise(name: "hello") { environments { name status } } }`);
      expect(env.data.fraise.environments).toEqual([{ name: 'local', status: 'DOWN' }]);

      // The on_failure webhook: one notification, delivered, in the webhook's shape.
      await waitUntil(async () => (await healthNotified()).some((n) => n.status === 'DELIVERED'), { what: 'the DOWN notification delivered' });
      const eventId = `hhello/local.down.${down.at}`;
      expect(failureHooks()).toEqual([
        {
          id: eventId,
          body: {
            type: 'health.down',
            timestamp: down.at,
            data: {
              event_id: eventId,
              fraise_name: 'hello',
              environment: 'local',
              event_type: 'health',
              status: 'down',
              previous_status: 'healthy',
              message: down.message,
              timestamp: down.at,
              url: ENV_URL,
            },
          },
        },
      ]);
      expect(await healthNotified()).toEqual([
        {
          eventId,
          event: 'HEALTH',
          fraise: 'hello',
          environment: 'local',
          deployment: null,
          healthChange: { fraise: 'hello', environment: 'local', status: 'DOWN', previous: 'HEALTHY', message: down.message, at: down.at },
          destination: { type: 'webhook', path: 'notifications.on_failure[0]' },
          status: 'DELIVERED',
        },
      ]);
      expect(slackHealth()).toEqual([]);

      service('restart');
      await waitUntil(() => changes.length >= 2, { what: 'the HEALTHY event', timeoutMs: 30_000 });
      const up = changes[1]!;
      expect(up).toMatchObject({ fraise: 'hello', environment: 'local', status: 'HEALTHY', previous: 'DOWN', message: 'HTTP 200' });
      expect(await status()).toBe('HEALTHY');

      // The recovery goes to on_success: the Slack stand-in, in Slack's shape.
      await waitUntil(async () => (await healthNotified()).filter((n) => n.status === 'DELIVERED').length === 2, { what: 'the recovery delivered' });
      const [recovery] = slackHealth();
      expect(slackHealth()).toHaveLength(1);
      expect(recovery.text).toBe('🟢 hello/local is healthy: HTTP 200 (was down)');
      expect(recovery.blocks[0].text.text).toBe('🟢 *hello/local is healthy again*');
      expect(recovery.blocks[1].fields.map((f: { text: string }) => f.text)).toEqual(['*Status*\nhealthy', '*Previously*\ndown']);
      expect(recovery.blocks.at(-1).elements[0].text).toBe(`<${ENV_URL}|Open hello/local>`);
      expect((await healthNotified())[0]).toMatchObject({ eventId: `hhello/local.healthy.${up.at}`, deployment: null, destination: { type: 'slack', path: 'notifications.on_success[0]' } });

      // A few more passes over a healthy service: no more events (a change is announced once).
      const passes = await Promise.all([t.app.monitor.checkAll(), t.app.monitor.checkAll()]);
      expect(passes.flat()).toEqual([]);
      expect(changes).toHaveLength(2);
      expect(others).toEqual([]);
      expect(failureHooks()).toHaveLength(1);
      expect(slackHealth()).toHaveLength(1);
      expect(await healthNotified()).toHaveLength(2);
    });

    it.skipIf(skip)('two monitors that saw the same change: one records it, one notification is written and sent', async () => {
      // Only the two monitors of this test check from now on.
      await t.app.monitor.stop();
      // The real health check, returning once both monitors have checked: both read the row before either writes.
      const pair = () => {
        let release!: () => void;
        return { both: new Promise<void>((resolve) => (release = resolve)), release: () => release() };
      };
      let arrived = 0;
      let gate = pair();
      const real = t.app.providers.get('bare-metal')!;
      const gated: AnyProvider = Object.assign(Object.create(real) as AnyProvider, {
        healthCheck: async (ctx: Parameters<AnyProvider['healthCheck']>[0]) => {
          const seen = await real.healthCheck(ctx);
          const mine = gate;
          if (++arrived % 2 === 0) {
            gate = pair();
            mine.release();
          }
          await mine.both;
          return seen;
        },
      });
      // Two instances' clocks differ: their changes would not share an event id, only the compare-and-set keeps one.
      const monitor = (skewMs: number) =>
        new HealthMonitor({
          store: t.app.store,
          catalog: t.app.services.catalog,
          providers: new ProviderRegistry().register(gated),
          bus: t.app.bus,
          logger: t.app.logger,
          now: () => new Date(Date.now() + skewMs),
          settings: { enabled: true, intervalSeconds: 60 },
          outbox: t.app.outbox,
        });
      const [one, two] = [monitor(0), monitor(7)];
      const healthRows = () => t.app.store.db.selectFrom('tb_notification').select(['event_id', 'fk_deployment']).where('event', '=', 'health').orderBy('id').execute();
      const rowsBefore = (await healthRows()).length;
      const hooksBefore = failureHooks().length;
      const slackBefore = slackHealth().length;

      service('stop');
      await waitUntil(() => answers().then((ok) => !ok), { what: 'the service to stop' });
      const down = (await Promise.all([one.checkAll(), two.checkAll()])).flat();
      expect(arrived).toBe(2);
      expect(down).toHaveLength(1);
      expect(down[0]).toMatchObject({ status: 'down', previous: 'healthy' });
      expect((await healthRows()).slice(rowsBefore)).toEqual([{ event_id: `hhello/local.down.${down[0]!.at}`, fk_deployment: null }]);
      await waitUntil(async () => (await healthNotified()).every((n) => n.status === 'DELIVERED'), { what: 'the DOWN notification delivered' });
      expect(failureHooks().slice(hooksBefore).map((h) => h.id)).toEqual([`hhello/local.down.${down[0]!.at}`]);

      service('restart');
      await waitUntil(answers, { what: 'the service to answer' });
      const up = (await Promise.all([one.checkAll(), two.checkAll()])).flat();
      expect(arrived).toBe(4);
      expect(up).toHaveLength(1);
      expect(up[0]).toMatchObject({ status: 'healthy', previous: 'down' });
      expect((await healthRows()).slice(rowsBefore)).toEqual([
        { event_id: `hhello/local.down.${down[0]!.at}`, fk_deployment: null },
        { event_id: `hhello/local.healthy.${up[0]!.at}`, fk_deployment: null },
      ]);
      await waitUntil(async () => (await healthNotified()).every((n) => n.status === 'DELIVERED'), { what: 'the recovery delivered' });
      expect(slackHealth().slice(slackBefore).map((b) => b.text)).toEqual(['🟢 hello/local is healthy: HTTP 200 (was down)']);
      expect(failureHooks().slice(hooksBefore)).toHaveLength(1);
    });

    it.skipIf(skip)('a change is recorded once: a check that read the row before another wrote it records nothing', async () => {
      const db = t.app.store.db;
      const before = await db.selectFrom('tb_fraise_state').select(['status', 'updated_at']).where('fraise', '=', 'hello').executeTakeFirstOrThrow();
      const change = { fraise: 'hello', environment: 'local', from: before.status as HealthStatus, seenAt: before.updated_at };
      // Two instances saw the same change from the same row: the first records it, the second finds the row changed.
      expect(await changeFraiseStatus(db, { ...change, to: 'degraded', at: new Date(Date.now() + 1000).toISOString() })).toBe(true);
      expect(await changeFraiseStatus(db, { ...change, to: 'degraded', at: new Date(Date.now() + 2000).toISOString() })).toBe(false);
      expect((await findFraiseState(db, 'hello', 'local'))?.status).toBe('degraded');
    });
  });
}

/** Says every environment is healthy (unless told otherwise), and remembers which it was asked about. */
class CountingProvider extends HoldProvider {
  readonly checked: string[] = [];
  readonly status = new Map<string, HealthStatus>();

  override async healthCheck(ctx?: TargetContext) {
    this.checked.push(ctx!.env.name);
    return { status: this.status.get(ctx!.env.name) ?? 'healthy', message: 'test' };
  }
}

/** An outbox whose next write fails (a store error in the middle of the transaction). */
class FailingOutbox extends NotificationOutbox {
  failNext = true;

  override async healthChanged(trx: Parameters<NotificationOutbox['healthChanged']>[0], change: EnvironmentStatusChange): Promise<number> {
    const written = await super.healthChanged(trx, change);
    if (this.failNext) {
      this.failNext = false;
      throw new Error('the store went away');
    }
    return written;
  }
}

describe('per-environment monitor settings', () => {
  const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
  let t: TestApp;
  const provider = new CountingProvider();

  beforeAll(async () => {
    t = await createTestApp(sqlite, {
      config: testConfig(`
monitor:
  interval: 1h
notifications:
  on_failure: [{ type: webhook, url: "http://127.0.0.1:9/hooks" }]
fraises:
  paced:
    type: api
    environments:
      fast:
        target: { provider: test-hold }
        monitor: { interval: 0.1s }
      slow:
        target: { provider: test-hold }
      off:
        target: { provider: test-hold }
        monitor: { enabled: false }
`),
    });
    t.app.providers.register(provider);
    for (const env of ['fast', 'slow', 'off']) await updateFraiseState(t.app.store.db, 'paced', env, { currentVersion: 'v1', status: 'healthy', updatedAt: new Date().toISOString() });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('checks each environment at its own interval, and never one whose monitor is off', async () => {
    // A pass over everything (what the timer does when all are due) skips only the one turned off.
    await t.app.monitor.checkAll();
    expect(provider.checked.sort()).toEqual(['fast', 'slow']);

    provider.checked.length = 0;
    t.app.monitor.start();
    await waitUntil(() => provider.checked.length >= 3, { what: 'three checks of the fast environment' });
    await t.app.monitor.stop();
    // The slow one is first due an hour after the start; the one turned off never is.
    expect(new Set(provider.checked)).toEqual(new Set(['fast']));
  });

  it('a change whose notifications cannot be written is not recorded either: the next check records both', async () => {
    const outbox = new FailingOutbox({ config: t.app.config, now: () => new Date() });
    const monitor = new HealthMonitor({
      store: t.app.store,
      catalog: t.app.services.catalog,
      providers: t.app.providers,
      bus: t.app.bus,
      logger: t.app.logger,
      now: () => new Date(),
      settings: t.app.config.monitor!,
      outbox,
    });
    const rows = () => t.app.store.db.selectFrom('tb_notification').select(['event_id', 'fk_deployment', 'status']).where('environment', '=', 'slow').execute();
    provider.status.set('slow', 'down');
    expect(await monitor.checkAll()).toEqual([]);
    expect((await findFraiseState(t.app.store.db, 'paced', 'slow'))?.status).toBe('healthy');
    expect(await rows()).toEqual([]);

    const [change] = await monitor.checkAll();
    expect(change).toMatchObject({ environment: 'slow', status: 'down', previous: 'healthy' });
    expect((await findFraiseState(t.app.store.db, 'paced', 'slow'))?.status).toBe('down');
    expect(await rows()).toEqual([{ event_id: `hpaced/slow.down.${change!.at}`, fk_deployment: null, status: 'pending' }]);
  });
});
