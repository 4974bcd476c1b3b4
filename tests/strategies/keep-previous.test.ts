import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { blueGreenConfig, deploy, slotPorts } from '../setup/blue-green.js';
import { DIALECTS } from '../setup/dialects.js';
import { nginxUnavailable, startNginx, type TestNginx } from '../setup/nginx.js';
import { createServiceRepo, type ServiceRepo } from '../setup/service-repo.js';

/*
 * keep_previous: the slot that served before keeps running after the switch, so a rollback to
 * it is a switch back, nothing started; once it no longer runs, the rollback goes through the
 * idle slot like a deployment. Where the traffic went is recorded with the progress, on each
 * store.
 */

const short = (sha: string) => sha.slice(0, 12);
const versionOn = async (port: number) => (await fetch(`http://127.0.0.1:${port}/version`)).text();

for (const dialect of DIALECTS) {
  describe.skipIf(nginxUnavailable())(`blue-green with keep_previous on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: TestApp;
    let repo: ServiceRepo;
    let nginx: TestNginx;
    let ports: [number, number];
    const commits: Record<string, string> = {};

    beforeAll(async () => {
      if (skip) return;
      repo = createServiceRepo();
      ports = await slotPorts();
      nginx = await startNginx({ initialPort: ports[0] });
      t = await createTestApp(dialect, { config: testConfig(blueGreenConfig(repo, nginx, ports, { keepPrevious: true })) });
      await t.app.startWorkers();
    });
    afterAll(async () => {
      await t?.dispose();
      await nginx?.stop();
      repo?.dispose();
    });

    const served = async () => (await fetch(`${nginx.url}/version`)).text();
    const progressOf = async (id: string) =>
      (await gql(t.app, `query($id: ID!) { deployment(id: $id) { progress { step message traffic { slot port version weight } } } }`, { id })).data.deployment.progress as {
        step: string;
        message: string;
        traffic: { slot: string; port: number; version: string | null; weight: number }[] | null;
      }[];

    it.skipIf(skip)('keeps the old slot running after the switch, and records where the traffic went', async () => {
      commits.A = repo.commit('A');
      commits.B = repo.commit('B');
      expect(await deploy(t, commits.A)).toMatchObject({ status: 'success' });
      const plan = await gql(t.app, `mutation { deploy(fraise: "hello", environment: "local", dryRun: true) { plan } }`);
      expect(plan.data.deploy.plan).toEqual(['preflight', 'fetch', 'install', 'start', 'health_check', 'switch', 'drain']);
      const second = await deploy(t, commits.B);
      expect(second).toMatchObject({ status: 'success', newVersion: commits.B });
      expect(await served()).toBe('B');
      // blue still runs A, taking no traffic.
      expect(await versionOn(ports[0])).toBe('A');
      const events = await progressOf(second.id);
      expect(events.map((e) => e.message)).toContain(`Slot blue keeps running ${short(commits.A)} (keep_previous): a rollback to it is a switch back`);
      expect(events.filter((e) => e.traffic).map((e) => e.traffic)).toEqual([
        [
          { slot: 'green', port: ports[1], version: commits.B, weight: 100 },
          { slot: 'blue', port: ports[0], version: commits.A, weight: 0 },
        ],
      ]);
      const status = await gql(t.app, `{ status(fraise: "hello", environment: "local") }`);
      expect(status.data.status).toBe('HEALTHY');
    });

    it.skipIf(skip)('rolls back by switching to the slot still running the version, starting nothing', async () => {
      const rollback = await deploy(t, commits.A!, 'rollback');
      expect(rollback).toMatchObject({ status: 'success', kind: 'rollback', newVersion: commits.A, oldVersion: commits.B });
      expect(await served()).toBe('A');
      expect(await versionOn(ports[1])).toBe('B');
      const events = await progressOf(rollback.id);
      expect(events.map((e) => e.step)).not.toContain('start');
      expect(events.map((e) => e.message)).toContain(`Slot blue (port ${ports[0]}) still runs ${short(commits.A!)}: switching back to it, nothing to start`);
    });

    it.skipIf(skip)('goes through the idle slot when it no longer runs the version', async () => {
      // green stops (as after a reboot): the rollback to B starts it again from the kept release.
      execFileSync(join(repo.appPath, 'slots', 'green', 'bin', 'stop'), { env: { ...process.env, FRAISIER_SHARED_PATH: join(repo.appPath, 'shared'), FRAISIER_SLOT: 'green' } });
      const rollback = await deploy(t, null, 'rollback');
      expect(rollback).toMatchObject({ status: 'success', newVersion: commits.B });
      expect(await served()).toBe('B');
      const events = await progressOf(rollback.id);
      expect(events.map((e) => e.message)).toEqual(expect.arrayContaining([`Release ${short(commits.B!)} was kept: nothing to rebuild`, `Slot green started on port ${ports[1]}: ${short(commits.B!)}`]));
    });
  });
}
