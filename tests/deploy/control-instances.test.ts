import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.js';
import type { HoldOutcome } from '../../src/deploy/control.js';
import type { DeploymentProgress } from '../../src/model.js';
import { createStore } from '../../src/store/store.js';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd, waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { gate, HoldProvider } from '../setup/hold-provider.js';

/*
 * Two Fraisier instances on one store: A runs the deployment, B (which claims nothing) is the one
 * the operator reaches. B's pause, resume, promote and cancel reach A's run: on PostgreSQL at
 * once through NOTIFY (the lease is renewed only every 20 s here, and each wait is shorter than
 * that), elsewhere at A's next lease renewal (every second here). On PostgreSQL B's subscribers
 * see A's events (relayed); elsewhere A's do. A paused deployment keeps its lease: it is not
 * taken for a dead one.
 */

const TOKEN = 'operator-deploys-0123456789';

for (const dialect of DIALECTS) {
  describe(`control across two instances on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    const notified = dialect.name === 'postgres';
    // On PostgreSQL the renewal would come too late to pass: only NOTIFY can.
    const lease = notified ? { ttl: '60s', heartbeat: '20s' } : { ttl: '3s', heartbeat: '1s' };
    const soon = { timeoutMs: notified ? 10_000 : 20_000 };
    let a: TestApp;
    let b: App;
    const provider = new HoldProvider();

    beforeAll(async () => {
      if (skip) return;
      const config = testConfig(`
fraisier:
  tokens: [{ name: operator, token: ${TOKEN}, scopes: [read, deploy] }]
  lease: { ttl: ${lease.ttl}, heartbeat: ${lease.heartbeat} }
  poll_interval: 1s
fraises:
  canary:
    type: api
    environments:
      prod:
        target: { provider: test-hold }
`);
      a = await createTestApp(dialect, { config });
      a.app.providers.register(provider);
      b = createApp({ config, store: createStore(a.database.url, { poolSize: 5 }), logger: pino({ level: 'silent' }), accept: () => false });
      await b.init();
      await a.app.startWorkers();
      await b.startWorkers();
    });
    afterAll(async () => {
      await b?.stop();
      await a?.dispose();
    });

    const onB = (query: string, variables: Record<string, unknown> = {}) => gql(b, query, variables, { authorization: `Bearer ${TOKEN}` });
    const ask = async (mutation: string, id: string) => {
      const result = await onB(`mutation($id: ID!) { ${mutation}(id: $id) { id status } }`, { id });
      expect(result.errors).toBeUndefined();
      return result.data[mutation];
    };
    const readOnB = async (id: string) => (await onB(`query($id: ID!) { deployment(id: $id) { status pauseMessage promoted } }`, { id })).data.deployment;
    const statusOnB = (id: string, status: string) =>
      waitUntil(async () => ((await readOnB(id)).status === status ? readOnB(id) : undefined), { ...soon, what: `deployment ${id} ${status} as B sees it` });
    /** PAUSED with this message, as B reads it (a resume is taken after the mutation answered). */
    const pausedOnB = (id: string, pauseMessage: string) =>
      waitUntil(
        async () => {
          const d = await readOnB(id);
          return d.status === 'PAUSED' && d.pauseMessage === pauseMessage ? d : undefined;
        },
        { ...soon, what: `deployment ${id} paused (${pauseMessage}) as B sees it` },
      );
    /**
     * The stream subscribers of a deployment A runs get (what deploymentProgress reads): B's on
     * PostgreSQL, which relays events between instances; A's elsewhere.
     */
    const watch = (id: string) => {
      const events: DeploymentProgress[] = [];
      const done = (async () => {
        for await (const event of (notified ? b : a.app).services.events.progress(id)) events.push(event);
        return events;
      })();
      return { events, done };
    };
    const seen = (watched: { events: DeploymentProgress[] }, what: string, found: (e: DeploymentProgress) => boolean) =>
      waitUntil(() => watched.events.some(found), { ...soon, what });

    it.skipIf(skip)("B pauses, resumes and promotes the deployment A runs; its subscribers see it", { timeout: 120_000 }, async () => {
      const between = gate();
      const outcomes: (HoldOutcome | boolean)[] = [];
      provider.script = async (ctx) => {
        outcomes.push(await ctx.control.hold('Canary at 10%', null));
        await ctx.reporter.step('weights', 50, 'Canary at 50%');
        await between.promise;
        await ctx.control.checkpoint();
        outcomes.push(await ctx.control.hold('Canary at 50%', null));
        outcomes.push(ctx.control.promoted);
      };
      const deployed = await gql(a.app, `mutation { deploy(fraise: "canary", environment: "prod", commit: "abcdef1", force: true) { deployment { id } } }`, {}, {
        authorization: `Bearer ${TOKEN}`,
      });
      const id: string = deployed.data.deploy.deployment.id;
      const watched = watch(id);
      await pausedOnB(id, 'Canary at 10%');
      const row = await a.app.store.db.selectFrom('tb_deployment').select(['lease_owner']).where('id', '=', Number(id)).executeTakeFirstOrThrow();
      expect(row.lease_owner).toBe(a.app.instanceId);

      await ask('resumeDeployment', id);
      await seen(watched, 'the weights step', (e) => e.step === 'weights');
      expect(await ask('pauseDeployment', id)).toMatchObject({ status: 'IN_PROGRESS' });
      // A has heard of the pause before the boundary where it takes it.
      await seen(watched, 'the pause heard', (e) => e.message?.startsWith('Pause requested by operator') === true);
      between.open();
      await pausedOnB(id, 'Paused by operator');
      if (!notified) {
        // Paused longer than the lease's ttl: renewed all along, still A's, still PAUSED.
        const since = new Date().toISOString();
        await waitUntil(
          async () => {
            const lease = await a.app.store.db.selectFrom('tb_deployment').select(['heartbeat_at', 'status', 'lease_owner']).where('id', '=', Number(id)).executeTakeFirstOrThrow();
            return lease.heartbeat_at! > new Date(Date.parse(since) + 3_500).toISOString() ? lease : undefined;
          },
          { what: 'a renewal more than a ttl into the pause', timeoutMs: 30_000, intervalMs: 200 },
        ).then((lease) => expect(lease).toMatchObject({ status: 'paused', lease_owner: a.app.instanceId }));
      }
      await ask('resumeDeployment', id);
      await pausedOnB(id, 'Canary at 50%');
      await ask('promoteDeployment', id);
      expect((await waitForEnd(a.app, id)).status).toBe('success');
      expect(outcomes).toEqual(['resumed', 'promoted', true]);
      expect(await readOnB(id)).toMatchObject({ status: 'SUCCESS', promoted: true });

      const events = await watched.done;
      expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
      const control = events.filter((e) => ['paused', 'resumed'].includes(e.step) || /^(Pause requested|Promoted) by /.test(e.message ?? ''));
      expect(control.map((e) => `${e.step}: ${e.message?.replace(/ \(.*\)$/, '')}`)).toEqual([
        'paused: Canary at 10%',
        'resumed: Resumed by operator',
        'weights: Pause requested by operator: pauses at the next step boundary',
        'paused: Paused by operator: until resumed',
        'resumed: Resumed by operator',
        'paused: Canary at 50%',
        'paused: Promoted by operator: the remaining steps and pauses are skipped',
        'resumed: Resumed: promoted by operator',
      ]);
    });

    it.skipIf(skip)('B cancels a deployment paused on A: it ends CANCELLED', { timeout: 60_000 }, async () => {
      let cleaned = false;
      provider.script = async (ctx) => {
        try {
          await ctx.control.hold('Canary at 10%', null);
        } finally {
          cleaned = true;
        }
      };
      const deployed = await gql(a.app, `mutation { deploy(fraise: "canary", environment: "prod", commit: "abcdef2", force: true) { deployment { id } } }`, {}, {
        authorization: `Bearer ${TOKEN}`,
      });
      const id: string = deployed.data.deploy.deployment.id;
      await statusOnB(id, 'PAUSED');
      await ask('cancelDeployment', id);
      await statusOnB(id, 'CANCELLED');
      expect(cleaned).toBe(true);
    });
  });
}
