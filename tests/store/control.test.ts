import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeDeployment } from '../../src/deploy/lifecycle.js';
import { claimDeployment, expiredLeases, fenceOf, renewLease, requeueExpired } from '../../src/store/claim.repository.js';
import { enterPaused, leavePaused, readRequests, requestPause, requestPromote, requestResume } from '../../src/store/control.repository.js';
import { deploymentHeads, findDeployment, insertDeployment, lockKeyOf, requestCancel } from '../../src/store/deployment.repository.js';
import { insertProgress } from '../../src/store/progress.repository.js';
import type { Store } from '../../src/store/store.js';
import { DIALECTS, openTestStore, type TestStore } from '../setup/dialects.js';

/*
 * The store's side of pause, resume and promote: requests are wishes on the row, taken only while
 * the deployment runs; PAUSED is written by the holder under its generation and counts as
 * running everywhere a running deployment is looked for (lease, progress, end, the sweep, the
 * pair's active deployments); a deployment queued again keeps what operators asked.
 */

const PAST = new Date(Date.now() - 60_000).toISOString();
const LATER = new Date(Date.now() + 60_000).toISOString();

async function queued(store: Store, environment: string): Promise<number> {
  return insertDeployment(store.db, {
    fraise: 'api',
    environment,
    kind: 'deploy',
    trigger: 'api',
    requestedBy: 'test',
    requestedAt: PAST,
    gitCommit: 'abcdef1',
    targetProvider: 'bare-metal',
    targetConfig: {},
  });
}

async function claimed(store: Store, environment: string, leaseExpiresAt = LATER): Promise<{ id: number; fence: number }> {
  const id = await queued(store, environment);
  const result = await claimDeployment(store.db, id, {
    startedAt: PAST,
    leaseOwner: 'instance-a',
    leaseExpiresAt,
    oldVersion: null,
    lockKey: lockKeyOf('api', environment),
    hostSlot: null,
  });
  expect(result).toBe('claimed');
  return { id, fence: (await fenceOf(store.db, id))! };
}

for (const dialect of DIALECTS) {
  describe(`deployment control in the ${dialect.name} store`, async () => {
    const skip = await dialect.unavailable();
    let t: TestStore;
    beforeAll(async () => {
      if (!skip) t = await openTestStore(dialect);
    });
    afterAll(() => t?.dispose());

    it.skipIf(skip)('takes requests only while the deployment runs, and resume only when there is a pause', async () => {
      const { db } = t.store;
      const pending = await queued(t.store, 'one');
      expect(await requestPause(db, pending, 'alice')).toBe(false);
      expect(await requestPromote(db, pending, 'alice')).toBe(false);
      expect(await readRequests(db, pending)).toBeUndefined();

      const { id, fence } = await claimed(t.store, 'two');
      expect(await requestResume(db, id, 'bob')).toBe(false);
      expect(await requestPause(db, id, 'alice')).toBe(true);
      expect(await readRequests(db, id)).toEqual({ cancelRequested: false, pauseBy: 'alice', resumeBy: null, promotedBy: null });
      // Not taken yet: resume withdraws it.
      expect(await requestResume(db, id, 'bob')).toBe(true);
      expect(await readRequests(db, id)).toMatchObject({ pauseBy: null, resumeBy: 'bob' });

      // The holder pauses (consuming the resume asked before); the lease is renewed while paused.
      expect(await enterPaused(db, id, { until: LATER, message: 'Canary at 10%' }, fence)).toBe(true);
      expect(await readRequests(db, id)).toMatchObject({ resumeBy: null });
      expect(await findDeployment(db, id)).toMatchObject({ status: 'paused', pausedUntil: LATER, pauseMessage: 'Canary at 10%', promoted: false });
      expect(await renewLease(db, id, 'instance-a', new Date().toISOString(), LATER, fence)).toMatchObject({ held: true });
      expect(await insertProgress(db, { deploymentId: String(id), sequence: 1, step: 'paused', progress: 50, message: 'Canary at 10%', timestamp: PAST }, fence)).toBe(true);
      expect(await deploymentHeads(db, 'api', 'two')).toMatchObject({ active: [{ id, status: 'paused' }] });
      expect(await enterPaused(db, id, { until: null, message: 'again' }, fence)).toBe(false);

      expect(await requestResume(db, id, 'carol')).toBe(true);
      expect(await requestPromote(db, id, 'dave')).toBe(true);
      expect(await readRequests(db, id)).toEqual({ cancelRequested: false, pauseBy: null, resumeBy: 'carol', promotedBy: 'dave' });
      expect(await leavePaused(db, id, fence + 1)).toBe(false);
      expect(await leavePaused(db, id, fence)).toBe(true);
      expect(await findDeployment(db, id)).toMatchObject({ status: 'in_progress', pausedUntil: null, pauseMessage: null, promoted: true });
      expect(await readRequests(db, id)).toMatchObject({ resumeBy: null, promotedBy: 'dave' });

      // Ended from PAUSED: nothing more is taken, and the pause is gone from the record.
      expect(await enterPaused(db, id, { until: null, message: 'Canary at 50%' }, fence)).toBe(true);
      const ended = await db.transaction().execute((trx) =>
        completeDeployment(trx, id, { fraise: 'api', environment: 'two', requestedBy: 'test', status: 'cancelled', completedAt: new Date().toISOString(), errorMessage: 'cancelled while running', fence }),
      );
      expect(ended).toBe(true);
      expect(await findDeployment(db, id)).toMatchObject({ status: 'cancelled', pausedUntil: null, pauseMessage: null, promoted: true });
      expect(await requestPause(db, id, 'alice')).toBe(false);
      expect(await requestResume(db, id, 'alice')).toBe(false);
    });

    it.skipIf(skip)('sweeps a paused deployment whose process died, and queues it again with what operators asked', async () => {
      const { db } = t.store;
      const { id, fence } = await claimed(t.store, 'three', PAST);
      expect(await enterPaused(db, id, { until: null, message: 'Canary at 10%' }, fence)).toBe(true);
      expect(await requestPause(db, id, 'alice')).toBe(true);
      await requestCancel(db, id);
      expect((await expiredLeases(db, new Date().toISOString())).map((e) => e.id)).toContain(id);
      expect(await requeueExpired(db, id, new Date().toISOString())).toBe(true);
      expect(await findDeployment(db, id)).toMatchObject({ status: 'pending', pausedUntil: null, pauseMessage: null });
      const row = await db.selectFrom('tb_deployment').select(['pause_requested_by', 'cancel_requested', 'lock_key']).where('id', '=', id).executeTakeFirstOrThrow();
      expect({ ...row, cancel_requested: Number(row.cancel_requested) }).toEqual({ pause_requested_by: 'alice', cancel_requested: 1, lock_key: null });
    });
  });
}
