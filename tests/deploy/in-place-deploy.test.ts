import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { createServiceRepo, freePort, helloConfig, helloEnvironment, type ServiceRepo } from '../setup/service-repo.js';

/*
 * A Python Fraisier configuration moved over unchanged: env-level git_repo and app_path, no
 * target, a service manager (here the service's own scripts) that starts the service from
 * app_path itself. Fraisier checks each commit out into app_path (the in_place layout), rolls a
 * broken commit back in place, rolls back to a chosen version by installing it again, and writes
 * version.json into the tree. Two fraises may share one app_path, in either layout. A rollback
 * to a version whose release was pruned runs the whole pipeline for it.
 * The layout does not depend on the store: one dialect is enough.
 */

const dialect = DIALECTS.find((d) => d.name === 'sqlite') ?? DIALECTS[0]!;
const version = async (port: number) => (await fetch(`http://127.0.0.1:${port}/version`)).text();
/** Writes the deployed commit to `installed`, and refuses when the commit has a BREAK_INSTALL file. */
const INSTALL = `[node, -e, "const fs = require('node:fs'); if (fs.existsSync('BREAK_INSTALL')) process.exit(3); fs.writeFileSync('installed', process.env.FRAISIER_COMMIT)"]`;
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
/** The working directory of the service whose pid is in `pidFile`. */
const serviceCwd = (pidFile: string) => readlinkSync(`/proc/${readFileSync(pidFile, 'utf8').trim()}/cwd`);

async function start(config: string): Promise<TestApp> {
  const t = await createTestApp(dialect, { config: testConfig(config) });
  await t.app.startWorkers();
  return t;
}

async function deploy(t: TestApp, fraise: string, commit: string) {
  const result = await gql(t.app, `mutation($f: String!, $c: String) { deploy(fraise: $f, environment: "local", commit: $c) { success message deployment { id } } }`, { f: fraise, c: commit });
  expect(result.errors).toBeUndefined();
  expect(result.data.deploy.success).toBe(true);
  return waitForEnd(t.app, result.data.deploy.deployment.id);
}

async function rollback(t: TestApp, fraise: string, toVersion: string) {
  const result = await gql(t.app, `mutation($f: String!, $v: String) { rollback(fraise: $f, environment: "local", toVersion: $v) { success message plan deployment { id } } }`, { f: fraise, v: toVersion });
  expect(result.errors).toBeUndefined();
  expect(result.data.rollback.success).toBe(true);
  return { plan: result.data.rollback.plan as string[], deployment: await waitForEnd(t.app, result.data.rollback.deployment.id) };
}

const stepsOf = async (t: TestApp, id: string) => [...new Set((await t.app.services.queries.progress(id)).map((e) => e.step))];
const messagesOf = async (t: TestApp, id: string) => (await t.app.services.queries.progress(id)).map((e) => e.message);

