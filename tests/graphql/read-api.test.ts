import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { completeDeployment } from '../../src/deploy/lifecycle.js';
import { insertDeployment, lockKeyOf, startDeployment } from '../../src/store/deployment.repository.js';
import { insertProgress } from '../../src/store/progress.repository.js';
import { createTestApp, gql, type TestApp } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';

/*
 * The same recorded history must give the same answers on SQLite, PostgreSQL and MySQL: every
 * dialect is checked against the same literal expectations.
 */

const NOW = new Date('2026-11-21T12:00:00.000Z');
const sha = (c: string) => c.repeat(40);

/** Records a deployment as the dispatcher would: queued, started, ended. */
async function record(
  app: App,
  d: {
    fraise: string;
    environment: string;
    commit: string;
    requestedAt: string;
    startedAt?: string;
    completedAt?: string;
    status?: 'success' | 'failed' | 'rolled_back';
    error?: string;
    trigger?: 'webhook' | 'manual' | 'api';
  },
): Promise<number> {
  const db = app.store.db;
  const env = app.services.catalog.environment(d.fraise, d.environment);
  const id = await insertDeployment(db, {
    fraise: d.fraise,
    environment: d.environment,
    kind: 'deploy',
    trigger: d.trigger ?? 'api',
    requestedBy: 'ci',
    requestedAt: d.requestedAt,
    gitBranch: 'main',
    gitCommit: d.commit,
    targetProvider: env.target.provider,
    targetConfig: { region: 'test' },
  });
  if (!d.startedAt) return id;
  await startDeployment(db, id, {
    startedAt: d.startedAt,
    leaseOwner: 'test',
    leaseExpiresAt: d.startedAt,
    oldVersion: null,
    lockKey: lockKeyOf(d.fraise, d.environment),
    hostSlot: null,
  });
  if (!d.completedAt || !d.status) return id;
  await db.transaction().execute((trx) =>
    completeDeployment(trx, id, {
      fraise: d.fraise,
      environment: d.environment,
      requestedBy: 'ci',
      status: d.status!,
      completedAt: d.completedAt!,
      newVersion: d.status === 'success' ? d.commit : null,
      errorMessage: d.error ?? null,
      ...(d.status === 'success' ? { runningVersion: d.commit, health: 'healthy' as const } : {}),
    }),
  );
  return id;
}

