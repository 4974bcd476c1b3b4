import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/deploy/scheduler.js';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd, waitForStep, waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { createServiceRepo, type ServiceRepo } from '../setup/service-repo.js';

/** A step that waits for a gate file the test creates (tests/fixtures/wait-for.mjs). */
const WAIT_FOR = resolve('tests/fixtures/wait-for.mjs');

/*
 * The queue under pressure: a burst of pushes, cancellation of running and waiting
 * deployments, scheduled jobs with dependencies. Deployments hold at a gate (a script waiting
 * for a file the test creates), so the order of events is the test's, not the clock's.
 */

function gatedConfig(repo: ServiceRepo): string {
  return `
fraisier:
  concurrency: { global: 1, per_host: 1 }
  lease: { ttl: 5s, heartbeat: 1s }
fraises:
  gated:
    type: custom
    environments:
      local:
        branch: main
        git_repo: ${repo.path}
        app_path: ${repo.appPath}
        steps:
          - name: wait
            command: [node, ${WAIT_FOR}, "${repo.scratch}/gate-{id}"]
  jobs:
    type: scheduled
    environments:
      local:
        branch: main
        git_repo: ${repo.path}
        app_path: ${repo.scratch}/jobs-app
        jobs:
          extract:
            schedule: "0 2 * * *"
            command: [node, -e, "require('node:fs').appendFileSync(process.env.FRAISIER_APP_PATH + '/../jobs.log', 'extract\\\\n')"]
          report:
            schedule: "0 2 * * *"
            depends_on: extract
            command: [node, -e, "require('node:fs').appendFileSync(process.env.FRAISIER_APP_PATH + '/../jobs.log', 'report\\\\n')"]
          flaky:
            schedule: "30 3 * * *"
            command: [node, -e, "process.exit(1)"]
          after_flaky:
            schedule: "30 3 * * *"
            depends_on: flaky
            command: [node, -e, "0"]
`;
}

