import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd, waitForStep, waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';

/*
 * runJob: a job run on demand through the GraphQL API, its command really run by the app's
 * dispatcher; who may ask; what happens when a run of the same job waits or runs already.
 */

/** A command that waits for a gate file the test creates ("{id}": the run's id). */
const WAIT_FOR = resolve('tests/fixtures/wait-for.mjs');

const DEPLOYER = 'deployer-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';
const OTHER_TEAM = 'other-team-token-0123456789abcdef';

function config(dir: string): string {
  return `
fraisier:
  tokens:
    - { name: deployer, token: ${DEPLOYER}, scopes: [deploy] }
    - { name: viewer, token: ${VIEWER}, scopes: [read] }
    - { name: other-team, token: ${OTHER_TEAM}, scopes: [deploy], fraises: [reports], environments: [production] }
fraises:
  nightly:
    type: scheduled
    environments:
      production:
        app_path: ${dir}/app
        jobs:
          cleanup:
            description: on demand only
            command: [node, -e, "require('node:fs').appendFileSync('${dir}/ran.log', 'cleanup ' + process.env.FRAISIER_DEPLOYMENT_ID + '\\\\n')"]
          slow:
            command: [node, ${WAIT_FOR}, "${dir}/gate-{id}"]
          vacuum:
            schedule: "0 3 * * *"
            command: [node, -e, "0"]
  reports:
    type: scheduled
    environments:
      production:
        app_path: ${dir}/app
        jobs:
          weekly:
            schedule: "0 6 * * 1"
            command: [node, -e, "0"]
`;
}

const RUN_JOB = `mutation($f: String!, $e: String!, $j: String!) {
  runJob(fraise: $f, environment: $e, job: $j) { success message dryRun plan deployment { id fraise environment job status triggeredBy requestedBy } }
}`;

for (const dialect of DIALECTS) {
  describe(`runJob on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: TestApp;
    let dir: string;

    beforeAll(async () => {
      if (skip) return;
      dir = mkdtempSync(join(tmpdir(), 'fraisier-run-job-'));
      mkdirSync(join(dir, 'app'));
      t = await createTestApp(dialect, { config: testConfig(config(dir)), scheduler: false });
      await t.app.startWorkers();
    });
    afterAll(async () => {
      await t?.dispose();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const runJob = (job: string, token = DEPLOYER, fraise = 'nightly', environment = 'production') =>
      gql(t.app, RUN_JOB, { f: fraise, e: environment, j: job }, { authorization: `Bearer ${token}` });

    it.skipIf(skip)('runs a job that has no schedule: its command runs and the run ends SUCCESS', async () => {
      const result = await runJob('cleanup');
      expect(result.errors).toBeUndefined();
      const { deployment, ...rest } = result.data.runJob;
      expect(rest).toEqual({ success: true, message: `job run ${deployment.id} queued: nightly/production job cleanup`, dryRun: false, plan: ['run:cleanup'] });
      expect(deployment).toMatchObject({ fraise: 'nightly', environment: 'production', job: 'cleanup', status: 'PENDING', triggeredBy: 'API', requestedBy: 'deployer' });
      const ended = await waitForEnd(t.app, deployment.id);
      expect(ended).toMatchObject({ status: 'success', job: 'cleanup', errorMessage: null });
      expect(readFileSync(join(dir, 'ran.log'), 'utf8')).toBe(`cleanup ${deployment.id}\n`);
    });

    it.skipIf(skip)('runs a scheduled job between its occurrences too', async () => {
      const result = await runJob('vacuum');
      expect(result.data.runJob.success).toBe(true);
      expect((await waitForEnd(t.app, result.data.runJob.deployment.id)).status).toBe('success');
    });

    it.skipIf(skip)('never runs a job over itself: queues behind a running run, refuses when one already waits', async () => {
      const first = (await runJob('slow')).data.runJob.deployment;
      await waitForStep(t.app, first.id, 'run:slow');
      await waitUntil(() => existsSync(join(dir, `gate-${first.id}.pid`)), { what: 'the first run to wait at its gate' });

      const second = (await runJob('slow')).data.runJob;
      expect(second).toMatchObject({ success: true, deployment: { status: 'PENDING', job: 'slow' } });
      expect(second.message).toBe(
        `job run ${second.deployment.id} queued: nightly/production job slow; it starts when run ${first.id} (IN_PROGRESS) ends: a job never runs over itself`,
      );
      const third = (await runJob('slow')).data.runJob;
      expect(third).toEqual({
        success: false,
        message: `job slow of nightly/production is already queued (run ${second.deployment.id}, PENDING); nothing was queued`,
        dryRun: false,
        plan: ['run:slow'],
        deployment: null,
      });

      // The second has not started: its command never wrote its pid.
      expect(existsSync(join(dir, `gate-${second.deployment.id}.pid`))).toBe(false);
      writeFileSync(join(dir, `gate-${first.id}`), '');
      writeFileSync(join(dir, `gate-${second.deployment.id}`), '');
      const firstEnded = await waitForEnd(t.app, first.id);
      const secondEnded = await waitForEnd(t.app, second.deployment.id);
      expect([firstEnded.status, secondEnded.status]).toEqual(['success', 'success']);
      expect(Date.parse(secondEnded.startedAt)).toBeGreaterThanOrEqual(Date.parse(firstEnded.completedAt!));
    });

    it.skipIf(skip)('names the job, environment or fraise that does not exist', async () => {
      const job = await runJob('clenup');
      expect(job.errors?.[0]).toMatchObject({ message: 'nightly/production has no job "clenup"; did you mean "cleanup"?', extensions: { code: 'NOT_FOUND' } });
      const unrelated = await runJob('zzz');
      expect(unrelated.errors?.[0]?.message).toBe('nightly/production has no job "zzz" (it has cleanup, slow, vacuum)');
      const env = await runJob('cleanup', DEPLOYER, 'nightly', 'staging');
      expect(env.errors?.[0]).toMatchObject({ message: 'fraise "nightly" has no environment "staging" (it has production)', extensions: { code: 'NOT_FOUND' } });
      const fraise = await runJob('cleanup', DEPLOYER, 'nighty');
      expect(fraise.errors?.[0]).toMatchObject({ message: 'unknown fraise "nighty"; did you mean "nightly"?', extensions: { code: 'NOT_FOUND' } });
    });

    it.skipIf(skip)('needs the deploy scope on that fraise and environment, as deploy does', async () => {
      const viewer = await runJob('cleanup', VIEWER);
      expect(viewer.errors?.[0]).toMatchObject({ message: 'token "viewer" lacks the deploy scope', extensions: { code: 'FORBIDDEN' } });
      const other = await runJob('cleanup', OTHER_TEAM);
      expect(other.errors?.[0]).toMatchObject({ message: 'token "other-team" lacks the deploy scope on nightly/production', extensions: { code: 'FORBIDDEN' } });
      // Refused before the job is looked up: a limited token learns nothing of other fraises' jobs.
      const probing = await runJob('no-such-job', OTHER_TEAM);
      expect(probing.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const anonymous = await gql(t.app, RUN_JOB, { f: 'nightly', e: 'production', j: 'cleanup' });
      expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const own = await runJob('weekly', OTHER_TEAM, 'reports');
      expect(own.data.runJob).toMatchObject({ success: true, deployment: { job: 'weekly', requestedBy: 'other-team' } });
      expect((await waitForEnd(t.app, own.data.runJob.deployment.id)).status).toBe('success');
    });
  });
}
