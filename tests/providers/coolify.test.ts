import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { startFakeCoolify, type FakeCoolify } from '../setup/coolify.js';
import { waitForEnd, waitForStep, waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { githubPush } from '../setup/github-push.js';
import { createServiceRepo, type ServiceRepo } from '../setup/service-repo.js';
import { capturingLogger } from '../webhooks/support.js';

/*
 * The Coolify target, end to end: a real Fraisier server (webhook, dispatcher, GraphQL) deploys
 * through Coolify's REST API to a Coolify that builds a real git repository (tests/setup/coolify.ts,
 * faithful to the API since Coolify cannot run here). Fraisier pins the exact pushed commit,
 * streams Coolify's log, checks the service, rolls an unhealthy release back from its kept image,
 * leaves what runs alone when Coolify's build fails, cancels Coolify's deployment on cancel, and
 * never shows the API key.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
const TOKEN = '7|coolify-root-token-0123456789abcdef';
const BLIND = '8|coolify-token-without-sensitive-0123';
const WRONG = '9|coolify-wrong-token-fedcba9876543210';
const SECRET = 'coolify-webhook-secret-0123456789';

describe('a Coolify deployment', () => {
  let t: TestApp;
  let repo: ServiceRepo;
  let coolify: FakeCoolify;
  let url: string;
  const log = capturingLogger();
  const commits: Record<string, string> = {};

  beforeAll(async () => {
    repo = createServiceRepo();
    coolify = await startFakeCoolify({ repository: repo.path, tokens: { [TOKEN]: ['root'], [BLIND]: ['read', 'write', 'deploy'] } });
    const target = (apiKey: string, uuid = coolify.application.uuid) => `
        target:
          provider: coolify
          endpoint: ${coolify.url}
          api_key: "${apiKey}"
          application_uuid: ${uuid}`;
    const health = `
        health_check: { path: /health, timeout: 3s, retries: 8, interval: 0.1s }`;
    const config = `
fraisier:
  poll_interval: 1s
git:
  provider: github
  github: { webhook_secret: ${SECRET} }
fraises:
  hello:
    type: api
    git: { repository: acme/hello }
    environments:
      production:
        branch: main${target(TOKEN)}${health}
      blind:
        branch: blind${target(BLIND)}${health}
      wrong-key:
        branch: wrong${target(WRONG)}
      missing:
        branch: missing${target(TOKEN, 'no-such-application')}
      patient:
        branch: patient${target(TOKEN)}
        health_check: { path: /health, timeout: 60s, retries: 100, interval: 0.2s }
      slow:
        branch: slow
        timeout: 2s${target(TOKEN)}
`;
    t = await createTestApp(sqlite, { config: testConfig(config), logger: log.logger });
    ({ url } = await t.app.start({ port: 0 }));
  });
  afterAll(async () => {
    await t?.dispose();
    await coolify?.close();
    repo?.dispose();
  });

  const deploy = async (environment: string, commit?: string) => {
    const result = await gql(t.app, `mutation($c: String, $e: String!) { deploy(fraise: "hello", environment: $e, commit: $c, force: true) { success message deployment { id } } }`, {
      c: commit ?? null,
      e: environment,
    });
    expect(result.errors).toBeUndefined();
    expect(result.data.deploy.success).toBe(true);
    return result.data.deploy.deployment.id as string;
  };
  const push = async (before: string | undefined, after: string) => {
    const response = await githubPush(url, SECRET, { sha: after, ...(before ? { before } : {}), message: 'change' });
    const result = (await response.json()) as { deployments: { id: string }[] };
    expect(response.status, JSON.stringify(result)).toBe(202);
    expect(result.deployments).toHaveLength(1);
    return waitForEnd(t.app, result.deployments[0]!.id);
  };
  const progress = (id: string) => t.app.services.queries.progress(id);
  const messages = async (id: string) => (await progress(id)).map((e) => e.message ?? '');
  const answer = async (path = '/version') => (await fetch(`${coolify.application.fqdn}${path}`)).text().then((s) => s.trim());
  const environment = async (name = 'production') =>
    (await gql(t.app, '{ fraise(name: "hello") { environments { name status currentVersion } } }')).data.fraise.environments
      .filter((e: { name: string }) => e.name === name)
      .map(({ status, currentVersion }: { status: string; currentVersion: string }) => ({ status, currentVersion }))[0];
  const lastCoolifyDeployment = () => coolify.deployments.at(-1)!;

  it('deploys the pushed commit: pinned on the application, built by Coolify, its log streamed, the service answers it', async () => {
    commits.a = repo.commit('A');
    const ended = await push(undefined, commits.a);
    expect(ended).toMatchObject({ status: 'success', newVersion: commits.a });
    expect(await environment()).toEqual({ status: 'HEALTHY', currentVersion: commits.a });
    expect(coolify.application.git_commit_sha).toBe(commits.a);
    expect(lastCoolifyDeployment()).toMatchObject({ status: 'finished', commit: commits.a, force_rebuild: false });
    expect(await answer()).toBe('A');

    const events = await progress(ended.id);
    expect([...new Set(events.map((e) => e.step))]).toEqual(['preflight', 'fetch', 'build', 'health_check', 'done']);
    const said = events.map((e) => e.message ?? '');
    expect(said).toContain('Building docker image started.');
    expect(said).toContain('Rolling update completed.');
    expect(said).toContain('Coolify: finished');
    expect(said).toContain(`In Coolify: ${coolify.url}/project/p1/environment/e1/application/${coolify.application.uuid}/deployment/${lastCoolifyDeployment().deployment_uuid}`);
    // Coolify's hidden entries (its own git commands) stay hidden.
    expect(said.some((m) => m.includes('ls-remote') || m.includes('refs/heads'))).toBe(false);

    // The calls, in order: the application, the pin, the deployment, its log until finished; each with the token.
    const calls = coolify.requests.map((r) => `${r.method} ${r.path.replace(/\?.*/, '')}`);
    const app = `/api/v1/applications/${coolify.application.uuid}`;
    expect(calls.slice(0, 3)).toEqual([`GET ${app}`, `PATCH ${app}`, 'POST /api/v1/deploy']);
    expect(calls.slice(3).every((c) => c.startsWith('GET /api/v1/deployments/') || c === `GET ${app}`)).toBe(true);
    expect(coolify.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it("leaves what runs alone when Coolify's build fails: FAILED with Coolify's error, the previous commit pinned back", async () => {
    commits.b = repo.commit('B', { files: { BUILD_FAILS: 'yes\n' } });
    const ended = await push(commits.a, commits.b);
    expect(ended.status).toBe('failed');
    expect(ended.errorMessage).toMatch(/^Coolify's deployment c[0-9a-f]+ failed: npm ERR! build script failed with exit code 1$/);
    expect(await environment()).toEqual({ status: 'HEALTHY', currentVersion: commits.a });
    expect(coolify.application.git_commit_sha).toBe(commits.a);
    expect(await answer()).toBe('A');
  });

  it('rolls an unhealthy release back: the previous commit pinned and deployed again from its kept image, ROLLED_BACK', async () => {
    rmSync(join(repo.path, 'BUILD_FAILS'));
    commits.c = repo.commit('C', { healthy: false });
    const ended = await push(commits.a, commits.c);
    expect(ended.status, ended.errorMessage ?? '').toBe('rolled_back');
    expect(await environment()).toEqual({ status: 'HEALTHY', currentVersion: commits.a });
    expect(ended.errorMessage).toMatch(/^health check failed: HTTP 503/);
    expect(coolify.application.git_commit_sha).toBe(commits.a);
    expect(await answer()).toBe('A');
    const back = lastCoolifyDeployment();
    expect(back).toMatchObject({ commit: commits.a, status: 'finished', force_rebuild: false });
    expect(back.entries.map((e) => e.output)).toContain(`Image found (${coolify.application.uuid}:${commits.a}) with the same Git Commit SHA. Build step skipped.`);
    expect(await messages(ended.id)).toContain(`Rolled back to ${commits.a!.slice(0, 12)}`);
  });

  it('rolls back to a chosen version without rebuilding it', async () => {
    commits.d = repo.commit('D');
    const deployed = await waitForEnd(t.app, await deploy('production', commits.d));
    expect(deployed.status, deployed.errorMessage ?? '').toBe('success');
    expect(await answer()).toBe('D');
    const result = await gql(t.app, `mutation($v: String) { rollback(fraise: "hello", environment: "production", toVersion: $v) { success deployment { id } } }`, { v: commits.a });
    expect(result.errors).toBeUndefined();
    const ended = await waitForEnd(t.app, result.data.rollback.deployment.id);
    expect(ended).toMatchObject({ status: 'success', newVersion: commits.a });
    expect(await answer()).toBe('A');
    expect(lastCoolifyDeployment().entries.map((e) => e.output).join('\n')).toMatch(/Build step skipped/);
  });

  it("cancels Coolify's deployment when the deployment is cancelled, and pins back what runs", async () => {
    commits.e = repo.commit('E');
    const release = coolify.hold();
    try {
      const id = await deploy('production', commits.e);
      await waitForStep(t.app, id, 'build');
      await waitUntil(() => lastCoolifyDeployment().status === 'in_progress' && lastCoolifyDeployment().commit === commits.e);
      const result = await gql(t.app, `mutation($id: ID!) { cancelDeployment(id: $id) { status } }`, { id });
      expect(result.errors).toBeUndefined();
      const ended = await waitForEnd(t.app, id);
      expect(ended.status).toBe('cancelled');
      expect(lastCoolifyDeployment().status).toBe('cancelled-by-user');
      expect(coolify.application.git_commit_sha).toBe(commits.a);
      expect(await messages(id)).toContain(`Cancelled Coolify's deployment ${lastCoolifyDeployment().deployment_uuid}`);
    } finally {
      release();
    }
    expect(await answer()).toBe('A');
  });

  it("cancels Coolify's deployment past the environment's timeout: FAILED, what runs left alone", async () => {
    const release = coolify.hold();
    try {
      const ended = await waitForEnd(t.app, await deploy('slow', commits.e));
      expect(ended.status).toBe('failed');
      expect(ended.errorMessage).toMatch(/^Coolify's deployment c[0-9a-f]+ did not end within the timeout \(2s\): it was cancelled$/);
      expect(lastCoolifyDeployment()).toMatchObject({ commit: commits.e, status: 'cancelled-by-user' });
      expect(coolify.application.git_commit_sha).toBe(commits.a);
    } finally {
      release();
    }
    expect(await answer()).toBe('A');
  });

  it('follows the deployment Coolify already runs for the same commit instead of queuing another', async () => {
    const release = coolify.hold();
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${coolify.url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    // Someone deploys E in Coolify itself; it is building when Fraisier is asked for E.
    expect((await api('PATCH', `/applications/${coolify.application.uuid}`, { git_commit_sha: commits.e })).status).toBe(200);
    expect((await api('POST', `/deploy?uuid=${coolify.application.uuid}`)).status).toBe(200);
    const theirs = lastCoolifyDeployment();
    const id = await deploy('production', commits.e);
    await waitUntil(async () => (await messages(id)).includes(`Coolify is deploying this commit already: following deployment ${theirs.deployment_uuid}`));
    release();
    const ended = await waitForEnd(t.app, id);
    expect(ended).toMatchObject({ status: 'success', newVersion: commits.e });
    expect(lastCoolifyDeployment()).toBe(theirs);
    expect(await answer()).toBe('E');
  });

  it('runs one deployment at a time per Coolify application, whichever environment asks: the pin is the application\'s', async () => {
    const release = coolify.hold();
    let first: string;
    let second: string;
    try {
      first = await deploy('production', commits.d);
      await waitUntil(() => lastCoolifyDeployment().commit === commits.d && lastCoolifyDeployment().status === 'in_progress');
      second = await deploy('blind', commits.e);
    } finally {
      release();
    }
    const [one, two] = await Promise.all([waitForEnd(t.app, first), waitForEnd(t.app, second)]);
    expect([one.status, two.status]).toEqual(['success', 'success']);
    // The second started once the first had ended, though no other limit held it.
    expect(Date.parse(two.startedAt!)).toBeGreaterThanOrEqual(Date.parse(one.completedAt!));
    expect(coolify.deployments.slice(-2).map((d) => d.commit)).toEqual([commits.d, commits.e]);
    expect(await answer()).toBe('E');
  });

  it("asks again after Coolify's Retry-After when its deployment queue is full", async () => {
    coolify.queueFull(2, 1);
    const id = await deploy('production', commits.e);
    const ended = await waitForEnd(t.app, id);
    expect(ended.status, ended.errorMessage ?? '').toBe('success');
    expect((await messages(id)).filter((m) => m === "Coolify's deployment queue is full: asking again in 1s")).toHaveLength(2);
    expect(coolify.requests.filter((r) => r.path.startsWith('/api/v1/deploy?')).slice(-3).map((r) => r.method)).toEqual(['POST', 'POST', 'POST']);
  });

  it("shows only the status when Coolify hides the log from the key, and deploys all the same", async () => {
    const id = await deploy('blind', commits.d);
    const ended = await waitForEnd(t.app, id);
    expect(ended.status, ended.errorMessage ?? '').toBe('success');
    const said = await messages(id);
    expect(said).toContain("Coolify hides the deployment's log from this API key (it needs the read:sensitive ability): only its status is shown");
    expect(said).not.toContain('Building docker image started.');
    expect(said).toContain('Coolify: finished');
  });

  it('fails the preflight on a refused key, an unknown application or one that runs an image, naming it, and never shows the key', async () => {
    const refused = await waitForEnd(t.app, await deploy('wrong-key', commits.a));
    expect(refused.status).toBe('failed');
    expect(refused.errorMessage).toBe(
      `GET ${coolify.url}/api/v1/applications/${coolify.application.uuid}: Coolify refused the API key (Unauthenticated.): check target.api_key`,
    );
    const missing = await waitForEnd(t.app, await deploy('missing', commits.a));
    expect(missing.errorMessage).toBe(`Coolify at ${coolify.url} has no application no-such-application that this API key can see`);
    coolify.application.build_pack = 'dockerimage';
    try {
      const image = await waitForEnd(t.app, await deploy('production', commits.a));
      expect(image.errorMessage).toBe('Coolify application hello runs a registry image (build pack dockerimage), not a git repository: there is no commit to deploy');
    } finally {
      coolify.application.build_pack = 'nixpacks';
    }

    // Nowhere: not in what was recorded, answered or logged.
    const recorded = JSON.stringify([refused, missing, await progress(refused.id), await progress(missing.id)]);
    const config = JSON.stringify((await gql(t.app, '{ fraise(name: "hello") { environments { target { config } } } }')).data);
    const logged = JSON.stringify(log.lines);
    for (const text of [recorded, config, logged]) {
      for (const key of [TOKEN, WRONG, BLIND]) {
        expect(text).not.toContain(key);
        expect(text).not.toContain(key.split('|')[1]!);
      }
    }
  });

  it('dry run: the calls it would make, and what stands in its way', async () => {
    const plan = await gql(t.app, `mutation($c: String) { deploy(fraise: "hello", environment: "production", commit: $c, dryRun: true) { success dryRun plan message } }`, { c: commits.d });
    expect(plan.errors).toBeUndefined();
    expect(plan.data.deploy).toMatchObject({ success: true, dryRun: true, plan: ['preflight', 'fetch', 'build', 'health_check'] });
    expect(plan.data.deploy.message.split('\n')).toEqual([
      `dry run: would deploy ${commits.d!.slice(0, 12)} to hello/production (coolify); nothing was queued`,
      `  PATCH ${coolify.url}/api/v1/applications/${coolify.application.uuid} {"git_commit_sha":"${commits.d}"}`,
      `  POST ${coolify.url}/api/v1/deploy?uuid=${coolify.application.uuid}`,
      `  GET ${coolify.url}/api/v1/deployments/<deployment>  (until finished)`,
    ]);
    const blocked = await gql(t.app, `mutation { deploy(fraise: "hello", environment: "missing", dryRun: true) { success message } }`);
    expect(blocked.data.deploy.success).toBe(false);
    expect(blocked.data.deploy.message).toContain(`Coolify at ${coolify.url} has no application no-such-application that this API key can see`);
  });

  it("reads logs and health from Coolify, and stops and starts the application", async () => {
    const env = { f: 'hello', e: 'production' };
    const logs = await gql(t.app, 'query($f: String!, $e: String!) { logs(fraise: $f, environment: $e, lines: 5) }', env);
    expect(logs.errors).toBeUndefined();
    // The blind environment deployed D last, to the same application.
    expect(logs.data.logs).toContain('serving D');
    const health = async () => (await gql(t.app, 'query($f: String!, $e: String!) { targetHealth(fraise: $f, environment: $e) { status message } }', env)).data.targetHealth;
    expect(await health()).toEqual({ status: 'HEALTHY', message: 'HTTP 200' });

    const stopped = await gql(t.app, 'mutation($f: String!, $e: String!) { stopEnvironment(fraise: $f, environment: $e) { success message } }', env);
    expect(stopped.data.stopEnvironment).toEqual({ success: true, message: 'hello/production: stopped' });
    expect(coolify.application.status).toBe('exited:unhealthy');
    expect(await health()).toEqual({ status: 'DOWN', message: 'Coolify reports exited:unhealthy' });
    const notRunning = await gql(t.app, 'query($f: String!, $e: String!) { logs(fraise: $f, environment: $e) }', env);
    expect(notRunning.errors?.[0]?.message).toBe(`hello/production: cannot read logs: GET ${coolify.url}/api/v1/applications/${coolify.application.uuid}/logs: HTTP 400 (Application is not running.)`);

    const started = await gql(t.app, 'mutation($f: String!, $e: String!) { startEnvironment(fraise: $f, environment: $e) { success } }', env);
    expect(started.data.startEnvironment.success).toBe(true);
    await waitUntil(() => coolify.application.status.startsWith('running'));
    expect(await answer()).toBe('D');
  });

  it('puts the previous commit back when cancelled during the health check, once Coolify ran the new one', async () => {
    expect((await waitForEnd(t.app, await deploy('patient', commits.a))).status).toBe('success');
    const f = repo.commit('F', { healthy: false });
    const id = await deploy('patient', f);
    await waitUntil(async () => (await messages(id)).some((m) => m.startsWith('attempt 1: HTTP 503')));
    expect(await answer()).toBe('F');
    const result = await gql(t.app, `mutation($id: ID!) { cancelDeployment(id: $id) { status } }`, { id });
    expect(result.errors).toBeUndefined();
    const ended = await waitForEnd(t.app, id);
    expect(ended.status).toBe('cancelled');
    expect(await messages(id)).toEqual(expect.arrayContaining([`Cancelled once Coolify ran ${f.slice(0, 12)}: rolling back to ${commits.a!.slice(0, 12)}`, `Rolled back to ${commits.a!.slice(0, 12)}`]));
    expect(coolify.application.git_commit_sha).toBe(commits.a);
    expect(await answer()).toBe('A');
    expect(await environment('patient')).toEqual({ status: 'HEALTHY', currentVersion: commits.a });
  });
});
