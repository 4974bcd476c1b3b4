import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { createComposeRepo, type ComposeRepo, dockerUnavailable, ensureBaseImage, projectImages, removeProject } from '../setup/docker.js';
import { githubPush } from '../setup/github-push.js';
import { freePort } from '../setup/service-repo.js';
import { sshdUnavailable, startSshd, type TestSshd } from '../setup/sshd.js';

/*
 * End to end against the real Docker engine: a git repository holds a Dockerfile and a Compose
 * file of a tiny HTTP service that reports its version (examples/compose-service). Fraisier
 * builds each commit into an image tagged with it, starts it with Compose, checks it, rolls a
 * broken release back by itself, and rolls back to a chosen version without a rebuild. Broken
 * Compose files, failing builds and an unreachable engine end FAILED and leave what runs alone.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
const skip = dockerUnavailable();
const unique = () => Math.random().toString(36).slice(2, 8);
/** A file of the example service as committed first. */
const original = (name: string) => readFileSync(join('examples/compose-service', name), 'utf8');
const answer = async (port: number, path = '/version') => (await fetch(`http://127.0.0.1:${port}${path}`)).text().then((s) => s.trim());

interface EnvOptions {
  name: string;
  branch?: string;
  project: string;
  port: number;
  /** YAML lines under `target:` (unindented). */
  target?: string;
  healthCheck?: boolean;
  env?: Record<string, string>;
}

function environment(repo: ComposeRepo, o: EnvOptions): string {
  const target = (o.target ?? '').trim().split('\n').filter(Boolean).map((l) => `\n          ${l}`).join('');
  const env = Object.entries({ HELLO_PORT: `"${o.port}"`, BASE_IMAGE: ensureBaseImage(), ...o.env }).map(([k, v]) => `\n          ${k}: ${v}`).join('');
  const health = o.healthCheck === false ? '' : `
        health_check:
          url: http://127.0.0.1:${o.port}/health
          timeout: 6s
          retries: 30
          interval: 0.2s`;
  return `      ${o.name}:
        branch: ${o.branch ?? 'main'}
        git_repo: ${repo.path}
        app_path: ${repo.appPath}
        target:
          provider: docker-compose
          project: ${o.project}
          keep_releases: 2${target}${health}
        env:${env}
`;
}

