import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeDeployment } from '../../src/deploy/lifecycle.js';
import { NotificationOutbox } from '../../src/notifications/outbox.js';
import { claimDeployment } from '../../src/store/claim.repository.js';
import { insertDeployment, lockKeyOf } from '../../src/store/deployment.repository.js';
import {
  claimDueNotifications,
  disableDestination,
  disabledDestinations,
  insertNotifications,
  listNotifications,
  type NewNotification,
  nextNotificationDue,
  releaseNotification,
  settleNotification,
  settleUnsent,
} from '../../src/store/notification.repository.js';
import { testConfig } from '../setup/app.js';
import { DIALECTS, openTestStore, type TestStore } from '../setup/dialects.js';

/*
 * The outbox in the store, on the three dialects: rows are written once per (event,
 * destination) and with the transaction that records their event; a claim gives each due row
 * to one sender at a time (two senders at once never share one), a dead sender's rows are taken
 * again after its lease, a stale sender cannot settle what another took over; attempts are
 * recorded in order; a destination that is gone disables its other pending rows.
 */

const T0 = '2026-11-21T10:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();

function row(eventId: string, fingerprint: string, overrides: Partial<NewNotification> = {}): NewNotification {
  return {
    event_id: eventId,
    fk_deployment: null,
    fraise: 'api',
    environment: 'production',
    event: 'failure',
    payload: '{}',
    destination_type: 'webhook',
    destination_target: 'POST https://hooks.example.com/********',
    destination_path: 'notifications.on_failure[0]',
    destination_fingerprint: fingerprint,
    status: 'pending',
    created_at: T0,
    next_attempt_at: T0,
    last_error: null,
    ...overrides,
  };
}

const CONFIG = `
fraisier:
  public_url: https://deploy.example.com/
notifications:
  on_failure:
    - { type: webhook, url: "https://hooks.example.com/a" }
  on_started:
    - { type: slack, webhook_url: "https://hooks.slack.com/services/T1/B2/abcdefghijkl" }
fraises:
  api:
    type: api
    environments:
      production:
        target: { provider: bare-metal, app_path: /srv/api }
        notifications:
          on_failure:
            - { type: webhook, url: "https://hooks.example.com/a" }
            - { type: pagerduty, routing_key: "0123456789abcdef0123456789abcdef" }
`;

