import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeDeployment } from '../../src/deploy/lifecycle.js';
import { supersedeOlder } from '../../src/deploy/queue.js';
import { claimDeployment } from '../../src/store/claim.repository.js';
import { deploymentHeads, findDeployment, finishDeployment, insertDeployment, lockKeyOf, type NewDeployment } from '../../src/store/deployment.repository.js';
import {
  copyApprovals,
  findGateSubject,
  listApprovals,
  readPromotionSource,
  recordDecision,
  recordRefusal,
  recordWaiting,
} from '../../src/store/gate.repository.js';
import { updateFraiseState } from '../../src/store/fraise-state.repository.js';
import type { Store } from '../../src/store/store.js';
import { DIALECTS, openTestStore, type TestStore } from '../setup/dialects.js';

/*
 * The store's side of gates: verdicts and decisions are compare-and-sets on gate_version (of two
 * writers reading the same version, one wins); WAITING is queued everywhere PENDING is (claim,
 * supersede, cancel, the pair's heads); approvals are one per actor and carried over on
 * supersede; the promotion source is read from the state row and the deployments that succeeded.
 */

const T0 = '2026-12-01T10:00:00.000Z';
const T1 = '2026-12-01T10:05:00.000Z';
const T2 = '2026-12-01T10:10:00.000Z';
const COMMIT = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const GATES = JSON.stringify([{ kind: 'approvals', satisfied: false, message: '0 of 2 approvals', approvals: [] }]);

function queue(store: Store, environment: string, extra: Partial<NewDeployment> = {}): Promise<number> {
  return insertDeployment(store.db, {
    fraise: 'api',
    environment,
    kind: 'deploy',
    trigger: 'api',
    requestedBy: 'carol',
    requestedAt: T0,
    gitCommit: COMMIT,
    targetProvider: 'bare-metal',
    targetConfig: {},
    ...extra,
  });
}

const claim = (store: Store, id: number, environment: string, gateVersion?: number) =>
  claimDeployment(store.db, id, {
    startedAt: T1,
    leaseOwner: 'instance-a',
    leaseExpiresAt: '2999-01-01T00:00:00.000Z',
    oldVersion: null,
    lockKey: lockKeyOf('api', environment),
    hostSlot: null,
    ...(gateVersion !== undefined ? { gateVersion } : {}),
  });

const decide = (store: Store, deploymentId: number, actor: string, decision: 'approve' | 'reject', comment: string | null = null, at = T1) =>
  store.db.transaction().execute((trx) => recordDecision(trx, { deploymentId, actor, decision, comment, at }));