describe.skipIf(skip)('a Docker Compose deployment on this machine', () => {
  let t: TestApp;
  let repo: ComposeRepo;
  let port: number;
  const project = `fraisier-test-${unique()}`;
  const commits: Record<string, string> = {};
  const secret = 'compose-webhook-secret-0123456789';
  let url: string;

  beforeAll(async () => {
    repo = createComposeRepo();
    port = await freePort();
    const config = `
fraisier:
  lease: { ttl: 10s, heartbeat: 2s }
  poll_interval: 1s
git:
  provider: github
  github: { webhook_secret: ${secret} }
fraises:
  hello:
    type: api
    git: { repository: acme/hello }
    environments:
${environment(repo, { name: 'local', project, port })}${environment(repo, {
      name: 'engine-down',
      branch: 'elsewhere',
      project,
      port,
      env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
    })}`;
    t = await createTestApp(sqlite, { config: testConfig(config) });
    ({ url } = await t.app.start({ port: 0 }));
  });
  afterAll(async () => {
    await t?.dispose();
    removeProject(project);
    repo?.dispose();
  });

  const deploy = async (commit: string, environment = 'local') => {
    const result = await gql(t.app, `mutation($c: String, $e: String!) { deploy(fraise: "hello", environment: $e, commit: $c) { success message deployment { id } } }`, {
      c: commit,
      e: environment,
    });
    expect(result.errors).toBeUndefined();
    expect(result.data.deploy.success).toBe(true);
    return waitForEnd(t.app, result.data.deploy.deployment.id, 120_000);
  };
  /** A signed GitHub push of `after` to main; resolves with the deployment it queued, once ended. */
  const push = async (before: string, after: string) => {
    const response = await githubPush(url, secret, { sha: after, before, message: 'unhealthy' });
    const result = (await response.json()) as { deployments: { id: string }[] };
    expect(response.status, JSON.stringify(result)).toBe(202);
    expect(result.deployments).toHaveLength(1);
    return waitForEnd(t.app, result.deployments[0]!.id, 120_000);
  };
  const steps = async (id: string) => (await t.app.services.queries.progress(id)).map((e) => e.step);
  const messages = async (id: string) => (await t.app.services.queries.progress(id)).map((e) => e.message ?? '');
  const current = () => readlinkSync(join(repo.appPath, 'current'));

  it('deploys A: its image is built and tagged with the commit, the container answers A', { timeout: 180_000 }, async () => {
    commits.A = repo.commit('A');
    const plan = await gql(t.app, `mutation($c: String) { deploy(fraise: "hello", environment: "local", commit: $c, dryRun: true) { plan message } }`, { c: commits.A });
    expect(plan.data.deploy.plan).toEqual(['preflight', 'fetch', 'build', 'restart', 'health_check']);
    // The exact commands, with the Compose this machine has.
    const files = `--project-name ${project} --file ${repo.appPath}/releases/${commits.A}/compose.yaml --file ${repo.appPath}/compose/${commits.A}.yaml`;
    const lines = (plan.data.deploy.message as string).split('\n').map((l) => l.trim());
    const command = (sub: string) => expect.stringMatching(new RegExp(`^docker[ -]compose ${files} ${sub}$`));
    expect(lines.slice(1)).toEqual(['on local:', command('config'), command('build'), command('up --detach --no-build --remove-orphans')]);
    const deployment = await deploy(commits.A);
    expect(deployment).toMatchObject({ status: 'success', newVersion: commits.A, errorMessage: null });
    expect(await answer(port)).toBe('A');
    expect(current()).toBe(join(repo.appPath, 'releases', commits.A!));
    expect(projectImages(project)).toEqual([`fraisier/${project}-web:${commits.A}`]);
    expect([...new Set(await steps(deployment.id))]).toEqual(['preflight', 'fetch', 'build', 'restart', 'health_check', 'done']);
    // The build's own output is streamed as progress.
    expect((await messages(deployment.id)).some((m) => /Successfully (built|tagged)|naming to|writing image/.test(m))).toBe(true);
    const logs = await gql(t.app, `{ logs(fraise: "hello", environment: "local", lines: 20) }`);
    expect(logs.errors).toBeUndefined();
    expect(typeof logs.data.logs).toBe('string');
  });

  it('rolls an unhealthy B, pushed, back by itself: A answers again, with its own image', { timeout: 180_000 }, async () => {
    commits.B = repo.commit('B', { healthy: false });
    const deployment = await push(commits.A!, commits.B);
    expect(deployment).toMatchObject({ triggeredBy: 'webhook', gitCommit: commits.B });
    expect(deployment.errorMessage).toMatch(/^health check failed: .*404/);
    expect(deployment.status).toBe('rolled_back');
    expect(await answer(port)).toBe('A');
    expect(current()).toBe(join(repo.appPath, 'releases', commits.A!));
    expect(await steps(deployment.id)).toContain('rollback');
    const state = await gql(t.app, `{ fraise(name: "hello") { environments { name currentVersion status } } }`);
    expect(state.data.fraise.environments[0]).toEqual({ name: 'local', currentVersion: commits.A, status: 'HEALTHY' });
  });

  it('refuses an invalid Compose file, a failing build and an unreachable engine, and A keeps running', { timeout: 240_000 }, async () => {
    const invalid = repo.commit('bad-compose', { files: { 'compose.yaml': 'services:\n  web:\n    buildd: .\n' } });
    const badCompose = await deploy(invalid);
    expect(badCompose.status).toBe('failed');
    expect(badCompose.errorMessage).toMatch(/^the Compose file compose\.yaml is invalid: .*buildd/s);

    const failing = repo.commit('bad-build', { files: { 'compose.yaml': original('compose.yaml'), Dockerfile: 'ARG BASE=busybox:1.36\nFROM ${BASE}\nRUN ["busybox", "false"]\n' } });
    const badBuild = await deploy(failing);
    expect(badBuild.status).toBe('failed');
    expect(badBuild.errorMessage).toMatch(/^build failed: /);

    const engineDown = await deploy(commits.A!, 'engine-down');
    expect(engineDown.status).toBe('failed');
    expect(engineDown.errorMessage).toMatch(/^the Docker engine is not reachable from local: .*nonexistent\/docker\.sock/s);

    for (const ended of [badCompose, badBuild, engineDown]) expect(await steps(ended.id)).not.toContain('restart');
    expect(await answer(port)).toBe('A');
    expect(current()).toBe(join(repo.appPath, 'releases', commits.A!));
  });

  it('deploys C, pruning old releases with their images, then rolls back to A with no build', { timeout: 240_000 }, async () => {
    commits.C = repo.commit('C', { files: { Dockerfile: original('Dockerfile') } });
    expect((await deploy(commits.C)).status).toBe('success');
    expect(await answer(port)).toBe('C');
    // keep_releases: 2 keeps the newest two (C and the failed bad-build) and the one C replaced
    // (A); B's release goes, and its image with it.
    expect(projectImages(project)).toEqual([`fraisier/${project}-web:${commits.A}`, `fraisier/${project}-web:${commits.C}`].sort());
    expect(existsSync(join(repo.appPath, 'releases', commits.B!))).toBe(false);

    const result = await gql(t.app, `mutation($v: String) { rollback(fraise: "hello", environment: "local", toVersion: $v) { success plan deployment { id } } }`, { v: commits.A });
    expect(result.data.rollback).toMatchObject({ success: true, plan: ['preflight', 'checkout', 'restart', 'health_check'] });
    const rollback = await waitForEnd(t.app, result.data.rollback.deployment.id, 120_000);
    expect(rollback).toMatchObject({ status: 'success', kind: 'rollback', newVersion: commits.A, oldVersion: commits.C });
    expect(await answer(port)).toBe('A');
    expect(await steps(rollback.id)).not.toContain('build');
    expect(await messages(rollback.id)).toContain(`Release ${commits.A!.slice(0, 12)} was kept with its images: nothing to rebuild`);
    const state = await gql(t.app, `{ fraise(name: "hello") { environments { name currentVersion } } }`);
    expect(state.data.fraise.environments[0]).toEqual({ name: 'local', currentVersion: commits.A });
  });

  it('stops and starts the running containers, and says what the target reports now', { timeout: 120_000 }, async () => {
    const health = async () => (await gql(t.app, `{ targetHealth(fraise: "hello", environment: "local") { status message } }`)).data.targetHealth;
    expect(await health()).toMatchObject({ status: 'HEALTHY' });
    const stop = await gql(t.app, `mutation { stopEnvironment(fraise: "hello", environment: "local") { success message } }`);
    expect(stop.data.stopEnvironment).toEqual({ success: true, message: 'hello/local: stopped' });
    await expect(answer(port)).rejects.toThrow();
    expect(await health()).toMatchObject({ status: 'DOWN' });
    const start = await gql(t.app, `mutation { startEnvironment(fraise: "hello", environment: "local") { success message } }`);
    expect(start.data.startEnvironment).toEqual({ success: true, message: 'hello/local: started' });
    expect(await health()).toMatchObject({ status: 'HEALTHY' });
    expect(await answer(port)).toBe('A');
    // Nothing deployed there: the target says so, in one line naming the environment.
    const none = await gql(t.app, `mutation { stopEnvironment(fraise: "hello", environment: "engine-down") { success message } }`);
    expect(none.data.stopEnvironment.success).toBe(false);
    expect(none.data.stopEnvironment.message).toMatch(/^hello\/engine-down: /);
  });
});

