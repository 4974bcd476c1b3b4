import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runCli, type ServerProcess, startServer } from '../setup/cli.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { createServiceRepo, freePort, helloEnvironment, type ServiceRepo } from '../setup/service-repo.js';
import { CLI_TIMEOUT, lines, workdir, type Workdir } from './support.js';

/*
 * deploy, rollback and logs against a real deployment: a git repository holding a tiny HTTP
 * service, deployed on this machine (see tests/deploy/local-deploy.test.ts). Locally on
 * SQLite, the CLI process runs the deployment itself; remotely, a `fraisier serve` process on
 * PostgreSQL runs it and the CLI follows it over graphql-ws.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
const postgres = DIALECTS.find((d) => d.name === 'postgres')!;

/**
 * The hello fixture's configuration (as in tests/deploy/local-deploy.test.ts), with its store
 * and a logs command that says which release it runs in and how many lines were asked for.
 */
function cliConfig(repo: ServiceRepo, port: number, databaseUrl: string): string {
  const logs = `[node, -e, "console.log('version ' + require('node:fs').readFileSync('VERSION', 'utf8').trim() + ', last ' + process.argv[1])"]`;
  return `
fraisier:
  database: ${databaseUrl}
  lease: { ttl: 5s, heartbeat: 1s }
  poll_interval: 1s
fraises:
  hello:
    type: api
    description: Tiny HTTP service
    environments:
${helloEnvironment(repo, port, { commands: { logs } })}`;
}

/** `expected` appear in `actual`, in this order (other lines may come between them). */
function expectInOrder(actual: string[], expected: (string | RegExp)[]): void {
  let at = 0;
  for (const wanted of expected) {
    const found = actual.findIndex((line, i) => i >= at && (typeof wanted === 'string' ? line === wanted : wanted.test(line)));
    expect(found, `${String(wanted)} after line ${at} of:\n${actual.join('\n')}`).toBeGreaterThanOrEqual(0);
    at = found + 1;
  }
}

