import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type HoldOutcome, timedControl } from '../../src/deploy/control.js';
import { DeploymentCancelled } from '../../src/providers/provider.js';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd, waitForStep, waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { gate, HoldProvider } from '../setup/hold-provider.js';
import { createServiceRepo, type ServiceRepo } from '../setup/service-repo.js';

/*
 * Pause, resume and promote through the real dispatcher and store: a bare-metal deployment
 * paused at a step boundary by an operator, and a provider holding its deployment as a canary
 * strategy will (timed holds, indefinite holds, promote, cancel while held), watched over
 * GraphQL and its progress subscription, with the refusals an operator may meet.
 */

const WAIT_FOR = resolve('tests/fixtures/wait-for.mjs');

const TOKENS = {
  alice: 'alice-deploys-0123456789',
  viewer: 'viewer-reads-0123456789',
  elsewhere: 'elsewhere-deploys-0123456789',
};

function config(repo: ServiceRepo): string {
  return `
fraisier:
  tokens:
    - { name: alice, token: ${TOKENS.alice}, scopes: [read, deploy] }
    - { name: viewer, token: ${TOKENS.viewer}, scopes: [read] }
    - { name: elsewhere, token: ${TOKENS.elsewhere}, scopes: [read, deploy], environments: [other] }
fraises:
  gated:
    type: custom
    environments:
      one:
        git_repo: ${repo.path}
        app_path: ${repo.appPath}/one
        timeout: 5s
        steps:
          - { name: wait, command: [node, ${WAIT_FOR}, "${repo.scratch}/gate-{id}"] }
          - { name: talk, command: [node, -e, "console.log('talked')"] }
  canary:
    type: api
    environments:
      prod:
        target: { provider: test-hold }
`;
}

const DEPLOYMENT = `query($id: ID!) { deployment(id: $id) { id status pausedUntil pauseMessage promoted errorMessage } }`;
const PROGRESS = `subscription($id: ID!) { deploymentProgress(deploymentId: $id) { sequence step message } }`;
const act = (mutation: 'pauseDeployment' | 'resumeDeployment' | 'promoteDeployment' | 'cancelDeployment') =>
  `mutation($id: ID!) { ${mutation}(id: $id) { id status pausedUntil pauseMessage promoted } }`;

interface Step {
  sequence: number;
  step: string;
  message: string | null;
}

describe('the control of a run outside the dispatcher', () => {
  it('elapses a timed hold, ends one its strategy ends, and rejects on cancel', async () => {
    const run = new AbortController();
    const control = timedControl(run.signal);
    expect(await control.hold('Canary at 10%', 1)).toBe('elapsed');
    const failing = new AbortController();
    const held = control.hold('Canary at 50%', null, { until: failing.signal });
    failing.abort('failed');
    expect(await held).toBe('ended');
    expect(await control.hold('Canary at 100%', null, { until: failing.signal })).toBe('ended');
    const cancelled = control.hold('Canary at 100%', null);
    run.abort();
    await expect(cancelled).rejects.toBeInstanceOf(DeploymentCancelled);
    expect(control.pausedMs).toBeGreaterThan(0);
  });
});