describe.skipIf(await dialect.unavailable())('a Python Fraisier environment deploys in place', () => {
  let t: TestApp;
  let repo: ServiceRepo;
  let port: number;
  const commits: Record<string, string> = {};
  let first = '';
  const pidFile = () => join(repo.appPath, '.fraisier', 'shared', 'app.pid');

  beforeAll(async () => {
    repo = createServiceRepo();
    port = await freePort();
    t = await start(helloConfig(helloEnvironment(repo, port, { layout: null, install: INSTALL })));
  });
  afterAll(async () => {
    await t?.dispose();
    // The service keeps its pid in app_path/.fraisier/shared here.
    if (repo && existsSync(pidFile())) {
      try {
        process.kill(Number(readFileSync(pidFile(), 'utf8')), 'SIGTERM');
      } catch {
        // already gone
      }
    }
    repo?.dispose();
  });

  it('loads as bare metal in place, and deploys A into app_path itself, where the service runs from', async () => {
    expect(t.app.services.catalog.environment('hello', 'local').target.config).toMatchObject({ layout: 'in_place' });
    commits.A = repo.commit('A');
    const deployment = await deploy(t, 'hello', commits.A);
    first = deployment.id;
    expect(deployment).toMatchObject({ status: 'success', newVersion: commits.A, errorMessage: null });
    expect(await version(port)).toBe('A');
    expect(readFileSync(join(repo.appPath, 'VERSION'), 'utf8')).toBe('A\n');
    expect(readFileSync(join(repo.appPath, 'installed'), 'utf8')).toBe(commits.A);
    expect(existsSync(join(repo.appPath, 'current'))).toBe(false);
    expect(existsSync(join(repo.appPath, 'releases'))).toBe(false);
    expect(serviceCwd(pidFile())).toBe(repo.appPath);
    expect(readdirSync(repo.appPath).filter((name) => name.startsWith('.fraisier-lock'))).toEqual([]);
    expect(await messagesOf(t, deployment.id)).toContain(`Code updated in place (${commits.A.slice(0, 12)})`);
  });

  it('writes version.json into the tree: commit, branch, when, which deployment, fraise and environment', async () => {
    const written = readJson(join(repo.appPath, 'version.json'));
    expect(written).toEqual({
      commit: commits.A,
      branch: 'main',
      timestamp: written.deployed_at,
      deployed_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      environment: 'local',
      fraise: 'hello',
      deployment_id: first,
      kind: 'deploy',
      previous_commit: null,
      layout: 'in_place',
      deployed_by: 'fraisier',
    });
  });

  it('rolls an unhealthy B back in place: A checked out and installed again, restarted, healthy', async () => {
    commits.B = repo.commit('B', { healthy: false });
    const deployment = await deploy(t, 'hello', commits.B);
    expect(deployment.status).toBe('rolled_back');
    expect(deployment.errorMessage).toMatch(/^health check failed: HTTP 500/);
    expect(await version(port)).toBe('A');
    expect(readFileSync(join(repo.appPath, 'VERSION'), 'utf8')).toBe('A\n');
    expect(existsSync(join(repo.appPath, 'UNHEALTHY'))).toBe(false);
    expect(readFileSync(join(repo.appPath, 'installed'), 'utf8')).toBe(commits.A);
    expect(serviceCwd(pidFile())).toBe(repo.appPath);
    expect(readJson(join(repo.appPath, 'version.json'))).toMatchObject({ commit: commits.A, kind: 'rollback', previous_commit: commits.B, deployment_id: deployment.id });
    const state = await gql(t.app, `{ fraise(name: "hello") { environments { currentVersion status } } }`);
    expect(state.data.fraise.environments[0]).toEqual({ currentVersion: commits.A, status: 'HEALTHY' });
    expect(await stepsOf(t, deployment.id)).toContain('rollback');
  });

  it('puts the previous commit back when the install fails, before anything restarted: FAILED, A still answers', async () => {
    commits.broken = repo.commit('broken', { files: { BREAK_INSTALL: 'yes\n' } });
    const deployment = await deploy(t, 'hello', commits.broken);
    expect(deployment.status).toBe('failed');
    expect(deployment.errorMessage).toMatch(new RegExp(`^install failed: .*; ${repo.appPath} holds ${commits.A!.slice(0, 12)} again$`, 's'));
    expect(readFileSync(join(repo.appPath, 'VERSION'), 'utf8')).toBe('A\n');
    expect(existsSync(join(repo.appPath, 'BREAK_INSTALL'))).toBe(false);
    expect(readJson(join(repo.appPath, 'version.json'))).toMatchObject({ commit: commits.A });
    expect(await version(port)).toBe('A');
  });

  it('rolls back to a chosen version in place: checked out, installed again, restarted', async () => {
    rmSync(join(repo.path, 'BREAK_INSTALL'));
    commits.C = repo.commit('C');
    expect((await deploy(t, 'hello', commits.C)).status).toBe('success');
    expect(await version(port)).toBe('C');
    expect(readJson(join(repo.appPath, 'version.json'))).toMatchObject({ commit: commits.C, previous_commit: commits.A });
    const { plan, deployment } = await rollback(t, 'hello', commits.A!.slice(0, 10));
    expect(plan).toEqual(['preflight', 'checkout', 'install', 'restart', 'health_check']);
    expect(deployment).toMatchObject({ status: 'success', kind: 'rollback', newVersion: commits.A, oldVersion: commits.C });
    expect(await version(port)).toBe('A');
    expect(readFileSync(join(repo.appPath, 'installed'), 'utf8')).toBe(commits.A);
    expect(await stepsOf(t, deployment.id)).toEqual(['preflight', 'checkout', 'fetch', 'install', 'restart', 'health_check', 'done']);
    expect(readJson(join(repo.appPath, 'version.json'))).toMatchObject({ commit: commits.A, kind: 'rollback', previous_commit: commits.C, deployment_id: deployment.id });
    expect(serviceCwd(pidFile())).toBe(repo.appPath);
  });
});

