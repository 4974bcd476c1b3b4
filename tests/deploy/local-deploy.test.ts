import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { createServiceRepo, freePort, helloEnvironment, type ServiceRepo } from '../setup/service-repo.js';

/*
 * End to end on this machine: a git repository holds a tiny HTTP service; Fraisier deploys it
 * (fetch the exact commit, install, restart, health check), rolls a broken release back by
 * itself, and rolls back to a chosen version on request. systemd does not run here: the
 * environment's service commands are the service's own scripts, which really start and stop it.
 */

function helloConfig(repo: ServiceRepo, port: number): string {
  return `
fraisier:
  lease: { ttl: 5s, heartbeat: 1s }
  poll_interval: 1s
fraises:
  hello:
    type: api
    description: Tiny HTTP service
    environments:
${helloEnvironment(repo, port)}`;
}

const version = async (port: number) => (await fetch(`http://127.0.0.1:${port}/version`)).text();

for (const dialect of DIALECTS) {
  describe(`a local deployment on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: TestApp;
    let repo: ServiceRepo;
    let port: number;
    const commits: Record<string, string> = {};

    beforeAll(async () => {
      if (skip) return;
      repo = createServiceRepo();
      port = await freePort();
      t = await createTestApp(dialect, { config: testConfig(helloConfig(repo, port)) });
      await t.app.startWorkers();
    });
    afterAll(async () => {
      await t?.dispose();
      repo?.dispose();
    });

    const deploy = async (commit: string) => {
      const result = await gql(t.app, `mutation($c: String) { deploy(fraise: "hello", environment: "local", commit: $c) { success message plan deployment { id status gitCommit } } }`, { c: commit });
      expect(result.errors).toBeUndefined();
      expect(result.data.deploy.success).toBe(true);
      return waitForEnd(t.app, result.data.deploy.deployment.id);
    };

    it.skipIf(skip)('deploys commit A: SUCCESS, the service answers A, status HEALTHY', async () => {
      commits.A = repo.commit('A');
      const plan = await gql(t.app, `mutation { deploy(fraise: "hello", environment: "local", dryRun: true) { success dryRun plan message deployment { id } } }`);
      expect(plan.data.deploy).toEqual({
        success: true,
        dryRun: true,
        plan: ['preflight', 'fetch', 'install', 'restart', 'health_check'],
        message: `dry run: would deploy ${commits.A.slice(0, 12)} to hello/local (bare-metal); nothing was queued`,
        deployment: null,
      });
      const deployment = await deploy(commits.A);
      expect(deployment).toMatchObject({ status: 'success', newVersion: commits.A, gitCommit: commits.A, errorMessage: null });
      expect(await version(port)).toBe('A');
      expect(readlinkSync(join(repo.appPath, 'current'))).toBe(join(repo.appPath, 'releases', commits.A));
      const status = await gql(t.app, `{ status(fraise: "hello", environment: "local") fraise(name: "hello") { environments { currentVersion status } } }`);
      expect(status.data).toEqual({ status: 'HEALTHY', fraise: { environments: [{ currentVersion: commits.A, status: 'HEALTHY' }] } });
      const progress = await gql(t.app, `query($id: ID!) { deployment(id: $id) { progress { sequence step progress message } } }`, { id: deployment.id });
      const events = progress.data.deployment.progress as { sequence: number; step: string; progress: number; message: string | null }[];
      expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
      expect([...new Set(events.map((e) => e.step))]).toEqual(['preflight', 'fetch', 'install', 'restart', 'health_check', 'done']);
      expect(events.at(-1)).toMatchObject({ step: 'done', progress: 100 });
      expect(events.map((e) => e.message)).toContain(`Code updated (${commits.A.slice(0, 12)})`);
    });

    it.skipIf(skip)('refuses to redeploy the running commit without force', async () => {
      const again = await gql(t.app, `mutation($c: String) { deploy(fraise: "hello", environment: "local", commit: $c) { success message deployment { id } } }`, { c: commits.A });
      expect(again.data.deploy).toEqual({
        success: false,
        message: `${commits.A!.slice(0, 12)} is already deployed to hello/local; deploy with force to redeploy it`,
        deployment: null,
      });
    });

    it.skipIf(skip)('rolls back by itself when commit B fails its health check: the service answers A again', async () => {
      commits.B = repo.commit('B', { healthy: false });
      const deployment = await deploy(commits.B);
      expect(deployment.status).toBe('rolled_back');
      expect(deployment.errorMessage).toMatch(/^health check failed: HTTP 500/);
      expect(await version(port)).toBe('A');
      const state = await gql(t.app, `{ fraise(name: "hello") { environments { currentVersion status } } }`);
      expect(state.data.fraise.environments[0]).toEqual({ currentVersion: commits.A, status: 'HEALTHY' });
      const steps = await t.app.services.queries.progress(deployment.id);
      expect(steps.map((e) => e.step)).toContain('rollback');
      expect(steps.at(-1)).toMatchObject({ step: 'rolled_back' });
    });

    it.skipIf(skip)('rolls back to a chosen version after a good C, reusing the kept release', async () => {
      commits.C = repo.commit('C');
      expect((await deploy(commits.C)).status).toBe('success');
      expect(await version(port)).toBe('C');
      const result = await gql(t.app, `mutation($v: String) { rollback(fraise: "hello", environment: "local", toVersion: $v) { success message plan deployment { id } } }`, {
        v: commits.A!.slice(0, 10),
      });
      expect(result.data.rollback).toMatchObject({ success: true, plan: ['preflight', 'checkout', 'restart', 'health_check'] });
      const rollback = await waitForEnd(t.app, result.data.rollback.deployment.id);
      expect(rollback).toMatchObject({ status: 'success', kind: 'rollback', newVersion: commits.A, oldVersion: commits.C });
      expect(await version(port)).toBe('A');
      const messages = (await t.app.services.queries.progress(rollback.id)).map((e) => e.message);
      expect(messages).toContain(`Release ${commits.A!.slice(0, 12)} was kept: nothing to rebuild`);
      const status = await gql(t.app, `{ fraise(name: "hello") { environments { currentVersion } } }`);
      expect(status.data.fraise.environments[0].currentVersion).toBe(commits.A);
    });

    it.skipIf(skip)('rolls back to the last good version before the current one when none is given', async () => {
      const result = await gql(t.app, `mutation { rollback(fraise: "hello", environment: "local") { success message deployment { id } } }`);
      expect(result.data.rollback.success).toBe(true);
      const rollback = await waitForEnd(t.app, result.data.rollback.deployment.id);
      expect(rollback).toMatchObject({ status: 'success', newVersion: commits.C });
      expect(await version(port)).toBe('C');
      const unknown = await gql(t.app, `mutation { rollback(fraise: "hello", environment: "local", toVersion: "0123456789") { success message deployment { id } } }`);
      expect(unknown.data.rollback).toEqual({
        success: false,
        message: 'no successful deployment of "0123456789" is recorded for hello/local',
        deployment: null,
      });
    });

    it.skipIf(skip)('fetches the exact commit, not whatever the branch is now', async () => {
      const d = repo.commit('D');
      repo.commit('E');
      const deployment = await deploy(d);
      expect(deployment).toMatchObject({ status: 'success', newVersion: d });
      expect(await version(port)).toBe('D');
      expect(existsSync(join(repo.appPath, 'releases', d, 'installed'))).toBe(true);
    });
  });
}