/** Resolves when the server says deployment `id` ended (its progress subscription completes). */
async function untilEnded(url: string, id: string): Promise<void> {
  const client = createClient({ url: `${url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  try {
    await new Promise<void>((resolve, reject) => {
      client.subscribe({ query: 'subscription($id: ID!) { deploymentProgress(deploymentId: $id) { sequence } }', variables: { id } }, { next: () => {}, error: reject, complete: resolve });
    });
  } finally {
    await client.dispose();
  }
}

const short = (sha: string) => sha.slice(0, 12);
const version = async (port: number) => (await fetch(`http://127.0.0.1:${port}/version`)).text();

/** The steps of a good hello deployment of `sha`, as deploy --follow shows them. */
const goodSteps = (sha: string) => [
  /^ {2}⟳ Checking hello\/local on /,
  '  ✓ Pre-flight checks passed',
  `  ⟳ Fetching ${short(sha)}`,
  `  ✓ Code updated (${short(sha)})`,
  /^ {2}⟳ Running node -e /,
  /^ {2}✓ install done in \d+\.\ds$/,
  /^ {2}⟳ Restarting on /,
  '  ✓ Service restarted',
  '  ⟳ Checking health',
  `  ✓ Health check passed (HTTP 200) on ${short(sha)}`,
];

describe('deploy, rollback and logs locally (SQLite): the CLI runs the deployment', { timeout: CLI_TIMEOUT }, () => {
  let dir: Workdir;
  let repo: ServiceRepo;
  let database: TestDatabase;
  let port: number;
  let file: string;
  const commits: Record<string, string> = {};
  const cli = (args: string[]) => runCli([...args, '--config', file]);

  beforeAll(async () => {
    dir = workdir();
    repo = createServiceRepo();
    database = await sqlite.createDatabase();
    port = await freePort();
    file = dir.file('fraises.yaml', cliConfig(repo, port, database.url));
  });
  afterAll(async () => {
    repo?.dispose();
    await database?.drop();
    dir?.dispose();
  });

  it('--dry-run exits 1 naming what the real run would miss (here the branch: nothing is committed yet)', async () => {
    const dry = await cli(['deploy', 'hello', 'local', '--dry-run']);
    expect(dry).toMatchObject({ code: 1, stdout: '' });
    expect(dry.stderr).toBe(
      `fraisier: dry run: deploying the head of main to hello/local (bare-metal) would fail; nothing was queued\n  - branch "main" does not exist in ${repo.path}\n`,
    );
  });

  it('--dry-run prints the plan; deploy --follow shows every step and exits 0', async () => {
    commits.A = repo.commit('A');
    const dry = await cli(['deploy', 'hello', 'local', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(lines(dry.stdout)).toEqual([
      `dry run: would deploy ${short(commits.A)} to hello/local (bare-metal); nothing was queued`,
      'Plan:',
      '   1. preflight      Pre-flight checks',
      '   2. fetch          Fetching the code',
      '   3. install        Install',
      '   4. restart        Restart',
      '   5. health_check   Health check',
    ]);

    const result = await cli(['deploy', 'hello', 'local', '--follow']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = lines(result.stdout);
    expect(out.slice(0, 2)).toEqual(['Deploying hello → local (bare-metal)', `  deployment 1 · commit ${short(commits.A)} · 5 steps: preflight, fetch, install, restart, health_check`]);
    expectInOrder(out, [...goodSteps(commits.A), '✓ Deployment successful!', `  Version:  none → ${short(commits.A)}`, /^ {2}Duration: \d+\.\ds$/, '  Target:   bare-metal']);
    expect(await version(port)).toBe('A');
  });

  it('refuses to redeploy the running commit (exit 1, one line); exits 1 on a rolled-back deployment', async () => {
    const again = await cli(['deploy', 'hello', 'local', '--commit', commits.A!]);
    expect(again).toMatchObject({ code: 1, stdout: '', stderr: `fraisier: ${short(commits.A!)} is already deployed to hello/local; deploy with force to redeploy it\n` });

    commits.B = repo.commit('B', { healthy: false });
    const result = await cli(['deploy', 'hello', 'local', '--follow']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    expectInOrder(lines(result.stdout), [
      ...goodSteps(commits.B).slice(0, 9),
      /^ {6}attempt \d+: HTTP 500$/,
      '  ✗ Health check failed',
      `  ⟳ health check failed: HTTP 500: rolling back to ${short(commits.A!)}`,
      `  ✓ Rolled back to ${short(commits.A!)}: healthy`,
      '✗ Deployment rolled back: health check failed: HTTP 500',
      `  Version:  ${short(commits.A!)} (unchanged; ${short(commits.B)} not deployed)`,
    ]);
    expect(await version(port)).toBe('A');
  });

  it('--json gives the outcome with its progress; rollback --to-version; status and logs', async () => {
    commits.C = repo.commit('C');
    const deployed = await cli(['deploy', 'hello', 'local', '--json']);
    expect(deployed.code).toBe(0);
    const result = JSON.parse(deployed.stdout);
    expect(result).toMatchObject({ success: true, dryRun: false, deployment: { id: '3', status: 'SUCCESS', oldVersion: commits.A, newVersion: commits.C, triggeredBy: 'MANUAL' } });
    const steps = result.deployment.progress.map((p: { step: string }) => p.step);
    expect([...new Set(steps)]).toEqual(['preflight', 'fetch', 'install', 'restart', 'health_check', 'done']);
    expect(result.deployment.progress.map((p: { sequence: number }) => p.sequence)).toEqual(steps.map((_: string, i: number) => i + 1));

    const rollback = await cli(['rollback', 'hello', 'local', '--to-version', commits.A!.slice(0, 10), '--follow']);
    expect(rollback.code).toBe(0);
    expectInOrder(lines(rollback.stdout), [
      'Rolling back hello → local (bare-metal)',
      `  ⟳ Checking out ${short(commits.A!)}`,
      `  ✓ Release ${short(commits.A!)} was kept: nothing to rebuild`,
      '✓ Rollback successful!',
      `  Version:  ${short(commits.C)} → ${short(commits.A!)}`,
    ]);
    expect(await version(port)).toBe('A');

    const [status, logs] = await Promise.all([cli(['status', 'hello', 'local', '--json']), cli(['logs', 'hello', 'local', '-n', '7'])]);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'HEALTHY', currentVersion: commits.A, lastDeployment: { id: '4', status: 'SUCCESS' } });
    expect(logs).toMatchObject({ code: 0, stdout: 'version A, last 7\n' });
  });
});

describe('deploy and rollback against a server on PostgreSQL, followed over graphql-ws', { timeout: CLI_TIMEOUT }, async () => {
  const skip = await postgres.unavailable();
  let dir: Workdir;
  let repo: ServiceRepo;
  let database: TestDatabase;
  let server: ServerProcess | undefined;
  let port: number;
  let file: string;
  const commits: Record<string, string> = {};
  const remote = (args: string[]) => runCli([...args, '--url', server!.url]);

  beforeAll(async () => {
    if (skip) return;
    dir = workdir();
    repo = createServiceRepo();
    database = await postgres.createDatabase();
    port = await freePort();
    // The store only on the command line: --database wins over the file.
    file = dir.file('fraises.yaml', cliConfig(repo, port, 'sqlite:/nonexistent/never-used.db'));
    server = await startServer(['--config', file, '--database', database.url]);
  });
  afterAll(async () => {
    const code = await server?.stop();
    repo?.dispose();
    await database?.drop();
    dir?.dispose();
    if (server) expect(code).toBe(0);
  });

  it.skipIf(skip)('deploy --follow shows every step and exits 0; a rolled-back deployment exits 1', async () => {
    commits.A = repo.commit('A');
    const good = await remote(['deploy', 'hello', 'local', '--follow']);
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    expectInOrder(lines(good.stdout), ['Deploying hello → local (bare-metal)', ...goodSteps(commits.A), '✓ Deployment successful!', `  Version:  none → ${short(commits.A)}`]);
    expect(await version(port)).toBe('A');

    commits.B = repo.commit('B', { healthy: false });
    const bad = await remote(['deploy', 'hello', 'local', '--follow']);
    expect(bad.code).toBe(1);
    expectInOrder(lines(bad.stdout), ['  ✗ Health check failed', '✗ Deployment rolled back: health check failed: HTTP 500']);
    expect(await version(port)).toBe('A');
  });

  it.skipIf(skip)('--no-follow returns once queued; a local CLI on the same store follows what the server runs', async () => {
    commits.C = repo.commit('C');
    const queued = await remote(['deploy', 'hello', 'local', '--no-follow', '--json']);
    expect(queued.code).toBe(0);
    const { deployment } = JSON.parse(queued.stdout);
    expect(deployment).toMatchObject({ status: 'PENDING', gitCommit: commits.C, triggeredBy: 'MANUAL' });
    // Followed while the server runs it (or, on a fast machine, once it ended): its steps as
    // deploy --follow shows them, then the end.
    const followed = await remote(['deployment', deployment.id, '--follow']);
    expect(followed.stderr).toBe('');
    expect(followed.code).toBe(0);
    expectInOrder(lines(followed.stdout), [new RegExp(`^Deployment ${deployment.id}: (PENDING|IN_PROGRESS|SUCCESS)$`), ...goodSteps(commits.C), '✓ Deployment successful!']);
    await untilEnded(server!.url, deployment.id);
    expect(await version(port)).toBe('C');

    // Local mode on the server's store: the rollback is claimed by whichever process gets it
    // first, and followed to its end either way.
    const rollback = await runCli(['rollback', 'hello', 'local', '--to-version', commits.A!, '--follow', '--config', file, '--database', database.url]);
    expect(rollback.code).toBe(0);
    expectInOrder(lines(rollback.stdout), ['Rolling back hello → local (bare-metal)', '✓ Rollback successful!', `  Version:  ${short(commits.C)} → ${short(commits.A!)}`]);
    expect(await version(port)).toBe('A');

    const [remoteHistory, localHistory, logs] = await Promise.all([
      remote(['history', '--json']),
      runCli(['history', '--json', '--config', file, '--database', database.url]),
      remote(['logs', 'hello', 'local', '-n', '5']),
    ]);
    expect(remoteHistory.stdout).toBe(localHistory.stdout);
    expect(JSON.parse(remoteHistory.stdout).map((d: { id: string; status: string }) => `${d.id}:${d.status}`)).toEqual(['4:SUCCESS', '3:SUCCESS', '2:ROLLED_BACK', '1:SUCCESS']);
    expect(logs).toMatchObject({ code: 0, stdout: 'version A, last 5\n' });
  });
});