describe.skipIf(await dialect.unavailable())('an app_path the Python Fraisier deployed', () => {
  let t: TestApp;
  let repo: ServiceRepo;
  let port: number;
  const pidFile = () => join(repo.appPath, '.fraisier', 'shared', 'app.pid');

  beforeAll(async () => {
    repo = createServiceRepo();
    port = await freePort();
    t = await start(`
fraises:
  hello:
    type: api
    environments:
${helloEnvironment(repo, port, { layout: null, install: INSTALL })}`);
  });
  afterAll(async () => {
    await t?.dispose();
    try {
      process.kill(Number(readFileSync(pidFile(), 'utf8')), 'SIGTERM');
    } catch {
      // not running
    }
    repo?.dispose();
  });

  it('takes it over: a broken first deployment goes back to the commit its version.json names (abbreviated), files it does not track stay', async () => {
    const a = repo.commit('A');
    // What the Python Fraisier left: the tree of A, its version.json (a short id), a virtualenv.
    mkdirSync(join(repo.appPath, '.venv'), { recursive: true });
    execFileSync('sh', ['-c', 'git -C "$1" archive HEAD | tar -x -C "$2"', 'extract', repo.path, repo.appPath]);
    writeFileSync(join(repo.appPath, 'version.json'), JSON.stringify({ version: '1.0.0', commit: a.slice(0, 8), branch: 'main', environment: 'local' }));
    writeFileSync(join(repo.appPath, '.venv', 'marker'), 'kept\n');
    const b = repo.commit('B', { healthy: false });
    const deployment = await deploy(t, 'hello', b);
    expect(deployment).toMatchObject({ status: 'rolled_back' });
    expect(await version(port)).toBe('A');
    expect(readJson(join(repo.appPath, 'version.json'))).toMatchObject({ version: '1.0.0', commit: a, previous_commit: b, kind: 'rollback' });
    expect(readFileSync(join(repo.appPath, '.venv', 'marker'), 'utf8')).toBe('kept\n');
    expect(serviceCwd(pidFile())).toBe(repo.appPath);
  });
});

for (const layout of ['in_place', 'releases'] as const) {
  describe.skipIf(await dialect.unavailable())(`two fraises on one app_path (${layout})`, () => {
    let t: TestApp;
    let repo: ServiceRepo;
    const ports = { api: 0, worker: 0 };
    let b = '';
    const shared = () => join(repo.appPath, ...(layout === 'in_place' ? ['.fraisier', 'shared'] : ['shared']));

    beforeAll(async () => {
      repo = createServiceRepo();
      ports.api = await freePort();
      ports.worker = await freePort();
      const env = (port: number, pidFile: string) => helloEnvironment(repo, port, { layout, env: { APP_PID_FILE: pidFile } });
      t = await start(`
fraisier:
  lease: { ttl: 5s, heartbeat: 1s }
  poll_interval: 1s
fraises:
  api:
    type: api
    environments:
${env(ports.api, 'api.pid')}
  worker:
    type: worker
    environments:
${env(ports.worker, 'worker.pid')}`);
    });
    afterAll(async () => {
      await t?.dispose();
      for (const name of ['api.pid', 'worker.pid']) {
        try {
          process.kill(Number(readFileSync(join(shared(), name), 'utf8')), 'SIGTERM');
        } catch {
          // not running
        }
      }
      repo?.dispose();
    });

    it('deploys the same commit for both, then the next one: each service runs it, no lock is left behind', async () => {
      const a = repo.commit('A');
      expect(await deploy(t, 'api', a)).toMatchObject({ status: 'success', newVersion: a });
      expect(await deploy(t, 'worker', a)).toMatchObject({ status: 'success', newVersion: a });
      expect([await version(ports.api), await version(ports.worker)]).toEqual(['A', 'A']);
      b = repo.commit('B');
      expect(await deploy(t, 'api', b)).toMatchObject({ status: 'success', oldVersion: a, newVersion: b });
      expect(await deploy(t, 'worker', b)).toMatchObject({ status: 'success', oldVersion: a, newVersion: b });
      expect([await version(ports.api), await version(ports.worker)]).toEqual(['B', 'B']);
      const tree = layout === 'in_place' ? repo.appPath : join(repo.appPath, 'releases', b);
      if (layout === 'releases') expect(readlinkSync(join(repo.appPath, 'current'))).toBe(tree);
      for (const name of ['api.pid', 'worker.pid']) expect(serviceCwd(join(shared(), name))).toBe(tree);
      // The tree's version.json is the last deployment's that wrote it.
      expect(readJson(join(tree, 'version.json'))).toMatchObject({ commit: b, fraise: 'worker', environment: 'local', layout });
      expect(readdirSync(repo.appPath).filter((name) => name.startsWith('.fraisier-lock'))).toEqual([]);
    });

    it('rolls one fraise back without the other losing its lock or state', async () => {
      const c = repo.commit('C', { healthy: false });
      const broken = await deploy(t, 'worker', c);
      expect(broken.status).toBe('rolled_back');
      expect([await version(ports.api), await version(ports.worker)]).toEqual(['B', 'B']);
      const state = await gql(t.app, `{ fraises { name environments { currentVersion status } } }`);
      expect(state.data.fraises).toEqual([
        { name: 'api', environments: [{ currentVersion: b, status: 'HEALTHY' }] },
        { name: 'worker', environments: [{ currentVersion: b, status: 'HEALTHY' }] },
      ]);
      expect(readdirSync(repo.appPath).filter((name) => name.startsWith('.fraisier-lock'))).toEqual([]);
    });
  });
}

