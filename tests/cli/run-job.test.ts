import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runCli, type ServerProcess, startServer } from '../setup/cli.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { CLI_TIMEOUT, lines, workdir, type Workdir } from './support.js';

/*
 * fraisier run-job: a job run now, locally (the CLI process runs it, on SQLite) and against a
 * server (on PostgreSQL, followed over graphql-ws or not at all). The jobs write to a file, so
 * the test sees that they really ran.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
const postgres = DIALECTS.find((d) => d.name === 'postgres')!;

function jobsConfig(dir: string, databaseUrl: string): string {
  return `
fraisier:
  database: ${databaseUrl}
  lease: { ttl: 5s, heartbeat: 1s }
  poll_interval: 1s
fraises:
  nightly:
    type: scheduled
    environments:
      production:
        app_path: ${dir}/app
        jobs:
          cleanup:
            description: run on demand only
            command: [node, -e, "require('node:fs').appendFileSync('${dir}/ran.log', 'cleanup ' + process.env.FRAISIER_DEPLOYMENT_ID + '\\\\n'); console.log('cleaned 3 files')"]
          broken:
            command: [node, -e, "console.error('no disk left'); process.exit(3)"]
`;
}

/** The ids the cleanup job wrote, in order. */
const ranIds = (dir: Workdir) => lines(readFileSync(join(dir.path, 'ran.log'), 'utf8')).map((l) => l.replace('cleanup ', ''));

describe('run-job locally (SQLite): the CLI runs the job', { timeout: CLI_TIMEOUT }, () => {
  let dir: Workdir;
  let database: TestDatabase;
  let file: string;
  const cli = (args: string[]) => runCli([...args, '--config', file]);

  beforeAll(async () => {
    dir = workdir();
    mkdirSync(join(dir.path, 'app'));
    database = await sqlite.createDatabase();
    file = dir.file('fraises.yaml', jobsConfig(dir.path, database.url));
  });
  afterAll(async () => {
    await database?.drop();
    dir?.dispose();
  });

  it('--follow shows the job\'s step and exits 0 once it succeeded', async () => {
    const result = await cli(['run-job', 'nightly', 'production', 'cleanup', '--follow']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = lines(result.stdout);
    expect(out.slice(0, 2)).toEqual(['Running job cleanup of nightly → production (bare-metal)', '  deployment 1 · 1 step: run:cleanup']);
    expect(out).toContain('  ✓ cleaned 3 files');
    expect(out).toContain('✓ Job cleanup successful!');
    expect(out.at(-1)).toBe('  Target:   bare-metal');
    expect(ranIds(dir)).toEqual(['1']);
  });

  it('exits 1 when the job fails, with its error', async () => {
    const result = await cli(['run-job', 'nightly', 'production', 'broken']);
    expect(result.code).toBe(1);
    expect(lines(result.stdout)).toContain('✗ Job broken failed: run:broken failed: node exited with code 3: no disk left');
  });

  it('exits 1 naming a job or environment that does not exist; 2 on a missing argument', async () => {
    const job = await cli(['run-job', 'nightly', 'production', 'clean']);
    expect(job).toMatchObject({ code: 1, stdout: '', stderr: 'fraisier: nightly/production has no job "clean"; did you mean "cleanup"?\n' });
    const env = await cli(['run-job', 'nightly', 'staging', 'cleanup']);
    expect(env).toMatchObject({ code: 1, stderr: 'fraisier: fraise "nightly" has no environment "staging" (it has production)\n' });
    const usage = await cli(['run-job', 'nightly', 'production']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("missing required argument 'job'");
  });

  it('--json gives the run as it ended', async () => {
    const result = await cli(['run-job', 'nightly', 'production', 'cleanup', '--json']);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json).toMatchObject({
      success: true,
      plan: ['run:cleanup'],
      deployment: { fraise: 'nightly', environment: 'production', job: 'cleanup', status: 'SUCCESS', triggeredBy: 'MANUAL', requestedBy: 'local' },
    });
    expect(json.message).toBe(`job run ${json.deployment.id} queued: nightly/production job cleanup`);
    expect(ranIds(dir).at(-1)).toBe(json.deployment.id);
  });
});

describe('run-job against a server on PostgreSQL', { timeout: CLI_TIMEOUT }, async () => {
  const skip = await postgres.unavailable();
  let dir: Workdir;
  let database: TestDatabase;
  let server: ServerProcess | undefined;
  const remote = (args: string[]) => runCli([...args, '--url', server!.url]);

  beforeAll(async () => {
    if (skip) return;
    dir = workdir();
    mkdirSync(join(dir.path, 'app'));
    database = await postgres.createDatabase();
    const file = dir.file('fraises.yaml', jobsConfig(dir.path, database.url));
    server = await startServer(['--config', file]);
  });
  afterAll(async () => {
    const code = await server?.stop();
    await database?.drop();
    dir?.dispose();
    if (server) expect(code).toBe(0);
  });

  it.skipIf(skip)('--no-follow returns once queued (exit 0); the server runs it', async () => {
    const queued = await remote(['run-job', 'nightly', 'production', 'cleanup', '--no-follow']);
    expect(queued.stderr).toBe('');
    expect(queued.code).toBe(0);
    const [message, hint] = lines(queued.stdout);
    const id = /^job run (\d+) queued: nightly\/production job cleanup$/.exec(message!)?.[1];
    expect(id, message).toBeDefined();
    expect(hint).toBe('  follow it: fraisier history --fraise nightly --environment production');
    await untilEnded(server!.url, id!);
    expect(ranIds(dir)).toEqual([id]);
  });

  it.skipIf(skip)('--follow streams the run and exits 0; exits 1 on a failed job and on an unknown one', async () => {
    const good = await remote(['run-job', 'nightly', 'production', 'cleanup', '--follow']);
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    const out = lines(good.stdout);
    expect(out[0]).toBe('Running job cleanup of nightly → production (bare-metal)');
    expect(out).toContain('✓ Job cleanup successful!');

    const bad = await remote(['run-job', 'nightly', 'production', 'broken', '--follow']);
    expect(bad.code).toBe(1);
    expect(lines(bad.stdout)).toContain('✗ Job broken failed: run:broken failed: node exited with code 3: no disk left');

    const unknown = await remote(['run-job', 'nightly', 'production', 'vacuum']);
    expect(unknown).toMatchObject({ code: 1, stdout: '', stderr: 'fraisier: nightly/production has no job "vacuum" (it has cleanup, broken)\n' });
  });
});

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
