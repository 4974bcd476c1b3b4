import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINAL_STATUSES } from '../../src/model.js';
import { startServer, type ServerProcess } from '../setup/cli.js';
import { waitUntil } from '../setup/deployments.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { createServiceRepo, type ServiceRepo } from '../setup/service-repo.js';

/** A step that waits for a gate file the test creates (tests/fixtures/wait-for.mjs). */
const WAIT_FOR = resolve('tests/fixtures/wait-for.mjs');

/*
 * Real server processes: `kill -9` in the middle of a deployment loses nothing and blocks
 * nothing after a restart; two processes on one PostgreSQL database split the work, run each
 * deployment exactly once and never two at a time for one (fraise, environment).
 */

async function graphql(server: ServerProcess, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** How the servers are polled: a restart or 50 deployments take a while. */
const POLL = { timeoutMs: 60_000, intervalMs: 50 };

/** The final statuses as the API spells them. */
const FINAL = new Set([...FINAL_STATUSES].map((status) => status.toUpperCase()));

for (const dialect of DIALECTS) {
  describe(`kill -9 in the middle of a deployment on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let database: TestDatabase;
    let repo: ServiceRepo;
    let dir: string;
    const servers: ServerProcess[] = [];

    beforeAll(async () => {
      if (skip) return;
      database = await dialect.createDatabase();
      repo = createServiceRepo();
      repo.commit('base');
      dir = mkdtempSync(join(tmpdir(), 'fraisier-kill-'));
      writeFileSync(
        join(dir, 'fraises.yaml'),
        `
fraisier:
  lease: { ttl: 2s, heartbeat: 0.5s }
  poll_interval: 0.5s
fraises:
  gated:
    type: custom
    environments:
      local:
        git_repo: ${repo.path}
        app_path: ${repo.appPath}
        steps:
          - { name: wait, command: [node, ${WAIT_FOR}, "${repo.scratch}/gate-{id}"] }
`,
      );
    });
    afterAll(async () => {
      for (const server of servers) await server.stop('SIGKILL');
      for (const file of ['1', '2', '3'].map((id) => join(repo?.scratch ?? '/nonexistent', `gate-${id}.pid`))) {
        if (existsSync(file)) {
          try {
            process.kill(Number(readFileSync(file, 'utf8')), 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
      await database?.drop();
      repo?.dispose();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it.skipIf(skip)('ends the deployment FAILED (interrupted) after a restart, frees its lease, and runs the next one', async () => {
      const start = async () => {
        const server = await startServer(['--config', join(dir, 'fraises.yaml'), '--database', database.url], { cwd: dir });
        servers.push(server);
        return server;
      };
      const first = await start();
      const { deploy } = await graphql(first, 'mutation { deploy(fraise: "gated", environment: "local", force: true) { deployment { id } } }');
      const id = deploy.deployment.id as string;
      // It is running its step (past the restart point: the target was touched).
      await waitUntil(() => existsSync(join(repo.scratch, `gate-${id}.pid`)), POLL);
      expect(await first.stop('SIGKILL')).toBe(null);

      const second = await start();
      const ended = await waitUntil(async () => {
        const { deployment } = await graphql(second, 'query($id: ID!) { deployment(id: $id) { status errorMessage progress { sequence step message } } }', { id });
        return FINAL.has(deployment.status) ? deployment : undefined;
      }, POLL);
      expect(ended.status).toBe('FAILED');
      expect(ended.errorMessage).toMatch(/^interrupted: the Fraisier process .+ stopped while running it \(lease expired at .+\)$/);
      expect(ended.progress.at(-1)).toMatchObject({ step: 'failed' });
      expect(ended.progress.map((p: { sequence: number }) => p.sequence)).toEqual(ended.progress.map((_: unknown, i: number) => i + 1));

      const next = await graphql(second, 'mutation { deploy(fraise: "gated", environment: "local", force: true) { deployment { id } } }');
      const nextId = next.deploy.deployment.id as string;
      writeFileSync(join(repo.scratch, `gate-${nextId}`), '');
      const done = await waitUntil(async () => {
        const { deployment } = await graphql(second, 'query($id: ID!) { deployment(id: $id) { status } }', { id: nextId });
        return FINAL.has(deployment.status) ? deployment : undefined;
      }, POLL);
      expect(done.status).toBe('SUCCESS');
      expect(await second.stop('SIGTERM')).toBe(0);
    });
  });
}

describe('two processes on one PostgreSQL database', async () => {
  const postgres = DIALECTS.find((d) => d.name === 'postgres')!;
  const skip = await postgres.unavailable();
  let database: TestDatabase;
  let dir: string;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    if (skip) return;
    database = await postgres.createDatabase();
    dir = mkdtempSync(join(tmpdir(), 'fraisier-two-'));
    const environments = ['e1', 'e2', 'e3', 'e4', 'e5']
      .map(
        (env) => `      ${env}:
        app_path: ${dir}/apps
        steps:
          - { name: record, command: [node, ${resolve('tests/fixtures/record-run.mjs')}] }
        env: { RUN_LOG: ${dir}/runs.log, WORK_MS: "40" }`,
      )
      .join('\n');
    const fraises = Array.from({ length: 10 }, (_, i) => `  f${i}:\n    type: custom\n    environments:\n${environments}`).join('\n');
    writeFileSync(join(dir, 'fraises.yaml'), `fraisier:\n  concurrency: { global: 4, per_host: 8 }\n  poll_interval: 1s\nfraises:\n${fraises}\n`);
    for (let i = 0; i < 2; i++) servers.push(await startServer(['--config', join(dir, 'fraises.yaml'), '--database', database.url], { cwd: dir }));
  });
  afterAll(async () => {
    for (const server of servers) await server.stop('SIGTERM');
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(skip)('run 50 deployments over 10 fraises, each exactly once, split between them', async () => {
    const ids: string[] = [];
    for (let f = 0; f < 10; f++) {
      for (let e = 1; e <= 5; e++) {
        const server = servers[(f + e) % 2]!;
        const { deploy } = await graphql(server, `mutation { deploy(fraise: "f${f}", environment: "e${e}") { deployment { id } } }`);
        ids.push(deploy.deployment.id);
      }
    }
    const statuses = await waitUntil(async () => {
      const { deployments } = await graphql(servers[0]!, '{ deployments(limit: 100) { id status } }');
      return deployments.every((d: { status: string }) => FINAL.has(d.status)) && deployments.length === 50 ? deployments : undefined;
    }, POLL);
    expect(statuses.map((d: { status: string }) => d.status)).toEqual(Array(50).fill('SUCCESS'));
    const runs = readFileSync(join(dir, 'runs.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(runs.map((r) => r.deployment).sort()).toEqual([...ids].sort());
    expect(new Set(runs.map((r) => r.server)).size).toBe(2);
  });

  it.skipIf(skip)('never run two deployments of one (fraise, environment) at a time', async () => {
    rmSync(join(dir, 'runs.log'), { force: true });
    const ids: string[] = [];
    // Each pair gets a deployment, then another one while the first runs: it must wait.
    for (let round = 0; round < 2; round++) {
      for (let f = 0; f < 5; f++) {
        const { deploy } = await graphql(servers[round]!, `mutation { deploy(fraise: "f${f}", environment: "e1") { deployment { id } } }`);
        ids.push(deploy.deployment.id);
      }
    }
    await waitUntil(async () => {
      const { deployments } = await graphql(servers[1]!, '{ deployments(environment: "e1", limit: 100) { id status } }');
      const mine = deployments.filter((d: { id: string }) => ids.includes(d.id));
      return mine.length === ids.length && mine.every((d: { status: string }) => FINAL.has(d.status)) ? mine : undefined;
    }, POLL);
    const runs = readFileSync(join(dir, 'runs.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(new Set(runs.map((r) => r.deployment)).size).toBe(runs.length);
    const byPair = new Map<string, { start: number; end: number }[]>();
    for (const run of runs) byPair.set(`${run.fraise}/${run.environment}`, [...(byPair.get(`${run.fraise}/${run.environment}`) ?? []), run]);
    for (const [pair, intervals] of byPair) {
      intervals.sort((a, b) => a.start - b.start);
      for (let i = 1; i < intervals.length; i++) expect(intervals[i]!.start, pair).toBeGreaterThanOrEqual(intervals[i - 1]!.end);
    }
  });
});