describe.skipIf(skip || sshdUnavailable())('a Docker Compose deployment over SSH', () => {
  let sshd: TestSshd;
  let t: TestApp;
  let repo: ComposeRepo;
  let port: number;
  const project = `fraisier-ssh-${unique()}`;

  beforeAll(async () => {
    sshd = await startSshd();
    repo = createComposeRepo();
    port = await freePort();
    // No health_check: the containers' own HEALTHCHECK decides.
    const config = `
fraises:
  hello:
    type: api
    environments:
${environment(repo, {
  name: 'remote',
  project,
  port,
  healthCheck: false,
  env: { PATH: `"${process.env.PATH}"` },
  target: `host: ${sshd.host}\nport: ${sshd.port}\nuser: ${sshd.user}\nidentity_file: ${sshd.identityFile}\nknown_hosts: ${sshd.knownHosts}`,
})}`;
    t = await createTestApp(sqlite, { config: testConfig(config) });
    await t.app.startWorkers();
  });
  afterAll(async () => {
    await t?.dispose();
    removeProject(project);
    repo?.dispose();
    await sshd?.stop();
  });

  it('deploys A over SSH, rolls an unhealthy B back by its HEALTHCHECK, then rolls back to A after C', { timeout: 300_000 }, async () => {
    const deploy = async (commit: string) => {
      const result = await gql(t.app, `mutation($c: String) { deploy(fraise: "hello", environment: "remote", commit: $c) { deployment { id } } }`, { c: commit });
      return waitForEnd(t.app, result.data.deploy.deployment.id, 120_000);
    };
    const a = repo.commit('A');
    const first = await deploy(a);
    expect(first).toMatchObject({ status: 'success', newVersion: a });
    expect(await answer(port)).toBe('A');
    const messages = (await t.app.services.queries.progress(first.id)).map((e) => e.message ?? '');
    expect(messages).toContain(`Checking hello/remote on ${sshd.user}@127.0.0.1:${sshd.port} (Docker Compose)`);
    expect(messages.some((m) => /healthy by its HEALTHCHECK/.test(m))).toBe(true);

    const b = repo.commit('B', { healthy: false });
    const broken = await deploy(b);
    expect(broken.errorMessage).toMatch(/^health check failed: container .* is unhealthy/);
    expect(broken.status).toBe('rolled_back');
    expect(await answer(port)).toBe('A');

    const c = repo.commit('C');
    expect((await deploy(c)).status).toBe('success');
    expect(await answer(port)).toBe('C');
    const result = await gql(t.app, `mutation($v: String) { rollback(fraise: "hello", environment: "remote", toVersion: $v) { deployment { id } } }`, { v: a });
    const rollback = await waitForEnd(t.app, result.data.rollback.deployment.id, 120_000);
    expect(rollback).toMatchObject({ status: 'success', newVersion: a });
    expect((await t.app.services.queries.progress(rollback.id)).map((e) => e.step)).not.toContain('build');
    expect(await answer(port)).toBe('A');
  });
});
