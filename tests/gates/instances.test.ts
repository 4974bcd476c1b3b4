import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.js';
import type { Deployment } from '../../src/model.js';
import { createStore } from '../../src/store/store.js';
import { createTestApp, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd, waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { HoldProvider } from '../setup/hold-provider.js';

/*
 * Two Fraisier instances on one PostgreSQL store, both running deployments, the poll an hour
 * away: only NOTIFY and the gates' own wake-ups move things. A deployment queued on A waits at
 * its approvals gate; the approvals are given on B; whichever instance claims it runs it, once.
 * Both instances evaluate the same deployments on the same facts: each verdict and its line in
 * the history is recorded once (the compare-and-set on gate_version), and B's subscribers hear
 * of a wait A recorded (the relayed bus).
 */

const TOKENS = { ci: 'ci-deploys-0123456789', alice: 'alice-approves-0123456789', bob: 'bob-approves-0123456789' };
type Who = keyof typeof TOKENS;
const BATCH = ['one', 'two', 'three', 'four', 'five'];

const CONFIG = testConfig(`
fraisier:
  poll_interval: 1h
  tokens:
    - { name: ci, token: ${TOKENS.ci}, scopes: [deploy] }
    - { name: alice, token: ${TOKENS.alice}, scopes: [approve] }
    - { name: bob, token: ${TOKENS.bob}, scopes: [approve] }
monitor: { enabled: false }
fraises:
  api:
    type: api
    environments:
      production:
        target: { provider: test-hold }
        protection:
          approvals: { required: 2 }
${BATCH.map((name) => `      ${name}:\n        target: { provider: test-hold }\n        protection:\n          approvals: { required: 1 }`).join('\n')}
`);

const postgres = DIALECTS.find((d) => d.name === 'postgres')!;

describe('gates across two instances on PostgreSQL', async () => {
  const skip = await postgres.unavailable();
  const provider = new HoldProvider();
  /** Every run the target saw, by deployment id, from either instance. */
  const ran: string[] = [];
  provider.script = async (ctx) => void ran.push(ctx.deploymentId);
  let a: TestApp;
  let b: App;
  const urls = { a: '', b: '' };

  beforeAll(async () => {
    if (skip) return;
    a = await createTestApp(postgres, { config: CONFIG });
    a.app.providers.register(provider);
    b = createApp({ config: CONFIG, store: createStore(a.database.url, { poolSize: 5 }), logger: pino({ level: 'silent' }) });
    b.providers.register(provider);
    urls.a = (await a.app.start({ port: 0 })).url;
    urls.b = (await b.start({ port: 0 })).url;
  });
  afterAll(async () => {
    await b?.stop();
    await a?.dispose();
  });

  const post = async (on: 'a' | 'b', query: string, variables: Record<string, unknown>, who: Who) => {
    const response = await fetch(`${urls[on]}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS[who]}` },
      body: JSON.stringify({ query, variables }),
    });
    const answer = (await response.json()) as { data?: any; errors?: unknown };
    expect(answer.errors).toBeUndefined();
    return answer.data;
  };
  const deployOnA = async (environment: string, commit: string): Promise<string> =>
    (await post('a', 'mutation($e: String!, $c: String) { deploy(fraise: "api", environment: $e, commit: $c) { deployment { id } } }', { e: environment, c: commit }, 'ci')).deploy.deployment.id;
  const approveOnB = (id: string, who: Who) => post('b', 'mutation($id: ID!) { approveDeployment(id: $id) { id status } }', { id }, who);
  const readOnB = async (id: string) =>
    (await post('b', 'query($id: ID!) { deployment(id: $id) { status gates { message } progress { step message } } }', { id }, 'alice')).deployment;
  const gateLines = async (id: string) => ((await readOnB(id)).progress as { step: string; message: string }[]).filter((p) => p.step === 'gate').map((p) => p.message);
  const row = (id: string) => a.app.store.db.selectFrom('tb_deployment').select(['attempt']).where('id', '=', Number(id)).executeTakeFirstOrThrow();

  it.skipIf(skip)('approved on B, run once by whichever instance claims it; each verdict recorded once; B hears of the wait A saw', { timeout: 60_000 }, async () => {
    const heardOnB: Deployment[] = [];
    const listening = b.bus.listenerCount;
    const stream = b.services.events.waiting();
    void (async () => {
      for await (const deployment of stream) heardOnB.push(deployment);
    })();
    await waitUntil(() => b.bus.listenerCount > listening, { what: 'B\'s subscriber listening' });

    const id = await deployOnA('production', 'abcdef1');
    await waitUntil(async () => (await readOnB(id)).status === 'WAITING', { what: 'the deployment WAITING' });
    await waitUntil(() => heardOnB.some((d) => d.id === id), { what: 'B told of the wait' });
    expect(heardOnB.find((d) => d.id === id)).toMatchObject({ status: 'waiting', gates: [{ kind: 'approvals', satisfied: false, message: '0 of 2 approvals' }] });

    expect((await approveOnB(id, 'alice')).approveDeployment).toMatchObject({ status: 'WAITING' });
    await approveOnB(id, 'bob');
    expect((await waitForEnd(a.app, id)).status).toBe('success');
    expect(ran.filter((r) => r === id)).toHaveLength(1);
    expect(await row(id)).toMatchObject({ attempt: 1 });
    expect(await gateLines(id)).toEqual(['waiting: 0 of 2 approvals', 'approved by alice', 'waiting: 1 of 2 approvals (alice)', 'approved by bob', 'gates passed']);
  });

  it.skipIf(skip)('approving several at once on B runs each exactly once, on A or B', { timeout: 90_000 }, async () => {
    const ids = await Promise.all(BATCH.map((environment, n) => deployOnA(environment, `${n + 1}${'0'.repeat(6)}f`)));
    await waitUntil(async () => (await Promise.all(ids.map(readOnB))).every((d) => d.status === 'WAITING'), { what: 'every deployment WAITING' });
    await Promise.all(ids.map((id, n) => approveOnB(id, n % 2 ? 'alice' : 'bob')));
    const ended = await Promise.all(ids.map((id) => waitForEnd(a.app, id)));
    expect(ended.map((d) => d.status)).toEqual(BATCH.map(() => 'success'));
    for (const id of ids) {
      expect(ran.filter((r) => r === id)).toHaveLength(1);
      expect(await row(id)).toMatchObject({ attempt: 1 });
      expect((await gateLines(id)).filter((line) => line === 'gates passed')).toHaveLength(1);
      expect((await gateLines(id)).filter((line) => line.startsWith('waiting:'))).toEqual(['waiting: 0 of 1 approval']);
    }
  });
});
