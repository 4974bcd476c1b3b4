import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd, waitForStep, waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { createServiceRepo, type ServiceRepo } from '../setup/service-repo.js';

/** A step that waits for a gate file the test creates (tests/fixtures/wait-for.mjs). */
const WAIT_FOR = resolve('tests/fixtures/wait-for.mjs');

/*
 * Dashboards watch deployments live: over graphql-ws and over SSE, a subscriber that came
 * before the deployment started and one that came halfway both get every progress event, in
 * order, with no gap in `sequence`, and their stream completes when the deployment ends.
 */

interface ProgressEvent {
  sequence: number;
  step: string;
  progress: number;
  message: string | null;
}

/** The bus and the subscribers are in this process: poll them often. */
const POLL = { intervalMs: 10 };

const PROGRESS = `subscription($id: ID!) { deploymentProgress(deploymentId: $id) { sequence step progress message } }`;

function collect<T>(client: Client, query: string, variables: Record<string, unknown>, pick: (data: any) => T) {
  const items: T[] = [];
  const done = new Promise<T[]>((resolve, reject) => {
    client.subscribe(
      { query, variables },
      {
        next: (result) => (result.errors ? reject(new Error(JSON.stringify(result.errors))) : items.push(pick(result.data))),
        error: reject,
        complete: () => resolve(items),
      },
    );
  });
  return { items, done };
}

/** A subscription over Server-Sent Events: POST with Accept: text/event-stream. */
async function sse(url: string, query: string, variables: Record<string, unknown>): Promise<ProgressEvent[]> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query, variables }),
  });
  expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
  const text = await response.text(); // ends when the server completes the stream
  const events: ProgressEvent[] = [];
  for (const block of text.split('\n\n')) {
    const data = block.split('\n').find((line) => line.startsWith('data:'));
    if (!block.includes('event: next') || !data) continue;
    events.push(JSON.parse(data.slice(5)).data.deploymentProgress);
  }
  return events;
}

for (const dialect of DIALECTS) {
  describe(`live progress on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: TestApp;
    let repo: ServiceRepo;
    let url: string;
    const clients: Client[] = [];
    const client = () => {
      const c = createClient({ url: `${url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
      clients.push(c);
      return c;
    };

    beforeAll(async () => {
      if (skip) return;
      repo = createServiceRepo();
      repo.commit('base');
      t = await createTestApp(dialect, {
        config: testConfig(`
fraisier:
  concurrency: { global: 1 }
fraises:
  gated:
    type: custom
    environments:
      one:
        git_repo: ${repo.path}
        app_path: ${repo.appPath}/one
        steps:
          - { name: wait, command: [node, ${WAIT_FOR}, "${repo.scratch}/gate-{id}"] }
          - { name: talk, command: [node, -e, "for (let i = 1; i <= 5; i++) console.log('line ' + i)"] }
      two:
        git_repo: ${repo.path}
        app_path: ${repo.appPath}/two
        steps:
          - { name: wait, command: [node, ${WAIT_FOR}, "${repo.scratch}/gate-{id}"] }
`),
      });
      ({ url } = await t.app.start({ port: 0 }));
    });
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.dispose()));
      await t?.dispose();
      repo?.dispose();
    });

    it.skipIf(skip)('streams every event to early, late and SSE subscribers, then completes', async () => {
      const deploy = async (environment: string) =>
        (await gql(t.app, `mutation($e: String!) { deploy(fraise: "gated", environment: $e, force: true) { deployment { id } } }`, { e: environment })).data.deploy
          .deployment.id as string;
      // A first deployment holds the only slot, so the second waits in the queue.
      const blocker = await deploy('two');
      await waitForStep(t.app, blocker, 'wait');
      const id = await deploy('one');

      const started = collect(client(), 'subscription { deploymentStarted { id status } }', {}, (d) => d.deploymentStarted);
      const completed = collect(client(), 'subscription { deploymentCompleted { id status } }', {}, (d) => d.deploymentCompleted);
      const early = collect(client(), PROGRESS, { id }, (d) => d.deploymentProgress as ProgressEvent);
      // The three subscriptions are live (listening on the bus) before the deployment starts:
      // one `started` listener, this deployment's progress stream (a progress listener and a
      // `completed` one), and the `completed` subscription: 4 listeners in all.
      const { bus } = t.app;
      await waitUntil(() => bus.listensHere('started', id) && bus.progressListenerCount(id) === 1 && bus.listenerCount === 4, POLL);
      expect((await t.app.services.queries.deployment({ kind: 'open' }, id)).status).toBe('pending');

      writeFileSync(join(repo.scratch, `gate-${blocker}`), '');
      await waitForStep(t.app, id, 'wait');
      const late = collect(client(), PROGRESS, { id }, (d) => d.deploymentProgress as ProgressEvent);
      const overSse = sse(url, PROGRESS, { id });
      await waitUntil(() => late.items.length > 0, POLL);
      writeFileSync(join(repo.scratch, `gate-${id}`), '');

      const [earlyEvents, lateEvents, sseEvents] = await Promise.all([early.done, late.done, overSse]);
      const recorded = (await t.app.services.queries.progress(id)).map(({ sequence, step, progress, message }) => ({ sequence, step, progress, message }));
      expect(recorded.length).toBeGreaterThan(8);
      expect(recorded.map((e) => e.sequence)).toEqual(recorded.map((_, i) => i + 1));
      expect(recorded.map((e) => e.message)).toEqual(expect.arrayContaining(['line 1', 'line 5', 'gate open']));
      expect(recorded.at(-1)).toMatchObject({ step: 'done', progress: 100 });
      expect(earlyEvents).toEqual(recorded);
      expect(lateEvents).toEqual(recorded);
      expect(sseEvents).toEqual(recorded);

      expect((await waitForEnd(t.app, id)).status).toBe('success');
      await waitUntil(() => completed.items.some((d: { id: string }) => d.id === id), POLL);
      expect(started.items).toContainEqual({ id, status: 'IN_PROGRESS' });
      expect(completed.items).toContainEqual({ id, status: 'SUCCESS' });
    });

    it.skipIf(skip)('replays a finished deployment and completes at once', async () => {
      const [last] = (await gql(t.app, '{ deployments(limit: 1, environment: "one") { id } }')).data.deployments;
      const replay = collect(client(), PROGRESS, { id: last.id }, (d) => d.deploymentProgress as ProgressEvent);
      const events = await replay.done;
      expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
      expect(events.at(-1)?.step).toBe('done');
    });

    it.skipIf(skip)('answers NOT_FOUND for an unknown deployment', async () => {
      const failure = await new Promise<unknown>((resolve) =>
        client().subscribe({ query: PROGRESS, variables: { id: '999999' } }, { next: (r) => resolve(r.errors), error: resolve, complete: () => {} }),
      );
      expect(JSON.stringify(failure)).toContain('NOT_FOUND');
    });
  });
}