describe.skipIf(await dialect.unavailable())('a rollback to a version whose release was pruned', () => {
  let t: TestApp;
  let repo: ServiceRepo;
  let port: number;

  beforeAll(async () => {
    repo = createServiceRepo();
    port = await freePort();
    t = await start(
      helloConfig(`      local:
        branch: main
        git_repo: ${repo.path}
        install:
          command: ${INSTALL}
        build:
          command: [node, -e, "require('node:fs').writeFileSync('built', process.env.FRAISIER_COMMIT)"]
        target:
          provider: bare-metal
          app_path: ${repo.appPath}
          keep_releases: 1
          commands:
            restart: [sh, -c, "test -f installed && test -f built && exec ./bin/restart"]
            status: [./bin/status]
            stop: [./bin/stop]
        health_check:
          url: http://127.0.0.1:${port}/health
          timeout: 4s
          retries: 30
          interval: 0.1s
        env:
          PORT: "${port}"
`),
    );
  });
  afterAll(async () => {
    await t?.dispose();
    repo?.dispose();
  });

  it('fetches it again and runs the whole pipeline for it (install and build included): SUCCESS', async () => {
    const a = repo.commit('A');
    const b = repo.commit('B');
    const c = repo.commit('C');
    for (const commit of [a, b, c]) expect((await deploy(t, 'hello', commit)).status).toBe('success');
    expect(existsSync(join(repo.appPath, 'releases', a))).toBe(false);
    const { plan, deployment } = await rollback(t, 'hello', a);
    expect(plan).toEqual(['preflight', 'checkout', 'restart', 'health_check']);
    expect(deployment).toMatchObject({ status: 'success', kind: 'rollback', newVersion: a, errorMessage: null });
    expect(await version(port)).toBe('A');
    const release = join(repo.appPath, 'releases', a);
    expect(readlinkSync(join(repo.appPath, 'current'))).toBe(release);
    expect(readFileSync(join(release, 'installed'), 'utf8')).toBe(a);
    expect(readFileSync(join(release, 'built'), 'utf8')).toBe(a);
    expect(await stepsOf(t, deployment.id)).toEqual(['preflight', 'checkout', 'fetch', 'install', 'build', 'restart', 'health_check', 'done']);
    expect(await messagesOf(t, deployment.id)).toContain(`Release ${a.slice(0, 12)} was not kept: fetching and building it again`);
    expect(readJson(join(release, 'version.json'))).toMatchObject({ commit: a, kind: 'rollback', previous_commit: c, layout: 'releases', deployment_id: deployment.id, fraise: 'hello', environment: 'local' });
  });

  it('keeps the fields a commit ships in its own version.json, and writes Fraisier\'s over them', async () => {
    const d = repo.commit('D', { files: { 'version.json': JSON.stringify({ version: '1.4.2', schema_hash: 'sha256:abc', commit: 'stale' }) } });
    expect((await deploy(t, 'hello', d)).status).toBe('success');
    const written = readJson(join(repo.appPath, 'releases', d, 'version.json'));
    expect(written).toMatchObject({ version: '1.4.2', schema_hash: 'sha256:abc', commit: d, kind: 'deploy', layout: 'releases' });
  });
});
