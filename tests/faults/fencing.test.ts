import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../../src/store/store.js';
import { startServer, type ServerProcess } from '../setup/cli.js';
import { waitUntil } from '../setup/deployments.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { proxyDatabase, type TcpProxy } from '../setup/tcp-proxy.js';

/*
 * Two Fraisier processes on one PostgreSQL database, each through a proxy; the test cuts the
 * link of the one that runs the step (A) while it runs. A cannot renew its lease: it must stop its step (terminate the command)
 * before the lease it last wrote expires, so that B, which then takes the (fraise, environment)
 * over, never runs a step beside it. The step itself (tests/fixtures/exclusive-step.mjs) holds a
 * lock file and records any overlap with a live holder.
 */

const STEP = resolve('tests/fixtures/exclusive-step.mjs');
const postgres = DIALECTS.find((d) => d.name === 'postgres')!;
const POLL = { timeoutMs: 30_000, intervalMs: 25 };

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

interface StepLine {
  what: string;
  pid: number;
  deployment: string;
  at: number;
}

function stepLog(dir: string): StepLine[] {
  const file = join(dir, 'steps.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [what, pid, deployment, at] = line.split(' ');
      return { what: what!, pid: Number(pid), deployment: deployment!, at: Number(at) };
    });
}

describe('a Fraisier cut off from PostgreSQL while it runs a step', async () => {
  const skip = await postgres.unavailable();
  let database: TestDatabase;
  const proxies: { proxy: TcpProxy; url: string }[] = [];
  let store: Store;
  let dir: string;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    if (skip) return;
    database = await postgres.createDatabase();
    for (let i = 0; i < 2; i++) proxies.push(await proxyDatabase(database.url));
    store = createStore(database.url, { poolSize: 2 });
    dir = mkdtempSync(join(tmpdir(), 'fraisier-fence-'));
    writeFileSync(
      join(dir, 'fraises.yaml'),
      `
fraisier:
  lease: { ttl: 4.5s, heartbeat: 1.5s }
  poll_interval: 0.5s
fraises:
  site:
    type: custom
    environments:
      prod:
        app_path: ${dir}/app
        steps:
          - { name: exclusive, command: [node, ${STEP}, "${dir}"] }
`,
    );
  });
  afterAll(async () => {
    for (const server of servers) if (server.child.exitCode === null) await server.stop('SIGKILL');
    for (const line of stepLog(dir ?? '/nonexistent')) {
      try {
        process.kill(line.pid, 'SIGKILL');
      } catch {
        // gone, as it should be
      }
    }
    await store?.close();
    for (const { proxy } of proxies) await proxy.close();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(skip)('stops its step before its lease expires, and B then deploys the target with never two steps at once', { timeout: 90_000 }, async () => {
    // Both start at once; whichever claims the deployment is A, the other B.
    const [one, two] = await Promise.all(
      ['fence-0', 'fence-1'].map(async (instance, i) => {
        const server = await startServer(['--config', join(dir, 'fraises.yaml'), '--database', proxies[i]!.url], { cwd: dir, env: { FRAISIER_INSTANCE_ID: instance } });
        servers.push(server);
        return server;
      }),
    );
    const first = (await graphql(one!, 'mutation { deploy(fraise: "site", environment: "prod", force: true) { deployment { id } } }')).deploy.deployment.id as string;
    await waitUntil(() => stepLog(dir).some((l) => l.what === 'start' && l.deployment === first), { ...POLL, what: 'the step to start' });
    const owner = (await store.db.selectFrom('tb_deployment').select('lease_owner').where('id', '=', Number(first)).executeTakeFirstOrThrow()).lease_owner;
    const a = owner === 'fence-0' ? 0 : 1;
    const b = owner === 'fence-0' ? two! : one!;

    await proxies[a]!.proxy.down();
    // A gives up on its own, while the lease it last wrote still holds (B could not have taken
    // the target over yet): the step is terminated before that lease's expiry.
    const term = await waitUntil(() => stepLog(dir).find((l) => l.what === 'term' && l.deployment === first), { ...POLL, what: 'A to stop its step' });
    const lease = await store.db.selectFrom('tb_deployment').select(['status', 'lease_expires_at']).where('id', '=', Number(first)).executeTakeFirstOrThrow();
    expect(lease.status).toBe('in_progress');
    expect(term.at).toBeLessThan(Date.parse(lease.lease_expires_at!));

    // B sweeps the expired lease (the target was touched: FAILED, interrupted) and deploys again.
    const ended = await waitUntil(async () => {
      const { deployment } = await graphql(b, 'query($id: ID!) { deployment(id: $id) { status errorMessage } }', { id: first });
      return deployment.status !== 'IN_PROGRESS' ? deployment : undefined;
    }, POLL);
    expect(ended).toMatchObject({ status: 'FAILED', errorMessage: expect.stringMatching(/^interrupted: /) });
    const second = (await graphql(b, 'mutation { deploy(fraise: "site", environment: "prod", force: true) { deployment { id } } }')).deploy.deployment.id as string;
    writeFileSync(join(dir, `gate-${second}`), '');
    const done = await waitUntil(async () => {
      const { deployment } = await graphql(b, 'query($id: ID!) { deployment(id: $id) { status } }', { id: second });
      return ['SUCCESS', 'FAILED', 'CANCELLED'].includes(deployment.status) ? deployment : undefined;
    }, POLL);
    expect(done.status).toBe('SUCCESS');

    const lines = stepLog(dir);
    expect(lines.filter((l) => l.what.startsWith('overlap')), JSON.stringify(lines)).toEqual([]);
    expect(lines.map((l) => `${l.what} ${l.deployment}`)).toEqual([`start ${first}`, `term ${first}`, `start ${second}`, `end ${second}`]);
  });
});
