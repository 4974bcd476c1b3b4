import pino from 'pino';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type App, createApp } from '../../src/app.js';
import { createStore } from '../../src/store/store.js';
import { testConfig } from '../setup/app.js';
import { waitForEnd, waitUntil } from '../setup/deployments.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { HoldProvider } from '../setup/hold-provider.js';
import { type Receiver, startReceiver } from '../setup/receiver.js';

/*
 * Approvals over the real API (HTTP on a port, graphql-ws), the real dispatcher and store: a
 * deployment of a protected environment waits (WAITING, its gates shown) until two approvers
 * approve, one rejection cancels it with the reason, who may decide is checked (approve scope,
 * the environments a token reaches, the approvers, self-approval, once each), a newer deployment
 * supersedes a waiting one (its approvals carried over only with carry_approvals), the
 * deploymentWaiting subscription tells only what a token may read, and a deployment waiting when
 * Fraisier stops is approved and run by the next Fraisier on the same store.
 */

const TOKENS = {
  ci: 'ci-deploys-0123456789',
  alice: 'alice-deploys-approves-0123456789',
  bob: 'bob-approves-0123456789',
  dave: 'dave-approves-0123456789',
  stager: 'stager-approves-staging-0123456789',
};
type Who = keyof typeof TOKENS;
const HOOK = '/hooks/approvals';

function config(receiverUrl: string) {
  return testConfig(`
fraisier:
  # No poll: a decision, a run ending or a gate's own wake-up moves the queue.
  poll_interval: 1h
  # One deployment at a time: gates are judged even while the one slot is taken.
  concurrency: 1
  tokens:
    - { name: ci, token: ${TOKENS.ci}, scopes: [deploy] }
    - { name: alice, token: ${TOKENS.alice}, scopes: [deploy, approve] }
    - { name: bob, token: ${TOKENS.bob}, scopes: [approve], groups: [release-managers] }
    - { name: dave, token: ${TOKENS.dave}, scopes: [approve] }
    - { name: stager, token: ${TOKENS.stager}, scopes: [approve], environments: [staging] }
notifications:
  on_approval: [{ type: webhook, url: "${receiverUrl}${HOOK}" }]
fraises:
  api:
    type: api
    environments:
      staging:
        target: { provider: test-hold }
        protection:
          wait_timer: 1s
      production:
        target: { provider: test-hold }
        protection:
          approvals: { required: 2, approvers: [alice, release-managers, dave, stager] }
      carried:
        target: { provider: test-hold }
        protection:
          approvals: { required: 2, approvers: [alice, release-managers, dave], carry_approvals: true }
      hasty:
        target: { provider: test-hold }
        protection:
          approvals: { required: 1, timeout: 1s }
      busy:
        target: { provider: test-hold }
`);
}

const FIELDS = 'id status errorMessage waitingUntil gates { kind satisfied message approvals { by decision comment at } }';
const READ = `query($id: ID!) { deployment(id: $id) { ${FIELDS} progress { step message } } }`;
const APPROVE = `mutation($id: ID!, $comment: String) { approveDeployment(id: $id, comment: $comment) { ${FIELDS} } }`;
const REJECT = `mutation($id: ID!, $reason: String!) { rejectDeployment(id: $id, reason: $reason) { ${FIELDS} } }`;
const commit = (n: number) => `${String(n).padStart(2, '0')}c0ffee${'0'.repeat(31)}`;

