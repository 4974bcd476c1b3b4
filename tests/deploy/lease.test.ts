import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { giveUpAfterMs, killGraceMs, LeaseKeeper } from '../../src/deploy/lease.js';
import { claimDeployment } from '../../src/store/claim.repository.js';
import { insertDeployment, lockKeyOf } from '../../src/store/deployment.repository.js';
import { createTestApp, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd, waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';

/*
 * Keeping a lease: renewed every heartbeat (a third of the ttl), given up when no renewal has
 * succeeded for two thirds of it, so that the holder stops before anyone else may take over.
 * And at start-up, a lease still held in this very instance's name is its previous life's.
 */

const LEASE = { ttlSeconds: 0.6, heartbeatSeconds: 0.2 };

describe('the lease keeper', () => {
  const keep = (renew: () => Promise<{ held: boolean; cancelRequested: boolean }>) => {
    const events: string[] = [];
    let renewals = 0;
    const keeper = new LeaseKeeper({
      lease: LEASE,
      renew: async () => {
        renewals++;
        return renew();
      },
      onLost: (why) => events.push(`lost:${why}`),
      onCancelRequested: () => events.push('cancel'),
      onRenewError: () => events.push('error'),
    });
    keeper.start();
    return { keeper, events, renewals: () => renewals };
  };

  it('gives up when no renewal succeeds for two thirds of the ttl, and only once', async () => {
    const { keeper, events } = keep(() => Promise.reject(new Error('connect ECONNREFUSED')));
    await waitUntil(() => events.includes('lost:not-renewed'), { what: 'the keeper to give up' });
    keeper.stop();
    expect(events.filter((e) => e.startsWith('lost'))).toEqual(['lost:not-renewed']);
    // It kept trying until then.
    expect(events[0]).toBe('error');
  });

  it('keeps a lease whose renewals succeed, and passes a cancel on', async () => {
    const { keeper, events, renewals } = keep(async () => ({ held: true, cancelRequested: true }));
    // Well past 2·ttl/3 of renewals: the give-up timer is re-armed by each of them.
    await waitUntil(() => renewals() >= 6, { what: 'six renewals' });
    keeper.stop();
    expect(events.filter((e) => e.startsWith('lost'))).toEqual([]);
    expect(events).toContain('cancel');
  });

  it('stops at once when the lease is refused', async () => {
    const { events } = keep(async () => ({ held: false, cancelRequested: false }));
    await waitUntil(() => events.length > 0, { what: 'a renewal' });
    expect(events).toEqual(['lost:refused']);
  });

  it('gives up and stops commands within the ttl', () => {
    expect(giveUpAfterMs({ ttlSeconds: 30, heartbeatSeconds: 10 })).toBe(20_000);
    expect(killGraceMs({ ttlSeconds: 30, heartbeatSeconds: 10 })).toBe(5_000);
    expect(killGraceMs({ ttlSeconds: 3, heartbeatSeconds: 1 })).toBe(500);
  });
});

describe('lease settings', () => {
  const settings = (lease: string) => parseConfig(`fraisier:\n  lease: ${lease}\nfraises: {}\n`, { env: {} });

  it('renews every third of the ttl unless told otherwise', () => {
    expect(settings('{ ttl: 45s }').config.settings.lease).toEqual({ ttlSeconds: 45, heartbeatSeconds: 15 });
    expect(settings('{ ttl: 30s, heartbeat: 5s }').config.settings.lease).toEqual({ ttlSeconds: 30, heartbeatSeconds: 5 });
  });

  it('refuses a heartbeat longer than a third of the ttl', () => {
    expect(() => settings('{ ttl: 30s, heartbeat: 15s }')).toThrow(/fraisier\.lease: the heartbeat \(15s\) must be at most a third of the ttl \(30s\)/);
  });
});

for (const dialect of DIALECTS) {
  describe(`start-up on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: TestApp;
    beforeAll(async () => {
      if (!skip) {
        t = await createTestApp(dialect, {
          config: testConfig(`
fraisier:
  lease: { ttl: 1h }
fraises:
  tool:
    type: custom
    environments:
      local:
        app_path: /tmp
        steps: [{ name: hello, command: ["true"] }]
`),
        });
      }
    });
    afterAll(() => t?.dispose());

    it.skipIf(skip)('takes back at once a deployment its own previous life held, without waiting for the lease', async () => {
      const db = t.app.store.db;
      const id = await insertDeployment(db, {
        fraise: 'tool',
        environment: 'local',
        kind: 'deploy',
        trigger: 'api',
        requestedBy: 'test',
        requestedAt: new Date().toISOString(),
        targetProvider: 'bare-metal',
        targetConfig: {},
      });
      const now = new Date().toISOString();
      const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
      // Held under this instance's name (FRAISIER_INSTANCE_ID kept across a restart), lease valid for an hour.
      expect(await claimDeployment(t.app.store.db, id, { startedAt: now, leaseOwner: t.app.instanceId, leaseExpiresAt: inAnHour, oldVersion: null, lockKey: lockKeyOf('tool', 'local'), hostSlot: 'local#0' })).toBe('claimed');
      await t.app.startWorkers();
      const ended = await waitForEnd(t.app, id);
      expect(ended.status).toBe('success');
      const progress = await t.app.services.queries.progress(String(id));
      expect(progress[0]).toMatchObject({ step: 'interrupted', message: `the Fraisier process ${t.app.instanceId} stopped before changing the target: queued again (attempt 2 of 3)` });
    });
  });
}
