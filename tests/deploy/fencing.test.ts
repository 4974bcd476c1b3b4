import { existsSync, readlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeDeployment } from '../../src/deploy/lifecycle.js';
import { LeaseLostError } from '../../src/deploy/lease.js';
import { ProgressRecorder } from '../../src/deploy/progress-recorder.js';
import { EventBus } from '../../src/events/bus.js';
import {
  claimDeployment,
  fenceOf,
  markTouched,
  recordProcess,
  renewLease,
  requeueExpired,
} from '../../src/store/claim.repository.js';
import { insertDeployment, lockKeyOf } from '../../src/store/deployment.repository.js';
import { findFraiseState } from '../../src/store/fraise-state.repository.js';
import { insertProgress, listProgress } from '../../src/store/progress.repository.js';
import type { Store } from '../../src/store/store.js';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitUntil } from '../setup/deployments.js';
import { DIALECTS, openTestStore, type TestStore } from '../setup/dialects.js';
import { createServiceRepo, type ServiceRepo } from '../setup/service-repo.js';

/*
 * Fencing: each claim of a (fraise, environment) takes the next generation; a holder whose
 * generation is no longer the deployment's (its lease was taken over) cannot record progress,
 * touch or switch the target, end the deployment or change what runs there. In the pipeline, a
 * run that loses its generation in the middle stops before it switches the release.
 */

const WAIT_FOR = resolve('tests/fixtures/wait-for.mjs');
const PAST = new Date(Date.now() - 60_000).toISOString();
const LATER = new Date(Date.now() + 60_000).toISOString();

async function queued(store: Store, fraise = 'api', environment = 'prod'): Promise<number> {
  return insertDeployment(store.db, {
    fraise,
    environment,
    kind: 'deploy',
    trigger: 'api',
    requestedBy: 'test',
    requestedAt: PAST,
    targetProvider: 'bare-metal',
    targetConfig: {},
  });
}

function claim(store: Store, id: number, owner: string, leaseExpiresAt: string, pair = { fraise: 'api', environment: 'prod' }) {
  return claimDeployment(store.db, id, {
    startedAt: PAST,
    leaseOwner: owner,
    leaseExpiresAt,
    oldVersion: null,
    lockKey: lockKeyOf(pair.fraise, pair.environment),
    hostSlot: null,
  });
}

const event = (id: number, sequence: number, message: string) => ({
  deploymentId: String(id),
  sequence,
  step: 'build',
  progress: 10,
  message,
  timestamp: new Date().toISOString(),
});