for (const dialect of DIALECTS) {
  describe(`approvals on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    const provider = new HoldProvider();
    /** The deployments the target saw run, by id. */
    const ran: string[] = [];
    /** While set, a deployment of `busy` holds the one slot until it resolves. */
    let busy: Promise<void> | undefined;
    provider.script = async (ctx) => {
      ran.push(ctx.deploymentId);
      if (ctx.env.name === 'busy') await busy;
    };
    let database: TestDatabase;
    let receiver: Receiver;
    let app: App;
    let url: string;
    const clients: Client[] = [];

    /** An app on the test's store, listening on a port, running deployments. */
    const boot = async () => {
      app = createApp({ config: config(receiver.url), store: createStore(database.url, { poolSize: 5 }), logger: pino({ level: 'silent' }) });
      app.providers.register(provider);
      ({ url } = await app.start({ port: 0 }));
    };
    beforeAll(async () => {
      if (skip) return;
      receiver = await startReceiver();
      database = await dialect.createDatabase();
      await boot();
    });
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.dispose()));
      await app?.stop();
      await database?.drop();
      await receiver?.close();
    });

    const post = async (query: string, variables: Record<string, unknown>, who: Who) => {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS[who]}` },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
    };
    const ok = async (query: string, variables: Record<string, unknown>, who: Who) => {
      const answer = await post(query, variables, who);
      expect(answer.errors).toBeUndefined();
      return answer.data;
    };
    const deploy = async (environment: string, n: number, who: Who = 'ci'): Promise<string> => {
      const data = await ok(
        'mutation($e: String!, $c: String) { deploy(fraise: "api", environment: $e, commit: $c, force: true) { deployment { id } } }',
        { e: environment, c: commit(n) },
        who,
      );
      return data.deploy.deployment.id;
    };
    const read = async (id: string) => (await ok(READ, { id }, 'alice')).deployment;
    const status = (id: string, wanted: string) =>
      waitUntil(async () => {
        const d = await read(id);
        return d.status === wanted ? d : undefined;
      }, { what: `deployment ${id} ${wanted}` });
    const gateLines = async (id: string) => ((await read(id)).progress as { step: string; message: string }[]).filter((p) => p.step === 'gate').map((p) => p.message);
    const approve = (id: string, who: Who, comment?: string) => post(APPROVE, { id, comment: comment ?? null }, who);
    const reject = (id: string, who: Who, reason: string) => post(REJECT, { id, reason }, who);
    const refused = async (answer: Promise<{ errors?: { message: string; extensions?: { code?: string } }[] }>, code: string, message: RegExp) => {
      const { errors } = await answer;
      expect(errors?.[0]?.extensions?.code).toBe(code);
      expect(errors?.[0]?.message).toMatch(message);
    };
    const approvalHooks = (id: string) => receiver.to(HOOK).map((r) => JSON.parse(r.body)).filter((body) => body.type === 'deployment.approval' && body.data.deployment_id === id);

    it.skipIf(skip)('waits for two approvers: one approves, the other rejects, and it ends CANCELLED with the reason', async () => {
      const id = await deploy('production', 1);
      const waiting = await status(id, 'WAITING');
      expect(waiting.gates).toEqual([{ kind: 'APPROVALS', satisfied: false, message: '0 of 2 approvals', approvals: [] }]);
      const listed = await ok('{ deployments(status: WAITING, environment: "production") { id status } }', {}, 'bob');
      expect(listed.deployments).toEqual([{ id, status: 'WAITING' }]);
      // The approvals' timeout (24 h by default) is when it may change by time alone.
      expect(Date.parse(waiting.waitingUntil) - Date.now()).toBeGreaterThan(23 * 3600_000);
      // The approvers are told, once, that it waits for them.
      await waitUntil(() => approvalHooks(id).length > 0, { what: 'the approval notification' });
      expect(approvalHooks(id)[0].data).toMatchObject({ status: 'waiting', message: '0 of 2 approvals' });

      const approved = await approve(id, 'alice', 'ship it');
      expect(approved.errors).toBeUndefined();
      expect(approved.data.approveDeployment).toMatchObject({
        status: 'WAITING',
        gates: [{ kind: 'APPROVALS', satisfied: false, message: '1 of 2 approvals (alice)', approvals: [{ by: 'alice', decision: 'APPROVE', comment: 'ship it' }] }],
      });
      const rejected = await reject(id, 'bob', 'breaks the v1 clients');
      expect(rejected.errors).toBeUndefined();
      expect(rejected.data.rejectDeployment).toMatchObject({ status: 'CANCELLED', errorMessage: 'rejected by bob: breaks the v1 clients', waitingUntil: null });
      expect(rejected.data.rejectDeployment.gates[0].approvals.map((a: { by: string; decision: string }) => [a.by, a.decision])).toEqual([
        ['alice', 'APPROVE'],
        ['bob', 'REJECT'],
      ]);
      // Every decision is in its history, each once, in order.
      expect(await gateLines(id)).toEqual([
        'waiting: 0 of 2 approvals',
        'approved by alice: ship it',
        'waiting: 1 of 2 approvals (alice)',
        'rejected by bob: breaks the v1 clients',
        'refused: rejected by bob: breaks the v1 clients',
      ]);
      expect(approvalHooks(id)).toHaveLength(1);
      expect(ran).not.toContain(id);
    });

    it.skipIf(skip)('runs once two approvers approved (one as a member of a group)', async () => {
      const id = await deploy('production', 2);
      await status(id, 'WAITING');
      expect((await approve(id, 'dave')).errors).toBeUndefined();
      const last = await approve(id, 'bob', 'after the freeze review');
      expect(last.errors).toBeUndefined();
      // The answer shows every gate open, whether the dispatcher has started it yet or not.
      expect(last.data.approveDeployment.gates).toMatchObject([{ kind: 'APPROVALS', satisfied: true, message: 'approved: 2 of 2 approvals (dave, bob)' }]);
      expect((await waitForEnd(app, id)).status).toBe('success');
      const done = await read(id);
      expect(done.gates).toMatchObject([{ kind: 'APPROVALS', satisfied: true, message: 'approved: 2 of 2 approvals (dave, bob)' }]);
      expect(await gateLines(id)).toEqual(['waiting: 0 of 2 approvals', 'approved by dave', 'waiting: 1 of 2 approvals (dave)', 'approved by bob: after the freeze review', 'gates passed']);
      expect(ran.filter((r) => r === id)).toHaveLength(1);
    });

    it.skipIf(skip)('refuses self-approval, a second decision, a token without the scope there, and decisions where none is due', async () => {
      const id = await deploy('production', 3, 'alice');
      await status(id, 'WAITING');
      await refused(approve(id, 'alice'), 'FORBIDDEN', /^cannot approve deployment \d+: alice asked for this deployment and self-approval is off/);
      // Approving production is not in reach of a token limited to staging (which learns nothing
      // of production's deployments, not even that this one exists), nor of a deploy token.
      await refused(approve(id, 'stager'), 'NOT_FOUND', /^no deployment with id "\d+"$/);
      await refused(reject(id, 'ci', 'no'), 'FORBIDDEN', /^token "ci" lacks the approve scope$/);
      await refused(reject(id, 'dave', '   '), 'BAD_USER_INPUT', /reason must say why/);
      expect((await approve(id, 'dave', 'fine')).errors).toBeUndefined();
      await refused(approve(id, 'dave'), 'CONFLICT', /^dave already approved it at .+: a decision on deployment \d+ cannot be made twice$/);
      await refused(reject(id, 'dave', 'on second thought'), 'CONFLICT', /dave already approved it/);
      await refused(approve('999999', 'dave'), 'NOT_FOUND', /no deployment with id "999999"/);
      expect((await read(id)).gates[0]).toMatchObject({ message: '1 of 2 approvals (dave)' });

      // A WAITING deployment is cancelled at once; nothing more can be decided on it.
      const cancelled = await ok('mutation($id: ID!) { cancelDeployment(id: $id) { status errorMessage } }', { id }, 'ci');
      expect(cancelled.cancelDeployment).toEqual({ status: 'CANCELLED', errorMessage: 'cancelled by ci before it started' });
      await refused(approve(id, 'bob'), 'CONFLICT', /^deployment \d+ is not waiting for approval: it is CANCELLED$/);

      // Staging has gates but no approvals rule: nothing to approve there.
      const staged = await deploy('staging', 4);
      await refused(approve(staged, 'stager'), 'CONFLICT', /needs no approval: api\/staging has no approvals rule/);
      expect((await waitForEnd(app, staged)).status).toBe('success');
    });

    it.skipIf(skip)('a newer deployment supersedes a waiting one; its approvals follow only with carry_approvals', async () => {
      const older = await deploy('production', 5);
      await status(older, 'WAITING');
      expect((await approve(older, 'alice')).errors).toBeUndefined();
      const newer = await deploy('production', 6);
      expect(await read(older)).toMatchObject({ status: 'SUPERSEDED', errorMessage: `superseded by deployment ${newer}` });
      expect((await status(newer, 'WAITING')).gates[0]).toMatchObject({ message: '0 of 2 approvals', approvals: [] });
      await ok('mutation($id: ID!) { cancelDeployment(id: $id) { status } }', { id: newer }, 'ci');

      const first = await deploy('carried', 7);
      await status(first, 'WAITING');
      expect((await approve(first, 'alice', 'good')).errors).toBeUndefined();
      const second = await deploy('carried', 8);
      expect(await read(first)).toMatchObject({ status: 'SUPERSEDED' });
      const carried = await status(second, 'WAITING');
      expect(carried.gates[0]).toMatchObject({ message: '1 of 2 approvals (alice)', approvals: [{ by: 'alice', decision: 'APPROVE', comment: 'good' }] });
      expect((await approve(second, 'bob')).errors).toBeUndefined();
      expect((await waitForEnd(app, second)).status).toBe('success');
    });

    it.skipIf(skip)('cancels a deployment not approved within the timeout, woken at its end, even with every slot taken', async () => {
      let release!: () => void;
      busy = new Promise((resolve) => (release = resolve));
      const holder = await deploy('busy', 30);
      await status(holder, 'IN_PROGRESS');
      const id = await deploy('hasty', 12);
      const waiting = await status(id, 'WAITING');
      expect(waiting.gates[0]).toMatchObject({ message: '0 of 1 approval' });
      // Nothing else happens meanwhile: the dispatcher wakes at the deadline by itself.
      const ended = await waitForEnd(app, id);
      expect(ended).toMatchObject({ status: 'cancelled', errorMessage: 'not approved within 1s' });
      expect(Date.parse(ended.completedAt!)).toBeGreaterThanOrEqual(Date.parse(waiting.waitingUntil));
      expect((await gateLines(id)).at(-1)).toBe('refused: not approved within 1s');
      expect((await status(holder, 'IN_PROGRESS')).status).toBe('IN_PROGRESS');
      release();
      expect((await waitForEnd(app, holder)).status).toBe('success');
    });

    it.skipIf(skip)('tells deploymentWaiting subscribers of what they may read only', async () => {
      const subscribe = (who: Who) => {
        const client = createClient({ url: `${url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${TOKENS[who]}` } });
        clients.push(client);
        const seen: { id: string; environment: string; status: string }[] = [];
        client.subscribe(
          { query: 'subscription { deploymentWaiting { id environment status } }' },
          { next: (result) => void seen.push(result.data!.deploymentWaiting as never), error: () => {}, complete: () => {} },
        );
        return seen;
      };
      const listening = app.bus.listenerCount;
      const everything = subscribe('alice');
      const stagingOnly = subscribe('stager');
      await waitUntil(() => app.bus.listenerCount >= listening + 2, { what: 'both subscribers listening' });
      const production = await deploy('production', 9);
      await status(production, 'WAITING');
      const staging = await deploy('staging', 10);
      await waitUntil(() => stagingOnly.length > 0 && everything.length > 1, { what: 'the waiting deployments told' });
      expect(everything.slice(0, 2)).toEqual([
        { id: production, environment: 'production', status: 'WAITING' },
        { id: staging, environment: 'staging', status: 'WAITING' },
      ]);
      // The token limited to staging never heard of production's.
      expect(stagingOnly[0]).toEqual({ id: staging, environment: 'staging', status: 'WAITING' });
      // The wait timer ends by itself: the dispatcher wakes at its end.
      expect((await waitForEnd(app, staging)).status).toBe('success');
      await ok('mutation($id: ID!) { cancelDeployment(id: $id) { status } }', { id: production }, 'ci');
    });

    it.skipIf(skip)('a deployment waiting when Fraisier stops is approved and run by the next one on the same store', { timeout: 60_000 }, async () => {
      const id = await deploy('production', 11);
      await status(id, 'WAITING');
      expect((await approve(id, 'dave')).errors).toBeUndefined();
      await app.stop();
      await boot();
      expect(await read(id)).toMatchObject({ status: 'WAITING', gates: [{ message: '1 of 2 approvals (dave)' }] });
      expect((await approve(id, 'bob')).errors).toBeUndefined();
      expect((await waitForEnd(app, id)).status).toBe('success');
      expect(ran.filter((r) => r === id)).toHaveLength(1);
      expect((await gateLines(id)).slice(-2)).toEqual(['approved by bob', 'gates passed']);
    });
  });
}
