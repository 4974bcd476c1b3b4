import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeDeployment } from '../../src/deploy/lifecycle.js';
import { createTestApp, type TestApp, testConfig } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';
import {
  countRows,
  deliver,
  deploymentsOf,
  eventRows,
  fixture,
  GITHUB_MASTER_SHA,
  githubHeaders,
  githubMasterPush,
  gitlabHeaders,
  gitlabSignedHeaders,
  NOW,
  WEBHOOK_CONFIG,
} from './support.js';

/*
 * Replays: a delivery captured and sent again changes nothing. GitLab's signed scheme covers
 * `webhook-id`, not Idempotency-Key nor X-Gitlab-Event-UUID, so the signed id is the delivery id;
 * a body re-sent under a new delivery id finds its commit already queued or deployed and queues
 * nothing; delivery ids longer than their column stay distinct (hashed, not cut).
 */

const GITLAB_SHA = 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7';
const TIMESTAMP = Math.floor(NOW.getTime() / 1000);

for (const dialect of DIALECTS) {
  describe(`replayed deliveries on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: TestApp;
    let url: string;
    beforeAll(async () => {
      if (skip) return;
      // The dispatcher takes nothing: what is queued stays queued.
      t = await createTestApp(dialect, { config: testConfig(WEBHOOK_CONFIG), now: () => NOW, accept: () => false });
      ({ url } = await t.app.start({ port: 0 }));
    });
    afterAll(async () => {
      await t?.dispose();
    });

    const body = fixture('gitlab/push.json');

    it.skipIf(skip)('a signed GitLab delivery re-sent with its webhook-id and a new Idempotency-Key and event UUID is a duplicate', async () => {
      const signed = gitlabSignedHeaders(body, { timestamp: TIMESTAMP, id: 'msg_signed-1' });
      const first = await deliver(url, '/webhook', body, { ...signed, 'idempotency-key': 'key-1', 'x-gitlab-event-uuid': randomUUID() });
      expect(first.status).toBe(202);
      expect(first.json.event.deliveryId).toBe('msg_signed-1');
      expect(first.json.deployments.map((d: { environment: string }) => d.environment)).toEqual(['qa', 'production']);

      const again = await deliver(url, '/webhook', body, { ...signed, 'idempotency-key': 'key-2', 'x-gitlab-event-uuid': randomUUID() });
      expect(again.status).toBe(200);
      expect(again.json).toMatchObject({ accepted: true, duplicate: true, event: { id: first.json.event.id } });
      expect(again.json.deployments.map((d: { id: string }) => d.id)).toEqual(first.json.deployments.map((d: { id: string }) => d.id));
      expect((await eventRows(t.app)).filter((r) => r.provider === 'gitlab')).toHaveLength(1);
    });

    it.skipIf(skip)('the same body under a new delivery id queues nothing while its commit is queued, nor once it is deployed', async () => {
      const deploymentsBefore = await countRows(t.app, 'tb_deployment');
      const queued = (environment: string) => `commit ${GITLAB_SHA.slice(0, 12)} is already queued for diaspora/${environment}: nothing queued`;
      const resigned = await deliver(url, '/webhook', body, gitlabSignedHeaders(body, { timestamp: TIMESTAMP, id: 'msg_signed-2' }));
      expect(resigned.status).toBe(200);
      expect(resigned.json).toMatchObject({ accepted: true, duplicate: false, deployments: [], message: `${queued('qa')}; ${queued('production')}` });
      expect(resigned.json.event).toMatchObject({ outcome: 'ignored', reason: `${queued('qa')}; ${queued('production')}` });
      // The unsigned scheme: a new Idempotency-Key is a new delivery, and it changes nothing either.
      const token = await deliver(url, '/webhook', body, gitlabHeaders());
      expect(token.status).toBe(200);
      expect(token.json).toMatchObject({ duplicate: false, deployments: [] });
      expect(await countRows(t.app, 'tb_deployment')).toBe(deploymentsBefore);
      const recorded = (await eventRows(t.app)).filter((r) => r.provider === 'gitlab');
      expect(recorded.map((r) => [r.outcome, r.processed, r.fk_deployment])).toEqual([
        ['accepted', 1, expect.anything()],
        ['ignored', 0, null],
        ['ignored', 0, null],
      ]);

      // Both deployments end SUCCESS: the commit is what runs there now.
      const pending = await t.app.store.db.selectFrom('tb_deployment').select(['id', 'environment']).where('fraise', '=', 'diaspora').execute();
      for (const row of pending) {
        await t.app.store.db.transaction().execute((trx) =>
          completeDeployment(trx, Number(row.id), {
            fraise: 'diaspora',
            environment: row.environment,
            requestedBy: 'test',
            status: 'success',
            completedAt: NOW.toISOString(),
            newVersion: GITLAB_SHA,
            runningVersion: GITLAB_SHA,
            health: 'healthy',
          }),
        );
      }
      const deployed = (environment: string) => `commit ${GITLAB_SHA.slice(0, 12)} is already deployed to diaspora/${environment}: nothing queued`;
      const later = await deliver(url, '/webhook', body, gitlabSignedHeaders(body, { timestamp: TIMESTAMP, id: 'msg_signed-3' }));
      expect(later.status).toBe(200);
      expect(later.json).toMatchObject({ duplicate: false, deployments: [], message: `${deployed('qa')}; ${deployed('production')}` });
      expect(await countRows(t.app, 'tb_deployment')).toBe(deploymentsBefore);
    });

    it.skipIf(skip)('two delivery ids longer than the column, alike in their first 300 characters, are two deliveries; each redelivery is a duplicate', async () => {
      const prefix = `${'d'.repeat(300)}-`;
      const [a, b] = [`${prefix}a`, `${prefix}b`];
      const push = githubMasterPush();
      const first = await deliver(url, '/webhook', push, await githubHeaders(push, { delivery: a }));
      expect(first.status).toBe(202);
      expect(first.json.deployments).toEqual([expect.objectContaining({ fraise: 'hello', environment: 'production', gitCommit: GITHUB_MASTER_SHA })]);
      const second = await deliver(url, '/webhook', push, await githubHeaders(push, { delivery: b }));
      expect(second.status).toBe(200);
      expect(second.json.duplicate).toBe(false);
      expect(second.json.event.id).not.toBe(first.json.event.id);

      const ids = (await eventRows(t.app)).filter((r) => r.provider === 'github').map((r) => r.delivery_id!);
      expect(ids).toHaveLength(2);
      for (const id of ids) expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(ids[0]).not.toBe(ids[1]);

      const redelivered = await deliver(url, '/webhook', push, await githubHeaders(push, { delivery: a }));
      expect(redelivered.status).toBe(200);
      expect(redelivered.json).toMatchObject({ duplicate: true, event: { id: first.json.event.id } });
      expect(await deploymentsOf(t.app, first.json.event.id)).toHaveLength(1);
      const redeliveredB = await deliver(url, '/webhook', push, await githubHeaders(push, { delivery: b }));
      expect(redeliveredB.json).toMatchObject({ duplicate: true, event: { id: second.json.event.id } });
      expect((await eventRows(t.app)).filter((r) => r.provider === 'github')).toHaveLength(2);
    });
  });
}