for (const dialect of DIALECTS) {
  describe(`the notification outbox in the ${dialect.name} store`, async () => {
    const skip = await dialect.unavailable();
    let t: TestStore;
    beforeAll(async () => {
      if (!skip) t = await openTestStore(dialect);
    });
    afterAll(() => t?.dispose());

    it.skipIf(skip)('keeps one row per (event, destination), even when written twice', async () => {
      const { db } = t.store;
      await insertNotifications(db, [row('e1.failure', 'fp-a'), row('e1.failure', 'fp-b')]);
      await db.transaction().execute((trx) => insertNotifications(trx, [row('e1.failure', 'fp-a', { payload: '{"second":true}' })]));
      const rows = await listNotifications(db, { limit: 10 });
      expect(rows.filter((r) => r.eventId === 'e1.failure').map((r) => r.destination.type)).toEqual(['webhook', 'webhook']);
      expect(await db.selectFrom('tb_notification').select('payload').where('destination_fingerprint', '=', 'fp-a').executeTakeFirstOrThrow()).toEqual({ payload: '{}' });
    });

    it.skipIf(skip)('gives each due row to one sender; a dead sender\'s rows are taken after its lease; a stale sender cannot settle', async () => {
      const { db } = t.store;
      await insertNotifications(db, Array.from({ length: 12 }, (_, i) => row(`e2.${i}`, 'fp-c')));
      await insertNotifications(db, [row('e2.later', 'fp-c', { next_attempt_at: at(3600) })]);
      const claimsAtOnce = await Promise.all(
        ['a', 'b', 'c'].map((owner) => claimDueNotifications(db, { owner, now: at(1), leaseUntil: at(31), limit: 5 })),
      );
      const ids = claimsAtOnce.flat().map((c) => c.id);
      expect(new Set(ids).size).toBe(ids.length);
      // 12 here and the 2 of the first test are due; the three claims could take 15.
      expect(ids.length).toBe(14);
      expect(claimsAtOnce.flat().some((c) => c.eventId === 'e2.later')).toBe(false);
      expect(await claimDueNotifications(db, { owner: 'd', now: at(2), leaseUntil: at(32), limit: 50 })).toEqual([]);

      // Sender "a" died: at(31) its lease ends and "d" takes its rows.
      const fromA = claimsAtOnce[0]!;
      const retaken = await claimDueNotifications(db, { owner: 'd', now: at(40), leaseUntil: at(70), limit: 50 });
      expect(retaken.map((c) => c.id).sort()).toEqual(ids.slice().sort());
      const first = fromA[0]!;
      const attempt = { attempt: 1, startedAt: at(2), durationMs: 12, outcome: 'delivered' as const, statusCode: 200, error: null, retryAt: null, instance: 'a' };
      expect(await settleNotification(db, first.id, first.lease, attempt, { status: 'delivered', completedAt: at(3) })).toBe(false);
      const taken = retaken.find((c) => c.id === first.id)!;
      expect(await settleNotification(db, first.id, taken.lease, { ...attempt, instance: 'd', startedAt: at(41) }, { status: 'delivered', completedAt: at(41) })).toBe(true);
      const [settled] = await listNotifications(db, { limit: 1, beforeId: first.id + 1 });
      expect(settled).toMatchObject({ id: String(first.id), status: 'delivered', attemptCount: 1, completedAt: at(41) });
      // Both attempts happened and both are recorded, in order.
      expect(settled!.attempts.map((a) => a.at)).toEqual([at(2), at(41)]);
    });

    it.skipIf(skip)('schedules retries, releases claims, and says when something is next due', async () => {
      const { db } = t.store;
      await db.deleteFrom('tb_notification_attempt').execute();
      await db.deleteFrom('tb_notification').execute();
      expect(await nextNotificationDue(db, at(0))).toBeUndefined();
      await insertNotifications(db, [row('e3.a', 'fp-d'), row('e3.b', 'fp-d', { next_attempt_at: at(100) })]);
      expect(await nextNotificationDue(db, at(0))).toBe(T0);
      const [claim] = await claimDueNotifications(db, { owner: 'a', now: at(0), leaseUntil: at(30), limit: 1 });
      // Leased by a live sender: the next thing to happen is its lease ending... or the later row.
      expect(await nextNotificationDue(db, at(1))).toBe(at(30));
      const attempt = { attempt: 1, startedAt: at(0), durationMs: 5, outcome: 'retry' as const, statusCode: 503, error: 'the endpoint answered 503', retryAt: at(20), instance: 'a' };
      expect(await settleNotification(db, claim!.id, claim!.lease, attempt, { status: 'pending', nextAttemptAt: at(20), lastError: 'the endpoint answered 503' })).toBe(true);
      expect(await nextNotificationDue(db, at(1))).toBe(at(20));
      expect(await claimDueNotifications(db, { owner: 'a', now: at(19), leaseUntil: at(49), limit: 5 })).toEqual([]);
      const [again] = await claimDueNotifications(db, { owner: 'b', now: at(20), leaseUntil: at(50), limit: 5 });
      expect(again).toMatchObject({ eventId: 'e3.a', attempts: 1 });
      await releaseNotification(db, again!.id, again!.lease);
      const [third] = await claimDueNotifications(db, { owner: 'c', now: at(21), leaseUntil: at(51), limit: 5 });
      expect(third?.id).toBe(again!.id);
      expect(await settleUnsent(db, third!.id, again!.lease, 'dropped', 'not mine', at(22))).toBe(false);
      expect(await settleUnsent(db, third!.id, third!.lease, 'dropped', 'its destination is no longer in the configuration', at(22))).toBe(true);
      const [record] = await listNotifications(db, { limit: 1, beforeId: third!.id + 1 });
      expect(record).toMatchObject({ status: 'dropped', lastError: 'its destination is no longer in the configuration', attemptCount: 1, nextAttemptAt: null });
      expect(record!.attempts).toEqual([{ attempt: 1, at: at(0), outcome: 'retry', statusCode: 503, error: 'the endpoint answered 503', durationMs: 5, retryAt: at(20) }]);
    });

    it.skipIf(skip)('disables a destination that is gone, and its other pending rows with it', async () => {
      const { db } = t.store;
      await insertNotifications(db, [row('e4.a', 'fp-gone'), row('e4.b', 'fp-gone'), row('e4.c', 'fp-other')]);
      await disableDestination(db, { fingerprint: 'fp-gone', type: 'slack', target: 'https://hooks.slack.com/********' }, at(5), 'Slack answered 404 channel_not_found');
      await disableDestination(db, { fingerprint: 'fp-gone', type: 'slack', target: 'https://hooks.slack.com/********' }, at(6), 'again');
      expect(await disabledDestinations(db, ['fp-gone', 'fp-other'])).toEqual(new Map([['fp-gone', { at: at(5), reason: 'Slack answered 404 channel_not_found' }]]));
      const rows = await listNotifications(db, { limit: 10 });
      expect(rows.filter((r) => r.eventId.startsWith('e4.')).map((r) => [r.eventId, r.status])).toEqual([
        ['e4.c', 'pending'],
        ['e4.b', 'disabled'],
        ['e4.a', 'disabled'],
      ]);
      expect(await listNotifications(db, { limit: 10, status: 'disabled' })).toHaveLength(2);
      expect(await listNotifications(db, { limit: 10, fraiseIn: ['other'] })).toEqual([]);
    });

    it.skipIf(skip)('writes a deployment\'s notifications with its start and its end, each destination once', async () => {
      const { db } = t.store;
      const config = testConfig(CONFIG);
      const outbox = new NotificationOutbox({ config, now: () => new Date(at(60)) });
      const id = await insertDeployment(db, {
        fraise: 'api',
        environment: 'production',
        kind: 'deploy',
        trigger: 'webhook',
        requestedBy: 'alice',
        requestedAt: T0,
        gitCommit: 'a'.repeat(40),
        gitBranch: 'main',
        targetProvider: 'bare-metal',
        targetConfig: {},
      });
      const claim = await claimDeployment(
        db,
        id,
        { startedAt: at(1), leaseOwner: 'a', leaseExpiresAt: at(31), oldVersion: null, lockKey: lockKeyOf('api', 'production'), hostSlot: null },
        (trx, attempt) => outbox.started(trx, id, attempt),
      );
      expect(claim).toBe('claimed');
      // An end whose transaction fails leaves neither the end nor its notifications.
      await expect(
        db.transaction().execute(async (trx) => {
          await completeDeployment(trx, id, { fraise: 'api', environment: 'production', requestedBy: 'alice', status: 'failed', completedAt: at(50), errorMessage: 'health check failed' });
          await outbox.ended(trx, id);
          throw new Error('the store went away');
        }),
      ).rejects.toThrow('the store went away');
      expect((await listNotifications(db, { limit: 10, deploymentId: id })).map((n) => n.event)).toEqual(['started']);
      await db.transaction().execute(async (trx) => {
        await completeDeployment(trx, id, { fraise: 'api', environment: 'production', requestedBy: 'alice', status: 'failed', completedAt: at(50), errorMessage: 'health check failed' });
        await outbox.ended(trx, id);
      });
      const written = await listNotifications(db, { limit: 10, deploymentId: id });
      expect(written.map((n) => [n.eventId, n.destination.type, n.destination.path, n.status])).toEqual([
        [`d${id}.failure`, 'pagerduty', 'fraises.api.environments.production.notifications.on_failure[1]', 'pending'],
        [`d${id}.failure`, 'webhook', 'notifications.on_failure[0]', 'pending'],
        [`d${id}.started.1`, 'slack', 'notifications.on_started[0]', 'pending'],
      ]);
      const payload = JSON.parse((await db.selectFrom('tb_notification').select('payload').where('event_id', '=', `d${id}.failure`).executeTakeFirstOrThrow()).payload);
      expect(payload).toMatchObject({
        eventId: `d${id}.failure`,
        event: 'failure',
        deploymentId: String(id),
        status: 'failed',
        errorMessage: 'health check failed',
        requestedBy: 'alice',
        gitBranch: 'main',
        url: `https://deploy.example.com/#/deployments/${id}`,
      });
      // The destination's secrets are nowhere in the row.
      const all = JSON.stringify(await db.selectFrom('tb_notification').selectAll().execute());
      expect(all).not.toContain('abcdefghijkl');
      expect(all).not.toContain('0123456789abcdef0123456789abcdef');
    });
  });
}
