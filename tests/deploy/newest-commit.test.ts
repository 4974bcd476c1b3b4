import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { createServiceRepo, freePort, helloEnvironment, type ServiceRepo } from '../setup/service-repo.js';
import { type Answer, deliver, githubHeaders } from '../webhooks/support.js';

/*
 * Newest commit wins, end to end: a real repository (v0 → v1 → v2 → v3 → v4), signed GitHub
 * pushes over HTTP, and the hello service really deployed. A push delivered after a newer one
 * never deploys its older commit; a branch really moved back (a forced push from v4 to v3) and
 * an explicit deploy of an older commit do.
 */

const SECRET = 'newest-commit-secret-0123';

function config(repo: ServiceRepo, port: number): string {
  return `
fraisier:
  lease: { ttl: 5s, heartbeat: 1s }
  poll_interval: 1s
  webhook:
    rate_limit: false
git:
  github:
    webhook_secret: ${SECRET}
fraises:
  hello:
    type: api
    environments:
${helloEnvironment(repo, port)}`;
}

/** GitHub's push to main, as it sends it: the branch went from `before` to `after`. */
function pushBody(after: string, before: string, forced = false): string {
  return JSON.stringify({
    ref: 'refs/heads/main',
    before,
    after,
    created: false,
    deleted: false,
    forced,
    repository: { full_name: 'acme/hello', clone_url: 'https://github.com/acme/hello.git' },
    pusher: { name: 'dev' },
    sender: { login: 'dev' },
    head_commit: { id: after, message: `version ${after.slice(0, 7)}`, author: { name: 'Dev' } },
  });
}

const short = (sha: string) => sha.slice(0, 12);

for (const dialect of DIALECTS) {
  describe(`newest commit wins on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: TestApp;
    let url: string;
    let repo: ServiceRepo;
    let port: number;
    const v: string[] = [];

    beforeAll(async () => {
      if (skip) return;
      repo = createServiceRepo();
      for (let n = 0; n <= 4; n++) v.push(repo.commit(`v${n}`));
      port = await freePort();
      t = await createTestApp(dialect, { config: testConfig(config(repo, port)) });
      ({ url } = await t.app.start({ port: 0 }));
    });
    afterAll(async () => {
      await t?.dispose();
      repo?.dispose();
    });

    const push = async (after: string, before: string, options: { forced?: boolean; delivery?: string } = {}): Promise<Answer> => {
      const body = pushBody(after, before, options.forced);
      return deliver(url, '/webhook', body, await githubHeaders(body, { secret: SECRET, delivery: options.delivery ?? randomUUID() }));
    };
    const running = async () => (await fetch(`http://127.0.0.1:${port}/version`)).text();
    const currentVersion = async () => (await gql(t.app, `{ fraise(name: "hello") { environments { currentVersion } } }`)).data.fraise.environments[0].currentVersion;

    it.skipIf(skip)('v4 pushed (before v3), then the late push of v3 (before v2): v4 is deployed, v3 ends SUPERSEDED', async () => {
      const newer = await push(v[4]!, v[3]!);
      expect(newer.status).toBe(202);
      const older = await push(v[3]!, v[2]!);
      // Whether v4 still waits, runs or is already deployed when v3 arrives, its push named v3 as
      // where the branch was before it: v3 is older, and is never queued.
      expect(older.status).toBe(200);
      expect(older.json.deployments).toEqual([expect.objectContaining({ status: 'SUPERSEDED', gitCommit: v[3] })]);
      const reason = new RegExp(`^commit ${short(v[3]!)} is older than ${short(v[4]!)} already (queued for|being deployed to|deployed to) hello/local$`);
      expect(older.json.message).toMatch(reason);
      expect(older.json.event).toMatchObject({ outcome: 'ignored' });

      const deployed = await waitForEnd(t.app, newer.json.deployments[0].id);
      expect(deployed).toMatchObject({ status: 'success', newVersion: v[4] });
      const superseded = await waitForEnd(t.app, older.json.deployments[0].id);
      expect(superseded).toMatchObject({ status: 'superseded', newVersion: null });
      expect(superseded.errorMessage).toMatch(reason);
      expect(await currentVersion()).toBe(v[4]);
      expect(await running()).toBe('v4');
    });

    it.skipIf(skip)('a late push nothing recorded can order is found older by git in the fetch step', async () => {
      // v1 (before v0): no recorded push leads from v4 back to v1; git does.
      const late = await push(v[1]!, v[0]!);
      expect(late.status).toBe(202);
      const ended = await waitForEnd(t.app, late.json.deployments[0].id);
      expect(ended).toMatchObject({
        status: 'superseded',
        newVersion: null,
        errorMessage: `commit ${short(v[1]!)} is older than ${short(v[4]!)} already deployed to hello/local`,
      });
      const steps = (await t.app.services.queries.progress(ended.id)).map((e) => e.step);
      expect(steps).toContain('fetch');
      expect(steps).not.toContain('install');
      expect(steps.at(-1)).toBe('superseded');
      expect(await currentVersion()).toBe(v[4]);
      expect(await running()).toBe('v4');
    });

    it.skipIf(skip)('a forced push moving main back from v4 to v3 deploys v3', async () => {
      const back = await push(v[3]!, v[4]!, { forced: true });
      expect(back.status).toBe(202);
      expect(await waitForEnd(t.app, back.json.deployments[0].id)).toMatchObject({ status: 'success', newVersion: v[3] });
      expect(await currentVersion()).toBe(v[3]);
      expect(await running()).toBe('v3');
    });

    it.skipIf(skip)('pushed again from v3, v4 deploys; deploy(commit: v3) through the API still deploys the older v3', async () => {
      const again = await push(v[4]!, v[3]!);
      expect(again.status).toBe(202);
      expect(await waitForEnd(t.app, again.json.deployments[0].id)).toMatchObject({ status: 'success', newVersion: v[4] });
      expect(await running()).toBe('v4');

      const result = await gql(t.app, `mutation($c: String) { deploy(fraise: "hello", environment: "local", commit: $c) { success message deployment { id } } }`, { c: v[3] });
      expect(result.data.deploy.success).toBe(true);
      expect(await waitForEnd(t.app, result.data.deploy.deployment.id)).toMatchObject({ status: 'success', newVersion: v[3], oldVersion: v[4] });
      expect(await currentVersion()).toBe(v[3]);
      expect(await running()).toBe('v3');
    });

    it.skipIf(skip)('the forced push re-sent with a new delivery id queues nothing: v3 is already deployed', async () => {
      const replayed = await push(v[3]!, v[4]!, { forced: true });
      expect(replayed.status).toBe(200);
      expect(replayed.json).toMatchObject({
        accepted: true,
        duplicate: false,
        deployments: [],
        message: `commit ${short(v[3]!)} is already deployed to hello/local: nothing queued`,
      });
      expect(await running()).toBe('v3');
    });
  });
}
