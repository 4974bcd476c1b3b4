import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { completeDeployment } from '../../src/deploy/lifecycle.js';
import { insertDeployment, lockKeyOf, startDeployment } from '../../src/store/deployment.repository.js';
import { createTestApp, gql, type TestApp } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';

/*
 * DORA's four keys on a recorded history whose answers are worked out by hand, the same on
 * SQLite, PostgreSQL and MySQL, through `stats` and /metrics. The clock is NOW; the window is
 * the last 30 days (from 2026-10-22T12:00Z).
 *
 * my_api/production: a success 2 h after its commit (11-10); a failure (11-12 09:00) and a
 * rollback (09:30), one incident, restored by a success at 10:00 whose commit was 20 min old; a
 * cancelled run (not an outcome); a success a day after its commit (11-20); and a success before
 * the window. Lead times 7200, 1200, 86400 s (median 7200); 2 failures of 5; 3 successes in 30
 * days; restore 3600 s.
 * my_api/staging: a failure restored 2 h later by a success 3 h after its commit, then a failure
 * not yet restored. Lead 10800 s; 2 failures of 3; restore 7200 s.
 * Both: 4 successes / 30 days; leads 1200, 7200, 10800, 86400 (median 9000); 4 of 8; restores
 * 3600, 7200 (median 5400).
 */

const NOW = new Date('2026-11-21T12:00:00.000Z');
let serial = 0;

async function record(app: App, environment: string, d: { commitTime: string; completedAt: string; status: 'success' | 'failed' | 'rolled_back' | 'cancelled' }) {
  const db = app.store.db;
  const commit = (++serial).toString(16).padStart(40, '0');
  const startedAt = new Date(Date.parse(d.completedAt) - 60_000).toISOString();
  const id = await insertDeployment(db, {
    fraise: 'my_api',
    environment,
    kind: 'deploy',
    trigger: 'webhook',
    requestedBy: 'ci',
    requestedAt: startedAt,
    gitBranch: 'main',
    gitCommit: commit,
    targetProvider: 'bare-metal',
    targetConfig: {},
  });
  await startDeployment(db, id, { startedAt, leaseOwner: 'test', leaseExpiresAt: startedAt, oldVersion: null, lockKey: lockKeyOf('my_api', environment), hostSlot: null });
  await db.transaction().execute((trx) =>
    completeDeployment(trx, id, {
      fraise: 'my_api',
      environment,
      requestedBy: 'ci',
      status: d.status,
      completedAt: d.completedAt,
      newVersion: d.status === 'success' ? commit : null,
      errorMessage: d.status === 'success' ? null : 'broken',
      commitTime: d.commitTime,
    }),
  );
}

const STATS = `query($f: String, $e: String) { stats(fraise: $f, environment: $e, days: 30) { total deploymentFrequency leadTimeSeconds changeFailureRate timeToRestoreSeconds } }`;

for (const dialect of DIALECTS) {
  describe(`DORA figures on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: TestApp;

    beforeAll(async () => {
      if (skip) return;
      t = await createTestApp(dialect, { now: () => NOW });
      const prod = (commitTime: string, completedAt: string, status: 'success' | 'failed' | 'rolled_back' | 'cancelled') => record(t.app, 'production', { commitTime, completedAt, status });
      const staging = (commitTime: string, completedAt: string, status: 'success' | 'failed') => record(t.app, 'staging', { commitTime, completedAt, status });
      await prod('2026-09-30T12:00:00.000Z', '2026-10-01T12:00:00.000Z', 'success');
      await prod('2026-11-10T10:00:00.000Z', '2026-11-10T12:00:00.000Z', 'success');
      await prod('2026-11-12T08:00:00.000Z', '2026-11-12T09:00:00.000Z', 'failed');
      await prod('2026-11-12T09:00:00.000Z', '2026-11-12T09:30:00.000Z', 'rolled_back');
      await prod('2026-11-12T09:40:00.000Z', '2026-11-12T10:00:00.000Z', 'success');
      await prod('2026-11-12T12:00:00.000Z', '2026-11-13T12:00:00.000Z', 'cancelled');
      await prod('2026-11-19T12:00:00.000Z', '2026-11-20T12:00:00.000Z', 'success');
      await staging('2026-11-14T20:00:00.000Z', '2026-11-15T00:00:00.000Z', 'failed');
      // Committed with an offset: 2026-11-14T23:00Z.
      await staging('2026-11-15T01:00:00.000+02:00', '2026-11-15T02:00:00.000Z', 'success');
      await staging('2026-11-21T10:00:00.000Z', '2026-11-21T11:00:00.000Z', 'failed');
    });
    afterAll(async () => {
      await t?.dispose();
    });

    it.skipIf(skip)('per fraise and environment, and over both, in stats', async () => {
      const stats = async (e?: string) => (await gql(t.app, STATS, { f: 'my_api', e })).data.stats;
      expect(await stats('production')).toEqual({ total: 5, deploymentFrequency: 0.1, leadTimeSeconds: 7200, changeFailureRate: 40, timeToRestoreSeconds: 3600 });
      expect(await stats('staging')).toEqual({ total: 3, deploymentFrequency: 0.033, leadTimeSeconds: 10800, changeFailureRate: 66.7, timeToRestoreSeconds: 7200 });
      expect(await stats()).toEqual({ total: 8, deploymentFrequency: 0.133, leadTimeSeconds: 9000, changeFailureRate: 50, timeToRestoreSeconds: 5400 });
      // Nothing deployed: no lead time, no failure rate, no restore; a frequency of 0.
      const none = (await gql(t.app, STATS, { f: 'my_worker', e: 'production' })).data.stats;
      expect(none).toEqual({ total: 0, deploymentFrequency: 0, leadTimeSeconds: null, changeFailureRate: null, timeToRestoreSeconds: null });
    });

    it.skipIf(skip)('per fraise and environment on /metrics', async () => {
      const text = await t.app.metrics.registry.metrics();
      const value = (name: string, environment: string) => {
        const line = text.split('\n').find((l) => l.startsWith(`${name}{fraise="my_api",environment="${environment}"}`));
        return line === undefined ? undefined : Number(line.split(' ').at(-1));
      };
      expect(value('fraisier_dora_deployment_frequency_per_day', 'production')).toBe(0.1);
      expect(value('fraisier_dora_lead_time_seconds', 'production')).toBe(7200);
      expect(value('fraisier_dora_change_failure_ratio', 'production')).toBe(0.4);
      expect(value('fraisier_dora_time_to_restore_seconds', 'production')).toBe(3600);
      expect(value('fraisier_dora_lead_time_seconds', 'staging')).toBe(10800);
      expect(value('fraisier_dora_change_failure_ratio', 'staging')).toBe(0.667);
      expect(value('fraisier_dora_time_to_restore_seconds', 'staging')).toBe(7200);
    });
  });
}
