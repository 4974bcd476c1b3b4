import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.js';
import { Scheduler } from '../../src/deploy/scheduler.js';
import { createStore } from '../../src/store/store.js';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { FINAL_STATUSES } from '../../src/model.js';
import { findDeployment } from '../../src/store/deployment.repository.js';
import { waitForEnd, waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { createServiceRepo, type ServiceRepo } from '../setup/service-repo.js';

/*
 * Two Fraisier instances on one store, each with its scheduler, fire the same cron tick (on a
 * clock the test gives them): each occurrence is queued once in all, not once per instance.
 */

function config(repo: ServiceRepo): string {
  return `
fraises:
  jobs:
    type: scheduled
    environments:
      local:
        branch: main
        git_repo: ${repo.path}
        app_path: ${repo.scratch}/jobs-app
        jobs:
          tally:
            schedule: "*/5 * * * *"
            command: [node, -e, "require('node:fs').appendFileSync(process.env.FRAISIER_APP_PATH + '/../tally.log', process.env.FRAISIER_DEPLOYMENT_ID + '\\\\n')"]
`;
}

for (const dialect of DIALECTS) {
  describe(`schedulers of two instances on one ${dialect.name} store`, async () => {
    const skip = await dialect.unavailable();
    let repo: ServiceRepo;
    let first: TestApp;
    let second: App;

    beforeAll(async () => {
      if (skip) return;
      repo = createServiceRepo();
      repo.commit('base');
      const cfg = testConfig(config(repo));
      // The apps' own schedulers run on the real clock: off; each test drives one per instance.
      first = await createTestApp(dialect, { config: cfg, scheduler: false });
      second = createApp({ config: cfg, store: createStore(first.database.url, { poolSize: 5 }), logger: pino({ level: 'silent' }), scheduler: false });
      await second.init();
      await first.app.startWorkers();
      // A job is live once a deployment registered it (the second instance's workers are not
      // started yet: the first runs it, and its events say when it ended).
      const registered = await gql(first.app, `mutation { deploy(fraise: "jobs", environment: "local", force: true) { deployment { id } } }`);
      expect((await waitForEnd(first.app, registered.data.deploy.deployment.id)).status).toBe('success');
      await second.startWorkers();
    });
    afterAll(async () => {
      await second?.stop();
      await first?.dispose();
      repo?.dispose();
    });

    const schedulerOf = (app: App) =>
      new Scheduler({
        store: app.store,
        catalog: app.services.catalog,
        bus: app.bus,
        metrics: app.metrics,
        logger: app.logger,
        now: () => new Date(),
        notify: () => app.dispatcher.notify(),
      });
    const runs = async () =>
      (await gql(first.app, `{ deployments(fraise: "jobs", limit: 50) { id job status triggeredBy } }`)).data.deployments.filter(
        (d: { job: string | null }) => d.job === 'tally',
      );
    // Either instance may run it: its end is read from the store, not from one instance's events.
    const ended = (id: string) =>
      waitUntil(
        async () => {
          const d = await findDeployment(first.app.store.db, Number(id));
          return d && FINAL_STATUSES.has(d.status) ? d : undefined;
        },
        { what: `run ${id} to end` },
      );
    const tallied = () => readFileSync(join(repo.scratch, 'tally.log'), 'utf8').trim().split('\n');

    it.skipIf(skip)('queue a run once when both fire the same tick at the same moment, and once when one fires after the run ended', async () => {
      const a = schedulerOf(first.app);
      const b = schedulerOf(second);
      const from = new Date('2030-01-01T09:59:00.000Z');
      a.start(from);
      b.start(from);
      try {
        const ten = new Date('2030-01-01T10:00:00.000Z');
        const [byA, byB] = await Promise.all([a.tick(ten), b.tick(ten)]);
        expect([...byA, ...byB]).toEqual(['jobs/local/tally']);
        const [run] = await runs();
        expect(await runs()).toHaveLength(1);
        expect(await ended(run.id)).toMatchObject({ status: 'success', triggeredBy: 'scheduled' });

        // The next occurrence: one instance queues it and its run ends; then the other fires the
        // same tick and finds nothing waiting or running, only the occurrence's key.
        const fivePast = new Date('2030-01-01T10:05:00.000Z');
        expect(await a.tick(fivePast)).toEqual(['jobs/local/tally']);
        await ended((await runs())[0].id);
        expect(await b.tick(fivePast)).toEqual([]);

        // The one after: the other instance, late, ticks past it; it agrees on the key.
        expect(await a.tick(new Date('2030-01-01T10:10:00.000Z'))).toEqual(['jobs/local/tally']);
        await ended((await runs())[0].id);
        expect(await b.tick(new Date('2030-01-01T10:12:30.000Z'))).toEqual([]);

        const all = await runs();
        expect(all.map((d: { status: string }) => d.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
        expect(tallied().sort()).toEqual(all.map((d: { id: string }) => d.id).sort());
      } finally {
        a.stop();
        b.stop();
      }
    });

    it.skipIf(skip)('queue each occurrence once when four schedulers fire every tick at once', async () => {
      const schedulers = [schedulerOf(first.app), schedulerOf(second), schedulerOf(first.app), schedulerOf(second)];
      const from = new Date('2030-01-02T00:00:30.000Z');
      for (const s of schedulers) s.start(from);
      try {
        const before = (await runs()).length;
        const ticks = [1, 2, 3].map((n) => new Date(Date.UTC(2030, 0, 2, 0, 5 * n)));
        for (const at of ticks) {
          const queued = (await Promise.all(schedulers.map((s) => s.tick(at)))).flat();
          expect(queued).toEqual(['jobs/local/tally']);
          await ended((await runs())[0].id);
        }
        const added = (await runs()).length - before;
        expect(added).toBe(3);
      } finally {
        for (const s of schedulers) s.stop();
      }
    });
  });
}
