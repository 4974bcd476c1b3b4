import { createHmac } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { FraisierConfig } from '../../src/config/types.js';
import { createDeliveryPreparer } from '../../src/webhooks/delivery-preparer.js';
import { type PrepareInput, type PrepareOptions, prepareDelivery } from '../../src/webhooks/prepare-delivery.js';
import { createGitProviderRegistry } from '../../src/webhooks/registry.js';
import { providerSecrets } from '../../src/webhooks/verify-delivery.js';
import { createTestApp, testConfig } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';
import {
  bitbucketHeaders,
  capturingLogger,
  deliver,
  eventRows,
  fixture,
  giteaHeaders,
  githubHeaders,
  githubMasterPush,
  gitlabHeaders,
  gitlabSignedHeaders,
  NOW,
  SECRETS,
  WEBHOOK_CONFIG,
} from './support.js';

/*
 * The delivery worker (src/webhooks/delivery-preparer.ts): deliveries verified and routed on a
 * worker thread are answered and recorded exactly as on the main thread, byte for byte; a worker
 * that dies hands back what it held, and nothing is lost. The worker never touches the store:
 * one dialect is enough here.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

/** What the service hands the preparer for a GitHub delivery. */
function githubOptions(config: FraisierConfig): PrepareOptions {
  const resolved = createGitProviderRegistry().resolve('github')!;
  return { config, resolved, secrets: providerSecrets(config, resolved) };
}

/** GitHub's push of master, signed, as the service hands it to the preparer. */
async function githubPushInput(deliveryId: string): Promise<PrepareInput> {
  const push = githubMasterPush();
  const headers = await githubHeaders(push, { delivery: deliveryId });
  return { body: Buffer.from(push), text: push, headers, signature: headers['x-hub-signature-256']!, event: 'push', deliveryId, sourceIp: null, now: NOW };
}

type Sent = { path: string; body: string | Buffer; headers: Record<string, string> };

/** One of each: accepted, duplicate, ignored, refused, unreadable, unsigned, per provider. */
async function deliveries(): Promise<Sent[]> {
  const push = githubMasterPush();
  const gitlab = fixture('gitlab/push.json');
  const gitea = fixture('gitea/push.json');
  const cloud = fixture('bitbucket/cloud-repo-push.json');
  // Not UTF-8 (a lone 0xff byte in the commit message), signed over its bytes as GitHub would.
  const raw = Buffer.from(push.replace('"message":"', '"message":"\u0001'), 'utf8');
  raw[raw.indexOf(0x01)] = 0xff;
  const rawHeaders = {
    ...(await githubHeaders('-', { delivery: 'raw-1' })),
    'x-hub-signature-256': `sha256=${createHmac('sha256', SECRETS.github[1]).update(raw).digest('hex')}`,
  };
  const notJson = '{"ref": "refs/heads/master", oops';
  const otherBranch = push.replace('"ref":"refs/heads/master"', '"ref":"refs/heads/feature/x"');
  return [
    { path: '/webhook', body: push, headers: await githubHeaders(push, { delivery: 'gh-1' }) },
    { path: '/webhook/github', body: push, headers: await githubHeaders(push, { delivery: 'gh-1' }) },
    { path: '/webhook', body: push, headers: await githubHeaders(push, { delivery: 'gh-old-secret', secret: SECRETS.github[0] }) },
    { path: '/webhook', body: otherBranch, headers: await githubHeaders(otherBranch, { delivery: 'gh-branch' }) },
    { path: '/webhook', body: push, headers: await githubHeaders(push, { delivery: 'gh-bad', secret: 'not-the-secret' }) },
    { path: '/webhook', body: notJson, headers: await githubHeaders(notJson, { delivery: 'gh-not-json' }) },
    { path: '/webhook', body: raw, headers: rawHeaders },
    { path: '/webhook', body: push, headers: await githubHeaders(push, { delivery: 'gh-ping', event: 'ping' }) },
    { path: '/webhook', body: gitlab, headers: gitlabHeaders({ key: 'gl-1' }) },
    { path: '/webhook', body: gitlab, headers: gitlabHeaders({ key: 'gl-2', token: 'wrong' }) },
    { path: '/webhook', body: gitlab, headers: gitlabSignedHeaders(gitlab, { timestamp: NOW.getTime() / 1000 - 60, id: 'gl-signed' }) },
    { path: '/webhook', body: gitea, headers: await giteaHeaders(gitea, { delivery: 'gitea-1' }) },
    { path: '/webhook', body: cloud, headers: await bitbucketHeaders(cloud, { delivery: 'bb-1' }) },
  ];
}

