import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimDeployment, markTouched } from '../../src/store/claim.repository.js';
import { insertDeployment, lockKeyOf } from '../../src/store/deployment.repository.js';
import { createTestApp, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';

/*
 * A process that died leaves its deployment IN_PROGRESS under a lease nobody renews. The sweep
 * queues it again when it had not changed the target yet, and fails it as interrupted
 * otherwise; either way no row stays IN_PROGRESS and the lock is freed.
 */

const CONFIG = `
fraisier:
  lease: { ttl: 2s, heartbeat: 0.5s }
fraises:
  tool:
    type: custom
    environments:
      local:
        app_path: /tmp
        steps:
          - { name: hello, command: [node, -e, "console.log('hello')"] }
`;

for (const dialect of DIALECTS) {
  describe(`expired leases on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: TestApp;
    beforeAll(async () => {
      if (skip) return;
      t = await createTestApp(dialect, { config: testConfig(CONFIG) });
    });
    afterAll(() => t?.dispose());

    /** A deployment claimed by a process that then died: its lease expired a minute ago. */
    const abandoned = async (touched: boolean) => {
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
      const past = new Date(Date.now() - 60_000).toISOString();
      expect(
        await claimDeployment(t.app.store.db, id, { startedAt: past, leaseOwner: 'dead-process', leaseExpiresAt: past, oldVersion: null, lockKey: lockKeyOf('tool', 'local'), hostSlot: 'local#0' }),
      ).toBe('claimed');
      if (touched) await markTouched(db, id, past);
      return id;
    };

    it.skipIf(skip)('queues a deployment again when it had not touched the target, and it then runs', async () => {
      const id = await abandoned(false);
      await t.app.startWorkers(); // the start-up sweep finds it
      const ended = await waitForEnd(t.app, id);
      expect(ended.status).toBe('success');
      const progress = await t.app.services.queries.progress(String(id));
      expect(progress[0]).toMatchObject({ sequence: 1, step: 'interrupted', message: 'the Fraisier process dead-process stopped before changing the target: queued again (attempt 2 of 3)' });
      const row = await t.app.store.db.selectFrom('tb_deployment').select(['attempt', 'lock_key', 'host_slot', 'lease_owner']).where('id', '=', id).executeTakeFirstOrThrow();
      expect(row).toEqual({ attempt: 2, lock_key: null, host_slot: null, lease_owner: null });
    });

    it.skipIf(skip)('fails a deployment that had touched the target as interrupted, and frees its lock', async () => {
      const id = await abandoned(true);
      await t.app.dispatcher.sweep();
      const ended = await waitForEnd(t.app, id);
      expect(ended.status).toBe('failed');
      expect(ended.errorMessage).toMatch(/^interrupted: the Fraisier process dead-process stopped while running it/);
      const row = await t.app.store.db.selectFrom('tb_deployment').select(['lock_key', 'host_slot', 'lease_owner', 'lease_expires_at']).where('id', '=', id).executeTakeFirstOrThrow();
      expect(row).toEqual({ lock_key: null, host_slot: null, lease_owner: null, lease_expires_at: null });
      expect(await t.app.services.queries.status({ kind: 'open' }, 'tool', 'local')).toBe('unknown');
    });
  });
}