for (const dialect of DIALECTS) {
  describe(`gates in the ${dialect.name} store`, async () => {
    const skip = await dialect.unavailable();
    let t: TestStore;
    beforeAll(async () => {
      if (!skip) t = await openTestStore(dialect);
    });
    afterAll(() => t?.dispose());

    it.skipIf(skip)('records a wait once per version, keeps when it began to wait, and shows it WAITING until a claim at that version', async () => {
      const { db } = t.store;
      const id = await queue(t.store, 'wait', { freezeOverrideBy: 'root' });
      const subject = await findGateSubject(db, id);
      expect(subject).toMatchObject({ id, status: 'pending', requestedBy: 'carol', gitCommit: COMMIT, kind: 'deploy', gateVersion: 0, waitingSince: null, freezeOverrideBy: 'root', gates: null });

      // Two instances read version 0 and record the same verdict: one wins.
      const verdict = { fromVersion: 0, gates: GATES, wakeAt: T2, at: T1 };
      const results = await Promise.all([recordWaiting(db, id, verdict), recordWaiting(db, id, verdict)]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await findDeployment(db, id)).toMatchObject({ status: 'waiting', waitingUntil: T2, gates: JSON.parse(GATES) });
      expect(await findGateSubject(db, id)).toMatchObject({ status: 'waiting', gateVersion: 1, waitingSince: T1, wakeAt: T2 });
      // A later wait keeps when it began to wait (the approvals' timeout counts from there).
      expect(await recordWaiting(db, id, { fromVersion: 1, gates: GATES, wakeAt: null, at: T2 })).toBe(true);
      expect(await findGateSubject(db, id)).toMatchObject({ gateVersion: 2, waitingSince: T1, wakeAt: null });
      expect(await deploymentHeads(db, 'api', 'wait')).toMatchObject({ active: [{ id, status: 'waiting', gitCommit: COMMIT }] });

      // A claim at an older version is refused; at the current one it starts the waiting deployment.
      expect(await claim(t.store, id, 'wait', 1)).toBe('gone');
      expect(await claim(t.store, id, 'wait', 2)).toBe('claimed');
      expect(await findDeployment(db, id)).toMatchObject({ status: 'in_progress', waitingUntil: null });
      expect(await findGateSubject(db, id)).toMatchObject({ gateVersion: 3, wakeAt: null });
      expect(await recordWaiting(db, id, { fromVersion: 3, gates: GATES, wakeAt: null, at: T2 })).toBe(false);
    });

    it.skipIf(skip)('takes one decision per actor on a queued deployment, bumping its version; none once it ended', async () => {
      const { db } = t.store;
      const id = await queue(t.store, 'decide');
      expect(await decide(t.store, id, 'alice', 'approve', 'looks good')).toBe('recorded');
      expect(await decide(t.store, id, 'alice', 'reject', 'changed my mind')).toBe('duplicate');
      expect(await decide(t.store, id, 'bob', 'reject', 'not today', T2)).toBe('recorded');
      expect(await listApprovals(db, id)).toEqual([
        { by: 'alice', decision: 'approve', comment: 'looks good', at: T1 },
        { by: 'bob', decision: 'reject', comment: 'not today', at: T2 },
      ]);
      // Each decision moved the version: a verdict read before them is not recorded.
      expect((await findGateSubject(db, id))!.gateVersion).toBe(2);
      expect(await recordRefusal(db, id, { fromVersion: 0, gates: GATES, reason: 'rejected by bob: not today', at: T2 })).toBe(false);
      expect(await recordRefusal(db, id, { fromVersion: 2, gates: GATES, reason: 'rejected by bob: not today', at: T2 })).toBe(true);
      expect(await findDeployment(db, id)).toMatchObject({ status: 'cancelled', errorMessage: 'rejected by bob: not today', completedAt: T2, durationSeconds: null });
      expect(await decide(t.store, id, 'dave', 'approve')).toBe('not-queued');
      expect(await listApprovals(db, id)).toHaveLength(2);
    });

    it.skipIf(skip)('cancels a waiting deployment as a pending one, and supersedes it with its approvals carried over when asked', async () => {
      const { db } = t.store;
      const cancelled = await queue(t.store, 'cancel');
      expect(await recordWaiting(db, cancelled, { fromVersion: 0, gates: GATES, wakeAt: T2, at: T1 })).toBe(true);
      expect(await db.transaction().execute((trx) => finishDeployment(trx, cancelled, { status: 'cancelled', completedAt: T2, errorMessage: 'cancelled by alice before it started' }))).toBe(true);
      expect(await findDeployment(db, cancelled)).toMatchObject({ status: 'cancelled', waitingUntil: null });

      const first = await queue(t.store, 'carry');
      const second = await queue(t.store, 'carry');
      expect(await recordWaiting(db, first, { fromVersion: 0, gates: GATES, wakeAt: null, at: T1 })).toBe(true);
      expect(await decide(t.store, first, 'alice', 'approve', 'ok')).toBe('recorded');
      expect(await decide(t.store, second, 'alice', 'approve', 'ok too', T2)).toBe('recorded');
      expect(await decide(t.store, second, 'bob', 'approve')).toBe('recorded');
      expect(await decide(t.store, first, 'eve', 'reject', 'no')).toBe('recorded');
      const newest = await queue(t.store, 'carry', { requestedAt: T2 });
      const superseded = await db.transaction().execute((trx) =>
        supersedeOlder(trx, { fraise: 'api', environment: 'carry', job: null, newerThan: newest, at: T2, carryApprovals: true }),
      );
      expect(superseded.sort((a, b) => a - b)).toEqual([first, second]);
      expect(await findDeployment(db, first)).toMatchObject({ status: 'superseded', errorMessage: `superseded by deployment ${newest}` });
      // Approvals only, each actor once (its latest); a rejection is not carried.
      expect(await listApprovals(db, newest)).toEqual([
        { by: 'alice', decision: 'approve', comment: 'ok too', at: T2 },
        { by: 'bob', decision: 'approve', comment: null, at: T1 },
      ]);
      expect(await db.transaction().execute((trx) => copyApprovals(trx, [second], newest))).toBe(0);

      // Without carry_approvals nothing follows the newer deployment.
      const plain = await queue(t.store, 'plain');
      expect(await decide(t.store, plain, 'alice', 'approve')).toBe('recorded');
      const replacing = await queue(t.store, 'plain');
      await db.transaction().execute((trx) => supersedeOlder(trx, { fraise: 'api', environment: 'plain', job: null, newerThan: replacing, at: T2 }));
      expect(await listApprovals(db, replacing)).toEqual([]);
    });

    it.skipIf(skip)('reads the promotion source: what runs there, its health and since when, and when the commit last succeeded there', async () => {
      const { db } = t.store;
      expect(await readPromotionSource(db, 'api', 'staging', COMMIT)).toEqual({ succeededAt: null, currentVersion: null, health: 'unknown', healthSince: null });
      // A deploy typed short (an API deploy) recorded the full commit as its version.
      const id = await queue(t.store, 'staging', { gitCommit: COMMIT.slice(0, 7) });
      expect(await claim(t.store, id, 'staging')).toBe('claimed');
      await db.transaction().execute((trx) =>
        completeDeployment(trx, id, { fraise: 'api', environment: 'staging', requestedBy: 'carol', status: 'success', completedAt: T1, newVersion: COMMIT, runningVersion: COMMIT, errorMessage: null, health: 'healthy' }),
      );
      const source = await readPromotionSource(db, 'api', 'staging', COMMIT);
      expect(source).toMatchObject({ succeededAt: T1, currentVersion: COMMIT, health: 'healthy' });
      expect(source.healthSince).toBe(T1);
      expect(await readPromotionSource(db, 'api', 'staging', COMMIT.slice(0, 10))).toMatchObject({ succeededAt: T1 });
      expect(await readPromotionSource(db, 'api', 'staging', 'ffffffffffffffffffffffffffffffffffffffff')).toMatchObject({ succeededAt: null, currentVersion: COMMIT });
      expect(await readPromotionSource(db, 'api', 'staging', null)).toMatchObject({ succeededAt: null });
      // The monitor saw it go down: the state row says so, and since when.
      await updateFraiseState(db, 'api', 'staging', { status: 'down', updatedAt: T2 });
      expect(await readPromotionSource(db, 'api', 'staging', COMMIT)).toMatchObject({ succeededAt: T1, health: 'down', healthSince: T2 });
    });
  });
}