describe('the delivery worker', () => {
  const disposals: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const dispose of disposals.splice(0)) await dispose();
  });

  it('answers and records every kind of delivery exactly as the main thread does', async () => {
    const sent = await deliveries();
    const runs = [];
    for (const mode of ['never', 'always'] as const) {
      const { logger, lines } = capturingLogger();
      const yaml = WEBHOOK_CONFIG.replace('    rate_limit: false\n', `    rate_limit: false\n    worker: ${mode}\n`);
      // What is recorded is compared, not what is deployed: the dispatcher runs nothing.
      const t = await createTestApp(sqlite, { config: testConfig(yaml), now: () => NOW, logger, accept: () => false });
      disposals.push(t.dispose);
      const { url } = await t.app.start({ port: 0 });
      const answers = [];
      for (const delivery of sent) {
        const answer = await deliver(url, delivery.path, delivery.body, delivery.headers);
        answers.push({ status: answer.status, json: answer.json });
      }
      const events = await eventRows(t.app);
      const deployments = await t.app.store.db
        .selectFrom('tb_deployment as d')
        .innerJoin('tb_deployment_request as r', 'r.id', 'd.fk_request')
        .select(['d.id', 'd.fraise', 'd.environment', 'd.status', 'd.git_commit', 'd.git_branch', 'd.target_provider', 'd.target_config', 'r.fk_webhook_event', 'r.requested_by', 'r.requested_at', 'r.context'])
        .orderBy('d.id')
        .execute();
      runs.push({ answers, events, deployments, workerLines: lines.filter((l) => /worker/.test(l.msg)).map((l) => l.msg) });
    }
    const [main, worker] = runs as [(typeof runs)[number], (typeof runs)[number]];
    expect(main.workerLines).toEqual([]);
    expect(worker.workerLines).toEqual(['webhook deliveries are verified on a worker thread']);
    // What was sent covers what it should: queued, duplicate, ignored, 401, 400, per provider.
    expect(main.answers.map((a) => a.status)).toEqual([202, 200, 202, 200, 401, 400, 202, 200, 202, 401, 202, 202, 202]);
    expect(main.events.find((e) => e.delivery_id === 'raw-1')?.payload).toContain('\ufffd');
    expect(worker.answers).toEqual(main.answers);
    expect(worker.events).toEqual(main.events);
    expect(worker.deployments).toEqual(main.deployments);
    expect(main.deployments.length).toBeGreaterThan(4);
  });

  it.skipIf(availableParallelism() < 2)('auto: deliveries stay on the main thread one at a time, and move to the worker once they overlap', async () => {
    const { logger, lines } = capturingLogger();
    const t = await createTestApp(sqlite, { config: testConfig(WEBHOOK_CONFIG), now: () => NOW, logger });
    disposals.push(t.dispose);
    const { url } = await t.app.start({ port: 0 });
    const push = githubMasterPush();
    for (let i = 0; i < 5; i++) expect((await deliver(url, '/webhook', push, await githubHeaders(push, { delivery: `one-${i}` }))).status).toBe(202);
    const started = () => lines.some((l) => l.msg === 'webhook deliveries are verified on a worker thread');
    expect(started()).toBe(false);
    // Bursts until the worker is up (the first ones are verified here while it loads).
    for (let burst = 0; burst < 50 && !started(); burst++) {
      const answers = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => deliver(url, '/webhook', push, await githubHeaders(push, { delivery: `burst-${burst}-${i}` }))),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    }
    expect(started()).toBe(true);
    const after = await Promise.all(Array.from({ length: 20 }, async (_, i) => deliver(url, '/webhook', push, await githubHeaders(push, { delivery: `after-${i}` }))));
    expect(after.map((a) => a.status)).toEqual(Array(20).fill(202));
    const rows = await eventRows(t.app);
    expect(new Set(rows.map((r) => r.delivery_id)).size).toBe(rows.length);
    expect(rows.filter((r) => r.delivery_id!.startsWith('after-')).length).toBe(20);
  });

  it('a worker that dies hands what it held back to the main thread: every delivery is prepared, once', async () => {
    const config = testConfig(WEBHOOK_CONFIG);
    const { logger, lines } = capturingLogger();
    const preparer = createDeliveryPreparer({ config, logger, mode: 'always', workerUrl: new URL('./dying-worker.mjs', import.meta.url) });
    disposals.push(() => preparer.close());
    const options = githubOptions(config);
    const inputs = await Promise.all(Array.from({ length: 12 }, (_, i) => githubPushInput(`held-${i}`)));
    const prepared = await Promise.all(inputs.map((input) => preparer.prepare(options, input, inputs.length)));
    expect(prepared).toEqual(inputs.map((input) => prepareDelivery(options, input)));
    expect(prepared.every((p) => p.kind === 'ready' && p.outcome === 'accepted')).toBe(true);
    expect(lines.filter((l) => l.level === 50).map((l) => l.msg)).toEqual(['the delivery worker failed: deliveries are verified on the main thread from now on']);
    // And after: on the main thread, at once.
    expect(await preparer.prepare(options, inputs[0]!, 20)).toEqual(prepared[0]);
  });

  it('a configuration that cannot be copied to a thread: no worker, deliveries prepared on the main thread', async () => {
    // A configuration built in code may hold what a thread cannot receive (a function).
    const config = { ...testConfig(WEBHOOK_CONFIG), describe: () => 'not cloneable' };
    const { logger, lines } = capturingLogger();
    const preparer = createDeliveryPreparer({ config, logger, mode: 'always' });
    disposals.push(() => preparer.close());
    const options = githubOptions(config);
    const input = await githubPushInput('uncloneable-1');
    expect(await preparer.prepare(options, input, 1)).toEqual(prepareDelivery(options, input));
    expect(lines.filter((l) => l.level === 50).map((l) => l.msg)).toEqual(['the delivery worker could not start: deliveries are verified on the main thread']);
  });

  it('closing with a worker that does not answer: what it holds is prepared on the main thread', async () => {
    const config = testConfig(WEBHOOK_CONFIG);
    const { logger } = capturingLogger();
    const preparer = createDeliveryPreparer({ config, logger, mode: 'always', workerUrl: new URL('./silent-worker.mjs', import.meta.url), closeTimeoutMs: 300 });
    const options = githubOptions(config);
    const input = await githubPushInput('silent-1');
    let settled = false;
    const held = preparer.prepare(options, input, 1).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(settled).toBe(false);
    await preparer.close();
    expect(await held).toEqual(prepareDelivery(options, input));
  });
});
