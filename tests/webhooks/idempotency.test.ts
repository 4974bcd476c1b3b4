import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment } from '../../src/model.js';
import { createTestApp, type TestApp, testConfig } from '../setup/app.js';
import { DIALECTS, type DialectFixture } from '../setup/dialects.js';
import {
  deliver,
  deploymentsOf,
  eventRows,
  fixture,
  githubHeaders,
  githubMasterPush,
  gitlabHeaders,
  NOW,
  startWebhookApp,
  type WebhookTestApp,
  WEBHOOK_CONFIG,
} from './support.js';

/*
 * A delivery is written once: concurrent copies of it, retries, and a failure half-way through
 * its transaction all end with exactly the deployments it asks for, never more, never half.
 */

/** A trigger that makes the insert of diaspora/production's request fail, per dialect. */
async function injectFailure(t: WebhookTestApp, dialect: DialectFixture['name']): Promise<() => Promise<void>> {
  const db = t.app.store.db;
  switch (dialect) {
    case 'sqlite':
      await sql`CREATE TRIGGER fail_production BEFORE INSERT ON tb_deployment_request
        WHEN NEW.fraise = 'diaspora' AND NEW.environment = 'production'
        BEGIN SELECT RAISE(ABORT, 'injected failure'); END`.execute(db);
      return async () => void (await sql`DROP TRIGGER fail_production`.execute(db));
    case 'postgres':
      await sql`CREATE FUNCTION fail_production() RETURNS trigger AS $$
        BEGIN
          IF NEW.fraise = 'diaspora' AND NEW.environment = 'production' THEN RAISE EXCEPTION 'injected failure'; END IF;
          RETURN NEW;
        END $$ LANGUAGE plpgsql`.execute(db);
      await sql`CREATE TRIGGER fail_production BEFORE INSERT ON tb_deployment_request FOR EACH ROW EXECUTE FUNCTION fail_production()`.execute(db);
      return async () => void (await sql`DROP TRIGGER fail_production ON tb_deployment_request`.execute(db));
    case 'mysql':
      await sql`CREATE TRIGGER fail_production BEFORE INSERT ON tb_deployment_request FOR EACH ROW
        BEGIN
          IF NEW.fraise = 'diaspora' AND NEW.environment = 'production' THEN
            SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure';
          END IF;
        END`.execute(db);
      return async () => void (await sql`DROP TRIGGER fail_production`.execute(db));
  }
}

for (const dialect of DIALECTS) {
  describe(`one delivery, written once, on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: WebhookTestApp;
    beforeAll(async () => {
      if (skip) return;
      t = await startWebhookApp(dialect);
    });
    afterAll(async () => {
      if (!skip) await t.dispose();
    });

    it.skipIf(skip)('100 concurrent copies of a delivery: one row, one deployment, 99 duplicates', async () => {
      const body = githubMasterPush();
      const headers = await githubHeaders(body, { delivery: 'storm' });
      const answers = await Promise.all(Array.from({ length: 100 }, () => deliver(t.url, '/webhook', body, headers)));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses.filter((s) => s === 202)).toHaveLength(1);
      expect(statuses.filter((s) => s === 200)).toHaveLength(99);
      expect(answers.filter((a) => a.json.duplicate === true)).toHaveLength(99);
      expect(new Set(answers.map((a) => a.json.event.id)).size).toBe(1);
      const rows = (await eventRows(t.app)).filter((r) => r.delivery_id === 'storm');
      expect(rows).toHaveLength(1);
      expect(await deploymentsOf(t.app, rows[0]!.id)).toHaveLength(1);
    });

    it.skipIf(skip)('deliveries without a delivery id are not deduplicated', async () => {
      const body = githubMasterPush();
      const { 'x-github-delivery': _, ...headers } = await githubHeaders(body);
      const before = (await eventRows(t.app)).length;
      expect((await deliver(t.url, '/webhook', body, headers)).json.duplicate).toBe(false);
      expect((await deliver(t.url, '/webhook', body, headers)).json.duplicate).toBe(false);
      const added = (await eventRows(t.app)).slice(before);
      expect(added.map((r) => r.delivery_id)).toEqual([null, null]);
    });

    it.skipIf(skip)('a failure inside the transaction writes nothing; the redelivery then queues everything once', async () => {
      const body = fixture('gitlab/push.json');
      const headers = gitlabHeaders({ key: 'half-way' });
      const restore = await injectFailure(t, dialect.name);
      let failed;
      try {
        failed = await deliver(t.url, '/webhook', body, headers);
      } finally {
        await restore();
      }
      // Not a 4xx: the provider must retry (GitLab disables a hook for good after 4xx answers).
      expect(failed.status).toBe(500);
      expect(failed.json).toEqual({ accepted: false, code: 'INTERNAL_SERVER_ERROR', message: 'internal error: the delivery was not processed; retry it' });
      expect((await eventRows(t.app)).filter((r) => r.delivery_id === 'half-way')).toEqual([]);
      const orphans = await t.app.store.db.selectFrom('tb_deployment').select('id').where('fraise', '=', 'diaspora').execute();
      expect(orphans).toEqual([]);

      const retried = await deliver(t.url, '/webhook', body, headers);
      expect(retried.status).toBe(202);
      expect(retried.json.deployments.map((d: { environment: string }) => d.environment)).toEqual(['qa', 'production']);
      const rows = (await eventRows(t.app)).filter((r) => r.delivery_id === 'half-way');
      expect(rows).toHaveLength(1);
      expect(await deploymentsOf(t.app, rows[0]!.id)).toHaveLength(2);
    });
  });

  describe(`a newer push supersedes a queued older one, on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: TestApp;
    beforeAll(async () => {
      if (skip) return;
      // No dispatcher runs here (init, not start): queued deployments stay queued.
      t = await createTestApp(dialect, { config: testConfig(WEBHOOK_CONFIG), now: () => NOW });
    });
    afterAll(() => t?.dispose());

    it.skipIf(skip)('the older PENDING deployment ends SUPERSEDED and is announced', async () => {
      const completed: Deployment[] = [];
      const off = t.app.bus.onCompleted((d) => completed.push(d));
      const principal = { kind: 'webhook', provider: 'github' } as const;
      const push = async (sha: string, delivery: string) => {
        const payload = githubMasterPush().replaceAll('6113728f27ae82c7b1a177c8d03f9e96e0adf246', sha);
        const headers = await githubHeaders(payload, { delivery });
        return t.app.services.webhooks.process(principal, { provider: 'github', payload, headers });
      };
      const older = await push('1'.repeat(40), 'older');
      const newer = await push('2'.repeat(40), 'newer');
      off();
      expect(older.deployments[0]).toMatchObject({ status: 'pending', gitCommit: '1'.repeat(40) });
      expect(newer.deployments[0]).toMatchObject({ status: 'pending', gitCommit: '2'.repeat(40) });
      const ended = await t.app.services.queries.deployment({ kind: 'open' }, older.deployments[0]!.id);
      expect(ended).toMatchObject({ status: 'superseded', errorMessage: `superseded by deployment ${newer.deployments[0]!.id}` });
      expect(completed.map((d) => [d.id, d.status])).toEqual([[older.deployments[0]!.id, 'superseded']]);
    });
  });
}