for (const dialect of DIALECTS) {
  describe(`pause, resume and promote on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: TestApp;
    let repo: ServiceRepo;
    let url: string;
    const provider = new HoldProvider();
    const clients: Client[] = [];

    const q = async (query: string, variables: Record<string, unknown> = {}, who: keyof typeof TOKENS = 'alice') =>
      gql(t.app, query, variables, { authorization: `Bearer ${TOKENS[who]}` });
    const deploy = async (fraise: string, environment: string, commit?: string) => {
      const result = await q(`mutation($f: String!, $e: String!, $c: String) { deploy(fraise: $f, environment: $e, commit: $c, force: true) { deployment { id } } }`, {
        f: fraise,
        e: environment,
        c: commit ?? null,
      });
      expect(result.errors).toBeUndefined();
      return result.data.deploy.deployment.id as string;
    };
    const read = async (id: string) => (await q(DEPLOYMENT, { id })).data.deployment;
    const status = (id: string, wanted: string) => waitUntil(async () => ((await read(id)).status === wanted ? read(id) : undefined), { what: `deployment ${id} ${wanted}` });
    const steps = async (id: string): Promise<Step[]> =>
      (await q(`query($id: ID!) { deployment(id: $id) { progress { sequence step message } } }`, { id })).data.deployment.progress;
    /** The progress subscription over graphql-ws, as a dashboard has it: every event until the end. */
    const subscribe = (id: string) => {
      const client = createClient({
        url: `${url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${TOKENS.viewer}` },
      });
      clients.push(client);
      const events: Step[] = [];
      const done = new Promise<Step[]>((resolve, reject) => {
        client.subscribe(
          { query: PROGRESS, variables: { id } },
          {
            next: (result) => (result.errors ? reject(new Error(JSON.stringify(result.errors))) : events.push(result.data!.deploymentProgress as Step)),
            error: reject,
            complete: () => resolve(events),
          },
        );
      });
      return { events, done };
    };

    beforeAll(async () => {
      if (skip) return;
      repo = createServiceRepo();
      repo.commit('base');
      t = await createTestApp(dialect, { config: testConfig(config(repo)) });
      t.app.providers.register(provider);
      ({ url } = await t.app.start({ port: 0 }));
    });
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.dispose()));
      await t?.dispose();
      repo?.dispose();
    });

    it.skipIf(skip)('pauses at the next step boundary, shows PAUSED over GraphQL and in the subscription, and resumes to SUCCESS', async () => {
      const id = await deploy('gated', 'one');
      const live = subscribe(id);
      await waitForStep(t.app, id, 'wait');
      // The running step is not interrupted: the pause is asked, and taken at the next boundary.
      const asked = await q(act('pauseDeployment'), { id });
      expect(asked.errors).toBeUndefined();
      expect(asked.data.pauseDeployment).toMatchObject({ id, status: 'IN_PROGRESS', promoted: false });
      writeFileSync(`${repo.scratch}/gate-${id}`, '');
      expect(await status(id, 'PAUSED')).toMatchObject({ pausedUntil: null, pauseMessage: 'Paused by alice' });
      await waitUntil(() => live.events.some((e) => e.step === 'paused'), { what: 'the paused event in the subscription' });
      // Paused means held: its lease is still renewed, and nothing more runs.
      expect((await steps(id)).map((e) => e.step)).not.toContain('talk');

      const resumed = await q(act('resumeDeployment'), { id });
      expect(resumed.errors).toBeUndefined();
      expect((await waitForEnd(t.app, id)).status).toBe('success');
      expect(await read(id)).toMatchObject({ status: 'SUCCESS', pausedUntil: null, pauseMessage: null });

      const events = await live.done;
      expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
      // The request is a line of the step that ran when it was heard; the pause and its end are events of their own.
      const control = events.filter((e) => ['paused', 'resumed'].includes(e.step) || e.message?.startsWith('Pause requested'));
      expect(control).toEqual([
        expect.objectContaining({ step: 'wait', message: 'Pause requested by alice: pauses at the next step boundary' }),
        expect.objectContaining({ step: 'paused', message: 'Paused by alice: until resumed' }),
        expect.objectContaining({ step: 'resumed', message: expect.stringMatching(/^Resumed by alice \(\d+(\.\d)?s held in all\)$/) }),
      ]);
      const order = events.map((e) => e.step);
      expect(order.indexOf('paused')).toBeGreaterThan(order.indexOf('wait'));
      expect(order.indexOf('talk')).toBeGreaterThan(order.indexOf('resumed'));
    });

    it.skipIf(skip)('holds for a time that elapses, or until an operator resumes it', async () => {
      const outcomes: HoldOutcome[] = [];
      provider.script = async (ctx) => {
        outcomes.push(await ctx.control.hold('Canary at 10%', 3_600_000));
        outcomes.push(await ctx.control.hold('Canary at 50%', 1));
      };
      const id = await deploy('canary', 'prod', 'a1b2c3d');
      const held = await status(id, 'PAUSED');
      expect(held.pauseMessage).toBe('Canary at 10%');
      expect(Date.parse(held.pausedUntil)).toBeGreaterThan(Date.now() + 3_000_000);
      expect((await q(act('resumeDeployment'), { id })).errors).toBeUndefined();
      expect((await waitForEnd(t.app, id)).status).toBe('success');
      expect(outcomes).toEqual(['resumed', 'elapsed']);
      const recorded = (await steps(id)).filter((e) => e.step === 'paused' || e.step === 'resumed');
      expect(recorded.map((e) => [e.step, e.message?.replace(/\(\d+(\.\d)?s held in all\)/, '(held)').replace(/until \S+\)/, 'until T)')])).toEqual([
        ['paused', 'Canary at 10% (until T)'],
        ['resumed', 'Resumed by alice (held)'],
        ['paused', 'Canary at 50% (until T)'],
        ['resumed', 'Hold ended: Canary at 50% (held)'],
      ]);
    });

    it.skipIf(skip)('releases an indefinite hold on promote; promoted stays true and later holds pass at once', async () => {
      const seen: { outcome: HoldOutcome; promoted: boolean; again: HoldOutcome }[] = [];
      provider.script = async (ctx) => {
        const outcome = await ctx.control.hold('Canary at 50%: waiting for promotion', null);
        seen.push({ outcome, promoted: ctx.control.promoted, again: await ctx.control.hold('Canary at 80%', null) });
      };
      const id = await deploy('canary', 'prod', 'b2c3d4e');
      expect(await status(id, 'PAUSED')).toMatchObject({ pausedUntil: null, pauseMessage: 'Canary at 50%: waiting for promotion', promoted: false });
      const promoted = await q(act('promoteDeployment'), { id });
      expect(promoted.errors).toBeUndefined();
      expect(promoted.data.promoteDeployment.promoted).toBe(true);
      expect((await waitForEnd(t.app, id)).status).toBe('success');
      expect(seen).toEqual([{ outcome: 'promoted', promoted: true, again: 'promoted' }]);
      expect(await read(id)).toMatchObject({ status: 'SUCCESS', promoted: true });
      const recorded = await steps(id);
      // Heard while held: a line of the pause.
      expect(recorded.find((e) => e.message?.startsWith('Promoted'))).toMatchObject({ step: 'paused', message: 'Promoted by alice: the remaining steps and pauses are skipped' });
      // One pause only: the hold after the promote passed at once.
      expect(recorded.filter((e) => e.step === 'paused').map((e) => e.message)).toEqual([
        'Canary at 50%: waiting for promotion (until resumed or promoted)',
        'Promoted by alice: the remaining steps and pauses are skipped',
      ]);
    });

    it.skipIf(skip)('ends a hold early when its strategy says so (a canary failing while held), recording why', async () => {
      const outcomes: HoldOutcome[] = [];
      const failing = new AbortController();
      provider.script = async (ctx) => {
        outcomes.push(await ctx.control.hold('Canary at 10%', null, { until: failing.signal }));
      };
      const id = await deploy('canary', 'prod', '0a1b2c3');
      expect(await status(id, 'PAUSED')).toMatchObject({ pauseMessage: 'Canary at 10%', pausedUntil: null });
      failing.abort('canary error rate 50% (5 of 10 requests) over max 5% at 10%');
      expect((await waitForEnd(t.app, id)).status).toBe('success');
      expect(outcomes).toEqual(['ended']);
      expect(await read(id)).toMatchObject({ status: 'SUCCESS', pausedUntil: null, pauseMessage: null });
      const resumed = (await steps(id)).filter((e) => e.step === 'resumed').map((e) => e.message);
      expect(resumed).toEqual([expect.stringMatching(/^Hold ended early: canary error rate 50% \(5 of 10 requests\) over max 5% at 10% \(\d+(\.\d)?s held in all\)$/)]);
    });

    it.skipIf(skip)('keeps a deployment an operator paused during a timed hold paused past the hold, until resumed', async () => {
      const started = gate();
      const outcomes: HoldOutcome[] = [];
      provider.script = async (ctx) => {
        await started.promise;
        outcomes.push(await ctx.control.hold('Canary at 10%', 1));
      };
      const id = await deploy('canary', 'prod', 'c3d4e5f');
      await waitForStep(t.app, id, 'deploy');
      expect((await q(act('pauseDeployment'), { id })).data.pauseDeployment.status).toBe('IN_PROGRESS');
      started.open();
      const held = await status(id, 'PAUSED');
      // Its hold of 1 ms is over, and it is still paused.
      await waitUntil(() => Date.now() > Date.parse(held.pausedUntil) + 50, { what: 'the hold to be over' });
      await waitUntil(async () => (await steps(id)).some((e) => e.message === 'Pause requested by alice: pauses at the next step boundary'), { what: 'the pause to be noted' });
      expect((await read(id)).status).toBe('PAUSED');
      expect(outcomes).toEqual([]);
      expect((await q(act('resumeDeployment'), { id })).errors).toBeUndefined();
      expect((await waitForEnd(t.app, id)).status).toBe('success');
      expect(outcomes).toEqual(['resumed']);
    });

    it.skipIf(skip)('cancels a paused deployment: its strategy cleans up and it ends CANCELLED', async () => {
      const cleanups: string[] = [];
      provider.script = async (ctx) => {
        try {
          await ctx.control.hold('Canary at 10%', null);
        } catch (error) {
          cleanups.push(error instanceof DeploymentCancelled ? 'weights back, canary stopped' : String(error));
          throw error;
        }
      };
      const id = await deploy('canary', 'prod', 'd4e5f60');
      await status(id, 'PAUSED');
      const cancelled = await q(act('cancelDeployment'), { id });
      expect(cancelled.errors).toBeUndefined();
      expect((await waitForEnd(t.app, id)).status).toBe('cancelled');
      expect(cleanups).toEqual(['weights back, canary stopped']);
      expect(await read(id)).toMatchObject({ status: 'CANCELLED', errorMessage: 'cancelled while running', pausedUntil: null, pauseMessage: null });
    });

    it.skipIf(skip)('refuses what does not apply, and operators without the deploy scope on that environment', async () => {
      const blocking = gate();
      provider.script = () => blocking.promise;
      const running = await deploy('canary', 'prod', 'e5f6071');
      await waitForStep(t.app, running, 'deploy');
      // A second deployment of the environment waits for the first one's end.
      const queued = await deploy('canary', 'prod', 'f607182');
      const error = async (mutation: Parameters<typeof act>[0], id: string, who: keyof typeof TOKENS = 'alice') => {
        const result = await q(act(mutation), { id }, who);
        expect(result.data?.[mutation] ?? null).toBeNull();
        return { code: result.errors?.[0]?.extensions?.code, message: result.errors?.[0]?.message };
      };
      expect(await error('resumeDeployment', running)).toEqual({
        code: 'CONFLICT',
        message: `deployment ${running} is not paused (IN_PROGRESS) and no pause was asked for it: nothing to resume`,
      });
      expect(await error('pauseDeployment', queued)).toEqual({ code: 'CONFLICT', message: `deployment ${queued} is not running yet (PENDING): it can be paused once it runs` });
      expect(await error('promoteDeployment', queued)).toEqual({ code: 'CONFLICT', message: `deployment ${queued} is not running yet (PENDING): it can be promoted once it runs` });
      expect(await error('pauseDeployment', '999999')).toEqual({ code: 'NOT_FOUND', message: 'no deployment with id "999999"' });
      expect(await error('pauseDeployment', running, 'viewer')).toEqual({ code: 'FORBIDDEN', message: 'token "viewer" lacks the deploy scope' });
      // A token limited to other environments does not see it at all, as cancel has it.
      expect(await error('promoteDeployment', running, 'elsewhere')).toEqual({ code: 'NOT_FOUND', message: `no deployment with id "${running}"` });
      // A pause asked and not yet taken can be withdrawn.
      expect((await q(act('pauseDeployment'), { id: running })).errors).toBeUndefined();
      expect((await q(act('resumeDeployment'), { id: running })).errors).toBeUndefined();
      blocking.open();
      expect((await waitForEnd(t.app, running)).status).toBe('success');
      expect((await steps(running)).map((e) => e.step)).not.toContain('paused');
      expect(await error('pauseDeployment', running)).toEqual({ code: 'CONFLICT', message: `deployment ${running} already ended (SUCCESS): it can no longer be paused` });
      expect(await error('resumeDeployment', running)).toEqual({ code: 'CONFLICT', message: `deployment ${running} already ended (SUCCESS): it can no longer be resumed` });
      provider.script = async () => {};
      expect((await waitForEnd(t.app, queued)).status).toBe('success');
    });

    it.skipIf(skip || dialect.name !== 'sqlite')("does not count paused time against the environment's timeout", { timeout: 60_000 }, async () => {
      const id = await deploy('gated', 'one');
      await waitForStep(t.app, id, 'wait');
      await q(act('pauseDeployment'), { id });
      writeFileSync(`${repo.scratch}/gate-${id}`, '');
      await status(id, 'PAUSED');
      const pausedAt = Date.now();
      // Paused for longer than the whole timeout (5 s): the next step still runs.
      await waitUntil(() => Date.now() - pausedAt > 6_000, { what: 'a pause longer than the timeout', timeoutMs: 10_000, intervalMs: 200 });
      expect((await read(id)).status).toBe('PAUSED');
      await q(act('resumeDeployment'), { id });
      const ended = await waitForEnd(t.app, id);
      expect(ended).toMatchObject({ status: 'success', errorMessage: null });
    });
  });
}
