import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { createServiceRepo, freePort, helloConfig, helloEnvironment, type ServiceRepo } from '../setup/service-repo.js';

/*
 * restore_migrate with the Python Fraisier's `restore:` block, deployed on this machine: the
 * newest dump matching backup_pattern in backup_dir (by modification time) is what the restore
 * command gets, in $FRAISIER_RESTORE_FILE, before the migration runs; no matching dump stops
 * the deployment at migrate, naming the directory and the pattern, and so does a newest dump
 * older than restore.max_age_hours.
 */

const RECORD = (file: string, what: string) => `[node, -e, "require('node:fs').appendFileSync('${file}', ${what} + '\\\\n')"]`;

function config(repo: ServiceRepo, port: number, backups: string, pattern: string, maxAgeHours?: number): string {
  const more = `database:
  type: postgresql
  strategy: restore_migrate
  restore_command: ${RECORD(join(repo.scratch, 'steps.log'), "'restore ' + process.env.FRAISIER_RESTORE_FILE")}
  migrate_command: ${RECORD(join(repo.scratch, 'steps.log'), "'migrate ' + (process.env.FRAISIER_RESTORE_FILE ?? 'without the dump')")}
  restore:
    backup_dir: ${backups}
    backup_pattern: "${pattern}"${maxAgeHours ? `\n    max_age_hours: ${maxAgeHours}` : ''}`;
  return helloConfig(helloEnvironment(repo, port, { more }));
}

for (const dialect of DIALECTS) {
  describe(`restore_migrate from a backup directory on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let repo: ServiceRepo;
    let backups: string;
    let commit: string;
    const apps: TestApp[] = [];

    beforeAll(async () => {
      if (skip) return;
      repo = createServiceRepo();
      commit = repo.commit('A');
      backups = join(repo.scratch, 'backups');
      mkdirSync(backups);
      const now = Date.now() / 1000;
      for (const [name, hoursAgo] of [['shop_2026-11-19.dump', 30], ['shop_2026-11-18.dump', 2], ['shop_2026-11-20.sql', 1]] as const) {
        writeFileSync(join(backups, name), name);
        utimesSync(join(backups, name), now - hoursAgo * 3600, now - hoursAgo * 3600);
      }
    });
    afterAll(async () => {
      for (const t of apps) await t.dispose();
      repo?.dispose();
    });

    const deploy = async (pattern: string, maxAgeHours?: number) => {
      const t = await createTestApp(dialect, { config: testConfig(config(repo, await freePort(), backups, pattern, maxAgeHours)) });
      apps.push(t);
      await t.app.startWorkers();
      const result = await gql(t.app, `mutation($c: String) { deploy(fraise: "hello", environment: "local", commit: $c) { success message deployment { id } } }`, { c: commit });
      expect(result.errors).toBeUndefined();
      return waitForEnd(t.app, result.data.deploy.deployment.id);
    };

    it.skipIf(skip)('restores the newest matching dump, then migrates', async () => {
      const deployment = await deploy('shop_*.dump', 3);
      expect(deployment).toMatchObject({ status: 'success', errorMessage: null });
      expect(readFileSync(join(repo.scratch, 'steps.log'), 'utf8')).toBe(`restore ${join(backups, 'shop_2026-11-18.dump')}\nmigrate without the dump\n`);
    });

    it.skipIf(skip)('stops at migrate when the newest dump is older than restore.max_age_hours', async () => {
      const deployment = await deploy('shop_*.dump', 1);
      expect(deployment.status).toBe('failed');
      expect(deployment.errorMessage).toContain(`migrate failed: the newest dump ${join(backups, 'shop_2026-11-18.dump')} is `);
      expect(deployment.errorMessage).toMatch(/ is 2\.\d hours old, more than restore\.max_age_hours \(1\)$/);
    });

    it.skipIf(skip)('stops at migrate when no dump matches', async () => {
      const deployment = await deploy('*.tar');
      expect(deployment).toMatchObject({ status: 'failed', errorMessage: `migrate failed: no dump matching "*.tar" in ${backups}` });
    });
  });
}