for (const dialect of DIALECTS) {
  describe(`fencing tokens on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: TestStore;
    beforeAll(async () => {
      if (!skip) t = await openTestStore(dialect);
    });
    afterAll(() => t?.dispose());

    it.skipIf(skip)('refuses every write of a holder whose generation was taken over, and takes the new holder\'s', async () => {
      const { store } = t;
      const id = await queued(store);
      // A claims it, then loses its lease: the sweep queues it again and B claims it.
      expect(await claim(store, id, 'instance-a', PAST)).toBe('claimed');
      expect(await fenceOf(store.db, id)).toBe(1);
      expect(await requeueExpired(store.db, id, new Date().toISOString())).toBe(true);
      expect(await claim(store, id, 'instance-b', LATER)).toBe('claimed');
      expect(await fenceOf(store.db, id)).toBe(2);

      // A (generation 1) is refused everywhere.
      expect(await insertProgress(store.db, event(id, 1, 'stale'), 1)).toBe(false);
      expect(await markTouched(store.db, id, new Date().toISOString(), 1)).toBe(false);
      expect((await renewLease(store.db, id, 'instance-b', new Date().toISOString(), LATER, 1)).held).toBe(false);
      await recordProcess(store.db, id, 1, { pgid: 4242, identity: 'boot:1' });
      const staleEnd = await store.db.transaction().execute((trx) =>
        completeDeployment(trx, id, { fraise: 'api', environment: 'prod', requestedBy: 'a', status: 'success', completedAt: new Date().toISOString(), newVersion: 'stale', runningVersion: 'stale', health: 'healthy', fence: 1 }),
      );
      expect(staleEnd).toBe(false);
      expect((await findFraiseState(store.db, 'api', 'prod'))?.currentVersion ?? null).toBe(null);
      const row = await store.db.selectFrom('tb_deployment').select(['status', 'touched_at', 'process_group']).where('id', '=', id).executeTakeFirstOrThrow();
      expect(row).toEqual({ status: 'in_progress', touched_at: null, process_group: null });
      expect(await listProgress(store.db, id, 0, 1_000)).toEqual([]);

      // B (generation 2) holds it.
      expect(await insertProgress(store.db, event(id, 1, 'current'), 2)).toBe(true);
      expect(await markTouched(store.db, id, new Date().toISOString(), 2)).toBe(true);
      expect((await renewLease(store.db, id, 'instance-b', new Date().toISOString(), LATER, 2)).held).toBe(true);
      await recordProcess(store.db, id, 2, { pgid: 4243, identity: 'boot:2' });
      expect((await store.db.selectFrom('tb_deployment').select('process_group').where('id', '=', id).executeTakeFirstOrThrow()).process_group).toBe(4243);
      const ended = await store.db.transaction().execute((trx) =>
        completeDeployment(trx, id, { fraise: 'api', environment: 'prod', requestedBy: 'b', status: 'success', completedAt: new Date().toISOString(), newVersion: 'v2', runningVersion: 'v2', health: 'healthy', fence: 2 }),
      );
      expect(ended).toBe(true);
      expect((await findFraiseState(store.db, 'api', 'prod'))?.currentVersion).toBe('v2');
      expect((await listProgress(store.db, id, 0, 1_000)).map((p) => p.message)).toEqual(['current']);
      // The end freed the recorded process group with the rest.
      expect((await store.db.selectFrom('tb_deployment').select('process_group').where('id', '=', id).executeTakeFirstOrThrow()).process_group).toBe(null);

      // Generations grow per lock key, whatever the deployment: the next claim of the pair is 3.
      const next = await queued(store);
      expect(await claim(store, next, 'instance-b', LATER)).toBe('claimed');
      expect(await fenceOf(store.db, next)).toBe(3);
      const other = await queued(store, 'api', 'staging');
      expect(await claim(store, other, 'instance-b', LATER, { fraise: 'api', environment: 'staging' })).toBe('claimed');
      expect(await fenceOf(store.db, other)).toBe(1);
    });

    it.skipIf(skip)('does not let the sweep end a deployment whose lease was renewed meanwhile', async () => {
      const { store } = t;
      const id = await queued(store, 'worker', 'prod');
      expect(await claim(store, id, 'instance-a', LATER, { fraise: 'worker', environment: 'prod' })).toBe('claimed');
      const swept = await store.db.transaction().execute((trx) =>
        completeDeployment(trx, id, { fraise: 'worker', environment: 'prod', requestedBy: null, status: 'failed', completedAt: new Date().toISOString(), errorMessage: 'interrupted', leaseStale: { now: new Date().toISOString() } }),
      );
      expect(swept).toBe(false);
      expect((await store.db.selectFrom('tb_deployment').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status).toBe('in_progress');
    });

    it.skipIf(skip)('stops a recorder whose progress is refused: the run is told, the event is neither kept nor published', async () => {
      const { store } = t;
      const id = await queued(store, 'etl', 'prod');
      expect(await claim(store, id, 'instance-a', LATER, { fraise: 'etl', environment: 'prod' })).toBe('claimed');
      const bus = new EventBus();
      const published: string[] = [];
      bus.onProgress(String(id), (e) => published.push(e.message ?? ''));
      let lost = 0;
      const stale = new ProgressRecorder(String(id), 0, store, bus, () => new Date(), { generation: 7, lost: () => lost++ });
      await expect(stale.step('build', 10, 'from a stale holder')).rejects.toBeInstanceOf(LeaseLostError);
      expect(lost).toBe(1);
      const holder = new ProgressRecorder(String(id), 0, store, bus, () => new Date(), { generation: 1, lost: () => lost++ });
      await holder.step('build', 10, 'from the holder');
      expect(published).toEqual(['from the holder']);
      expect((await listProgress(store.db, id, 0, 1_000)).map((p) => p.message)).toEqual(['from the holder']);
    });
  });

  describe(`a run that loses its generation on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: TestApp;
    let repo: ServiceRepo;
    beforeAll(async () => {
      if (skip) return;
      repo = createServiceRepo();
      repo.commit('A');
      t = await createTestApp(dialect, {
        config: testConfig(`
fraisier:
  lease: { ttl: 30s, heartbeat: 10s }
fraises:
  site:
    type: custom
    environments:
      prod:
        branch: main
        git_repo: ${repo.path}
        app_path: ${repo.appPath}
        layout: releases  # in place, the checkout before the install already changes the target
        install: { command: [node, ${WAIT_FOR}, "${repo.scratch}/gate-{id}"] }
        steps: [{ name: hello, command: ["true"] }]
`),
      });
      await t.app.startWorkers();
    });
    afterAll(async () => {
      await t?.dispose();
      repo?.dispose();
    });

    it.skipIf(skip)('stops before switching the release, and records nothing more', async () => {
      const result = await gql(t.app, 'mutation { deploy(fraise: "site", environment: "prod") { deployment { id } } }');
      const id = Number(result.data.deploy.deployment.id);
      await waitUntil(() => existsSync(join(repo.scratch, `gate-${id}.pid`)), { what: 'the install to wait' });
      const before = await listProgress(t.app.store.db, id, 0, 1_000);
      // Another holder took the target over (its claim took a newer generation).
      await t.app.store.db.updateTable('tb_deployment').set({ fence: 99 }).where('id', '=', id).execute();
      writeFileSync(join(repo.scratch, `gate-${id}`), '');
      await waitUntil(() => t.app.dispatcher.runningIds.length === 0, { what: 'the run to stop' });

      // The release was never switched, and the stale run ended nothing.
      expect(existsSync(join(repo.appPath, 'current'))).toBe(false);
      const row = await t.app.store.db.selectFrom('tb_deployment').select(['status', 'touched_at']).where('id', '=', id).executeTakeFirstOrThrow();
      expect(row).toEqual({ status: 'in_progress', touched_at: null });
      expect(await listProgress(t.app.store.db, id, 0, 1_000)).toEqual(before);
      expect((await findFraiseState(t.app.store.db, 'site', 'prod'))?.currentVersion ?? null).toBe(null);
      // The host lock it held under app_path was given up (a newer holder takes it either way).
      expect(() => readlinkSync(join(repo.appPath, '.fraisier-lock.site.prod'))).toThrow(/ENOENT/);
    });
  });
}