for (const dialect of DIALECTS) {
  describe(`the queue on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: TestApp;
    let repo: ServiceRepo;
    const open = (id: string | number) => writeFileSync(join(repo.scratch, `gate-${id}`), '');

    beforeAll(async () => {
      if (skip) return;
      repo = createServiceRepo();
      repo.commit('base');
      // The app's own scheduler runs on the real clock: off; the test drives one on its own clock.
      t = await createTestApp(dialect, { config: testConfig(gatedConfig(repo)), scheduler: false });
      await t.app.startWorkers();
    });
    afterAll(async () => {
      await t?.dispose();
      repo?.dispose();
    });

    const deploy = async (fields: string, variables: Record<string, unknown> = {}) => {
      const result = await gql(t.app, `mutation($c: String) { deploy(fraise: "gated", environment: "local", commit: $c, force: true) { ${fields} } }`, variables);
      expect(result.errors).toBeUndefined();
      return result.data.deploy;
    };

    it.skipIf(skip)('runs at most two of ten pushes in a burst: the newest ends deployed, the others SUPERSEDED', async () => {
      const commits = Array.from({ length: 10 }, (_, i) => repo.commit(`burst-${i}`));
      const ids: string[] = [];
      for (const commit of commits) ids.push((await deploy('deployment { id }', { c: commit })).deployment.id);
      // Every push is in; now let them through.
      for (const id of ids) open(id);
      const ended = await Promise.all(ids.map((id) => waitForEnd(t.app, id)));
      const ran = ended.filter((d) => d.status !== 'superseded');
      expect(ran.length).toBeLessThanOrEqual(2);
      expect(ran.every((d) => d.status === 'success')).toBe(true);
      expect(ended.at(-1)).toMatchObject({ status: 'success', newVersion: commits.at(-1) });
      expect(ended.filter((d) => d.status === 'superseded').length).toBe(10 - ran.length);
      for (const d of ended.filter((x) => x.status === 'superseded')) expect(d.errorMessage).toMatch(/^superseded by deployment \d+$/);
      const status = await gql(t.app, `{ fraise(name: "gated") { environments { currentVersion } } }`);
      expect(status.data.fraise.environments[0].currentVersion).toBe(commits.at(-1));
    });

    it.skipIf(skip)('cancels a running deployment: its command stops and it ends CANCELLED', async () => {
      const { deployment } = await deploy('deployment { id }', { c: repo.commit('to-cancel') });
      await waitForStep(t.app, deployment.id, 'wait');
      const pidFile = join(repo.scratch, `gate-${deployment.id}.pid`);
      await waitUntil(() => existsSync(pidFile));
      const pid = Number(readFileSync(pidFile, 'utf8'));
      expect(pid).toBeGreaterThan(0);
      const result = await gql(t.app, `mutation($id: ID!) { cancelDeployment(id: $id) { id status errorMessage } }`, { id: deployment.id });
      expect(result.errors).toBeUndefined();
      expect(result.data.cancelDeployment).toEqual({ id: deployment.id, status: 'CANCELLED', errorMessage: 'cancelled while running' });
      expect(isRunning(pid)).toBe(false);
      const again = await gql(t.app, `mutation($id: ID!) { cancelDeployment(id: $id) { id } }`, { id: deployment.id });
      expect(again.errors?.[0]).toMatchObject({ message: `deployment ${deployment.id} already ended (CANCELLED)`, extensions: { code: 'CONFLICT' } });
    });

    it.skipIf(skip)('cancels a waiting deployment at once', async () => {
      const first = await deploy('deployment { id }', { c: repo.commit('runs') });
      await waitForStep(t.app, first.deployment.id, 'wait');
      // One at a time (global concurrency 1): another fraise's deployment waits. A jobs deploy fits.
      const queued = await gql(t.app, `mutation { deploy(fraise: "jobs", environment: "local", force: true) { deployment { id status } } }`);
      const id = queued.data.deploy.deployment.id;
      const result = await gql(t.app, `mutation($id: ID!) { cancelDeployment(id: $id) { status errorMessage } }`, { id });
      expect(result.data.cancelDeployment).toEqual({ status: 'CANCELLED', errorMessage: 'cancelled by local before it started' });
      open(first.deployment.id);
      expect((await waitForEnd(t.app, first.deployment.id)).status).toBe('success');
    });

    it.skipIf(skip)('runs a job with depends_on after its dependency, on its schedule; skips one whose dependency failed', async () => {
      const registered = await gql(t.app, `mutation { deploy(fraise: "jobs", environment: "local", force: true) { deployment { id } } }`);
      const registration = await waitForEnd(t.app, registered.data.deploy.deployment.id);
      expect(registration.status).toBe('success');
      // What is due comes from the instants given to start() and tick(); requests are stamped
      // on the same clock as the dispatcher's, so that "after" below compares like with like.
      const scheduler = new Scheduler({
        store: t.app.store,
        catalog: t.app.services.catalog,
        bus: t.app.bus,
        metrics: t.app.metrics,
        logger: t.app.logger,
        now: () => new Date(),
        notify: () => t.app.dispatcher.notify(),
      });
      scheduler.start(new Date('2030-01-01T01:59:00.000Z'));
      const twoAm = new Date('2030-01-01T02:00:00.000Z');
      const queued = await scheduler.tick(twoAm);
      // The dependency first; its dependent waits for it.
      expect(queued).toEqual(['jobs/local/extract']);
      const runs = async (job: string) =>
        (await gql(t.app, `{ deployments(fraise: "jobs", limit: 50) { id job status triggeredBy requestedAt completedAt } }`)).data.deployments.filter(
          (d: { job: string | null }) => d.job === job,
        );
      const [extract] = await runs('extract');
      const ended = await waitForEnd(t.app, extract.id);
      expect(ended.status).toBe('success');
      await waitUntil(async () => (await runs('report')).length === 1);
      const [report] = await runs('report');
      const reportEnded = await waitForEnd(t.app, report.id);
      expect(reportEnded).toMatchObject({ status: 'success', triggeredBy: 'scheduled', job: 'report' });
      expect(Date.parse(reportEnded.requestedAt)).toBeGreaterThanOrEqual(Date.parse(ended.completedAt!));
      expect(readFileSync(join(repo.scratch, 'jobs.log'), 'utf8')).toBe('extract\nreport\n');
      // The same instant again queues nothing: each occurrence runs once.
      expect(await scheduler.tick(twoAm)).toEqual([]);

      const halfPastThree = new Date('2030-01-01T03:30:00.000Z');
      expect(await scheduler.tick(halfPastThree)).toEqual(['jobs/local/flaky']);
      const [flaky] = await runs('flaky');
      expect((await waitForEnd(t.app, flaky.id)).status).toBe('failed');
      await waitUntil(async () => (await runs('after_flaky')).length === 1);
      const [skipped] = await runs('after_flaky');
      expect(await waitForEnd(t.app, skipped.id)).toMatchObject({ status: 'cancelled', errorMessage: 'skipped: the last run of flaky (FAILED) did not succeed' });
      scheduler.stop();
    });
  });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (killed, not reaped yet) does not run.
  return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}