for (const dialect of DIALECTS) {
  describe(`the read API on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: TestApp;
    const ids: Record<string, number> = {};

    beforeAll(async () => {
      if (skip) return;
      t = await createTestApp(dialect, { now: () => NOW });
      // 40 days ago: outside stats(days: 30), inside stats(days: 60).
      ids.old = await record(t.app, {
        fraise: 'my_api',
        environment: 'production',
        commit: sha('0'),
        requestedAt: '2026-10-12T09:00:00.000Z',
        startedAt: '2026-10-12T09:00:01.000Z',
        completedAt: '2026-10-12T09:01:01.000Z',
        status: 'success',
      });
      ids.a = await record(t.app, {
        fraise: 'my_api',
        environment: 'production',
        commit: sha('a'),
        requestedAt: '2026-11-20T10:00:00.000Z',
        startedAt: '2026-11-20T10:00:01.000Z',
        completedAt: '2026-11-20T10:00:31.000Z',
        status: 'success',
        trigger: 'webhook',
      });
      ids.b = await record(t.app, {
        fraise: 'my_api',
        environment: 'production',
        commit: sha('b'),
        requestedAt: '2026-11-20T11:00:00.000Z',
        startedAt: '2026-11-20T11:00:02.000Z',
        completedAt: '2026-11-20T11:00:12.500Z',
        status: 'failed',
        error: 'build failed: npm exited with code 1',
      });
      ids.c = await record(t.app, {
        fraise: 'my_api',
        environment: 'staging',
        commit: sha('c'),
        requestedAt: '2026-11-21T08:00:00.000Z',
        startedAt: '2026-11-21T08:00:00.000Z',
        completedAt: '2026-11-21T08:00:20.000Z',
        status: 'success',
      });
      ids.d = await record(t.app, { fraise: 'my_worker', environment: 'production', commit: sha('d'), requestedAt: '2026-11-21T09:00:00.000Z' });
      for (const [sequence, step, progress] of [
        [1, 'preflight', 0],
        [2, 'fetch', 20],
        [3, 'restart', 80],
        [4, 'done', 100],
      ] as const) {
        await insertProgress(t.app.store.db, {
          deploymentId: String(ids.a),
          sequence,
          step,
          progress,
          message: step === 'fetch' ? 'Code updated (aaaaaaaaaaaa)' : null,
          timestamp: `2026-11-20T10:00:0${sequence}.000Z`,
        });
      }
    });
    afterAll(async () => {
      await t?.dispose();
    });

    it.skipIf(skip)('lists deployments newest first, with every field', async () => {
      const result = await gql(
        t.app,
        `{ deployments(limit: 3) { id fraise environment status triggeredBy startedAt completedAt durationSeconds
            oldVersion newVersion gitCommit gitBranch errorMessage target { provider config } } }`,
      );
      expect(result.errors).toBeUndefined();
      expect(result.data.deployments).toEqual([
        {
          id: String(ids.d),
          fraise: 'my_worker',
          environment: 'production',
          status: 'PENDING',
          triggeredBy: 'API',
          startedAt: '2026-11-21T09:00:00.000Z',
          completedAt: null,
          durationSeconds: null,
          oldVersion: null,
          newVersion: null,
          gitCommit: sha('d'),
          gitBranch: 'main',
          errorMessage: null,
          target: { provider: 'kubernetes', config: { region: 'test' } },
        },
        {
          id: String(ids.c),
          fraise: 'my_api',
          environment: 'staging',
          status: 'SUCCESS',
          triggeredBy: 'API',
          startedAt: '2026-11-21T08:00:00.000Z',
          completedAt: '2026-11-21T08:00:20.000Z',
          durationSeconds: 20,
          oldVersion: null,
          newVersion: sha('c'),
          gitCommit: sha('c'),
          gitBranch: 'main',
          errorMessage: null,
          target: { provider: 'coolify', config: { region: 'test' } },
        },
        {
          id: String(ids.b),
          fraise: 'my_api',
          environment: 'production',
          status: 'FAILED',
          triggeredBy: 'API',
          startedAt: '2026-11-20T11:00:02.000Z',
          completedAt: '2026-11-20T11:00:12.500Z',
          durationSeconds: 10.5,
          oldVersion: null,
          newVersion: null,
          gitCommit: sha('b'),
          gitBranch: 'main',
          errorMessage: 'build failed: npm exited with code 1',
          target: { provider: 'bare-metal', config: { region: 'test' } },
        },
      ]);
    });

    it.skipIf(skip)('filters by fraise and environment, and pages with before', async () => {
      const first = await gql(t.app, `{ deployments(fraise: "my_api", environment: "production", limit: 2) { id status } }`);
      expect(first.data.deployments).toEqual([
        { id: String(ids.b), status: 'FAILED' },
        { id: String(ids.a), status: 'SUCCESS' },
      ]);
      const next = await gql(t.app, `{ deployments(fraise: "my_api", environment: "production", limit: 2, before: "${ids.a}") { id } }`);
      expect(next.data.deployments).toEqual([{ id: String(ids.old) }]);
      const byEnv = await gql(t.app, `{ deployments(environment: "staging") { id } }`);
      expect(byEnv.data.deployments).toEqual([{ id: String(ids.c) }]);
      const byStatus = await gql(t.app, `{ deployments(status: PENDING) { id } }`);
      expect(byStatus.data.deployments).toEqual([{ id: String(ids.d) }]);
    });

    it.skipIf(skip)('shows one deployment with its progress, oldest first', async () => {
      const result = await gql(t.app, `query($id: ID!) { deployment(id: $id) { id status progress { deploymentId sequence step progress message timestamp } } }`, {
        id: String(ids.a),
      });
      expect(result.data.deployment).toEqual({
        id: String(ids.a),
        status: 'SUCCESS',
        progress: [
          { deploymentId: String(ids.a), sequence: 1, step: 'preflight', progress: 0, message: null, timestamp: '2026-11-20T10:00:01.000Z' },
          { deploymentId: String(ids.a), sequence: 2, step: 'fetch', progress: 20, message: 'Code updated (aaaaaaaaaaaa)', timestamp: '2026-11-20T10:00:02.000Z' },
          { deploymentId: String(ids.a), sequence: 3, step: 'restart', progress: 80, message: null, timestamp: '2026-11-20T10:00:03.000Z' },
          { deploymentId: String(ids.a), sequence: 4, step: 'done', progress: 100, message: null, timestamp: '2026-11-20T10:00:04.000Z' },
        ],
      });
    });

    it.skipIf(skip)('gives status and the fraises with what runs where', async () => {
      const status = await gql(t.app, `{ a: status(fraise: "my_api", environment: "production") b: status(fraise: "my_worker", environment: "production") }`);
      expect(status.data).toEqual({ a: 'HEALTHY', b: 'UNKNOWN' });
      const fraises = await gql(t.app, `{ fraises { name type description database { type name strategy } environments { name status currentVersion lastDeployedAt target { provider } } } }`);
      expect(fraises.data.fraises).toEqual([
        {
          name: 'my_api',
          type: 'API',
          description: 'My API',
          database: { type: 'postgresql', name: null, strategy: 'apply' },
          environments: [
            { name: 'staging', status: 'HEALTHY', currentVersion: sha('c'), lastDeployedAt: '2026-11-21T08:00:20.000Z', target: { provider: 'coolify' } },
            { name: 'production', status: 'HEALTHY', currentVersion: sha('a'), lastDeployedAt: '2026-11-20T10:00:31.000Z', target: { provider: 'bare-metal' } },
          ],
        },
        {
          name: 'my_worker',
          type: 'WORKER',
          description: null,
          database: null,
          environments: [{ name: 'production', status: 'UNKNOWN', currentVersion: null, lastDeployedAt: null, target: { provider: 'kubernetes' } }],
        },
      ]);
    });

    it.skipIf(skip)('computes stats over the last days', async () => {
      const result = await gql(
        t.app,
        `{ all: stats { total successful failed rolledBack avgDurationSeconds successRate }
           api7: stats(fraise: "my_api", days: 7) { total successful failed avgDurationSeconds successRate }
           wide: stats(days: 60) { total successful avgDurationSeconds successRate }
           worker: stats(fraise: "my_worker") { total successRate avgDurationSeconds } }`,
      );
      expect(result.errors).toBeUndefined();
      expect(result.data).toEqual({
        all: { total: 3, successful: 2, failed: 1, rolledBack: 0, avgDurationSeconds: 20.167, successRate: 66.7 },
        api7: { total: 3, successful: 2, failed: 1, avgDurationSeconds: 20.167, successRate: 66.7 },
        wide: { total: 4, successful: 3, avgDurationSeconds: 30.125, successRate: 75 },
        worker: { total: 0, successRate: 0, avgDurationSeconds: null },
      });
    });

    it.skipIf(skip)('answers NOT_FOUND for an unknown fraise or environment', async () => {
      const result = await gql(
        t.app,
        `{ fraise(name: "my_apii") { name } }`,
      );
      expect(result.data?.fraise).toBeNull();
      expect(result.errors?.[0]).toMatchObject({ message: 'unknown fraise "my_apii"; did you mean "my_api"?', extensions: { code: 'NOT_FOUND' } });
      for (const query of [
        `{ status(fraise: "nope", environment: "production") }`,
        `{ status(fraise: "my_api", environment: "prod") }`,
        `{ deployments(fraise: "nope") { id } }`,
        `{ deployments(environment: "nowhere") { id } }`,
        `{ stats(fraise: "nope") { total } }`,
        `{ deployment(id: "999999") { id } }`,
      ]) {
        const answer = await gql(t.app, query);
        expect(answer.errors?.[0]?.extensions?.code, query).toBe('NOT_FOUND');
      }
    });

    it.skipIf(skip)('caps limit with a clear error', async () => {
      const result = await gql(t.app, `{ deployments(limit: 500) { id } }`);
      expect(result.errors?.[0]).toMatchObject({
        message: 'limit must be between 1 and 100 (got 500); page with "before" for more',
        extensions: { code: 'BAD_USER_INPUT' },
      });
      const events = await gql(t.app, `{ webhookEvents(limit: 0) { id } }`);
      expect(events.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      const days = await gql(t.app, `{ stats(days: 0) { total } }`);
      expect(days.errors?.[0]).toMatchObject({ message: 'days must be between 1 and 3650 (got 0)' });
    });

    it.skipIf(skip)('says what each environment last tried, and what a rollback would go back to', async () => {
      const result = await gql(
        t.app,
        `{ fraises { name environments { name currentVersion rollbackVersion lastAttempt { id status errorMessage } } } }`,
      );
      expect(result.errors).toBeUndefined();
      expect(result.data.fraises).toEqual([
        {
          name: 'my_api',
          environments: [
            // One success: what runs, and nothing else to go back to.
            { name: 'staging', currentVersion: sha('c'), rollbackVersion: null, lastAttempt: { id: String(ids.c), status: 'SUCCESS', errorMessage: null } },
            {
              name: 'production',
              currentVersion: sha('a'),
              rollbackVersion: sha('0'),
              lastAttempt: { id: String(ids.b), status: 'FAILED', errorMessage: 'build failed: npm exited with code 1' },
            },
          ],
        },
        // Queued, never started: no attempt yet.
        { name: 'my_worker', environments: [{ name: 'production', currentVersion: null, rollbackVersion: null, lastAttempt: null }] },
      ]);
    });

    it.skipIf(skip)('never returns a secret in DeploymentTarget.config', async () => {
      const result = await gql(t.app, `{ fraise(name: "my_api") { environments { name target { provider config } } } }`);
      const staging = result.data.fraise.environments[0];
      expect(staging.target).toEqual({
        provider: 'coolify',
        config: { endpoint: 'http://127.0.0.1:9', api_key: '********', application_uuid: 'app-1' },
      });
      expect(JSON.stringify(result)).not.toContain('super-secret-key-123');
    });
  });
}
