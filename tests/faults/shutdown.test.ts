import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createStore } from '../../src/store/store.js';
import { startServer, type ServerProcess } from '../setup/cli.js';
import { waitUntil } from '../setup/deployments.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';

/*
 * SIGTERM with a deployment running and a client subscribed: no new work is accepted, the
 * running deployment finishes (or, past the drain timeout, gives its lease up), WebSockets
 * close with 1001, and the process exits 0.
 */

const WAIT_FOR = resolve('tests/fixtures/wait-for.mjs');
const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

async function graphql(url: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return ((await response.json()) as { data: any }).data;
}

/** How long (and how often) the server process is polled. */
const POLL = { timeoutMs: 30_000, intervalMs: 25 };

describe('SIGTERM', () => {
  let dir: string;
  let database: TestDatabase;
  const servers: ServerProcess[] = [];

  const config = (drain: string) => `
fraisier:
  drain_timeout: ${drain}
  lease: { ttl: 2s, heartbeat: 0.5s }
  poll_interval: 0.5s
fraises:
  gated:
    type: custom
    environments:
      local:
        app_path: ${dir}/app
        steps:
          - { name: wait, command: [node, ${WAIT_FOR}, "${dir}/gate-{id}"] }
`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fraisier-term-'));
    database = await sqlite.createDatabase();
  });
  afterAll(async () => {
    for (const server of servers) if (server.child.exitCode === null) await server.stop('SIGKILL');
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (drain: string) => {
    writeFileSync(join(dir, 'fraises.yaml'), config(drain));
    const server = await startServer(['--config', join(dir, 'fraises.yaml'), '--database', database.url], { cwd: dir });
    servers.push(server);
    return server;
  };

  it('lets the running deployment finish, closes sockets with 1001, exits 0', async () => {
    const server = await start('30s');
    const { deploy } = await graphql(server.url, 'mutation { deploy(fraise: "gated", environment: "local") { deployment { id } } }');
    const id = deploy.deployment.id as string;
    await waitUntil(() => existsSync(join(dir, `gate-${id}.pid`)), POLL);

    let closeCode: number | undefined;
    const client = createClient({
      url: `${server.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      on: { closed: (event) => (closeCode = (event as { code: number }).code) },
    });
    // A dashboard also watches for new deployments: that subscription never ends by itself,
    // so the socket stays open until the server closes it.
    client.subscribe({ query: 'subscription { deploymentStarted { id } }' }, { next: () => {}, error: () => {}, complete: () => {} });
    const events: { step: string }[] = [];
    const completed = new Promise<void>((resolveCompleted, reject) =>
      client.subscribe(
        { query: 'subscription($id: ID!) { deploymentProgress(deploymentId: $id) { step } }', variables: { id } },
        { next: (r) => events.push((r.data as { deploymentProgress: { step: string } }).deploymentProgress), error: reject, complete: resolveCompleted },
      ),
    );
    await waitUntil(() => events.some((e) => e.step === 'wait'), POLL);

    const exited = new Promise<number | null>((r) => server.child.once('exit', (code) => r(code)));
    server.child.kill('SIGTERM');
    // No new work: new connections are refused while the deployment drains.
    await waitUntil(async () => fetch(`${server.url}/health`).then(() => false, () => true), POLL);
    writeFileSync(join(dir, `gate-${id}`), '');
    await completed;
    expect(events.at(-1)?.step).toBe('done');
    expect(await exited).toBe(0);
    await waitUntil(() => closeCode !== undefined, POLL);
    expect(closeCode).toBe(1001);
    await client.dispose();

    const store = createStore(database.url);
    try {
      const row = await store.db.selectFrom('tb_deployment').select(['status', 'lease_owner']).where('id', '=', Number(id)).executeTakeFirstOrThrow();
      expect(row).toEqual({ status: 'success', lease_owner: null });
    } finally {
      await store.close();
    }
  });

  it('gives the lease up past the drain timeout, and the next start ends it as interrupted', async () => {
    const server = await start('1s');
    const { deploy } = await graphql(server.url, 'mutation { deploy(fraise: "gated", environment: "local") { deployment { id } } }');
    const id = deploy.deployment.id as string;
    await waitUntil(() => existsSync(join(dir, `gate-${id}.pid`)), POLL);
    const before = Date.now();
    expect(await server.stop('SIGTERM')).toBe(0);
    expect(Date.now() - before).toBeLessThan(20_000);

    const store = createStore(database.url);
    try {
      const row = await store.db.selectFrom('tb_deployment').select(['status', 'lease_expires_at']).where('id', '=', Number(id)).executeTakeFirstOrThrow();
      expect(row.status).toBe('in_progress');
      expect(Date.parse(row.lease_expires_at!)).toBeLessThanOrEqual(Date.now());
    } finally {
      await store.close();
    }
    const next = await start('30s');
    await waitUntil(async () => (await graphql(next.url, 'query($id: ID!) { deployment(id: $id) { status } }', { id })).deployment.status === 'FAILED', POLL);
    const { deployment } = await graphql(next.url, 'query($id: ID!) { deployment(id: $id) { status errorMessage } }', { id });
    expect(deployment.errorMessage).toMatch(/^interrupted: /);
    expect(await next.stop('SIGTERM')).toBe(0);
  });
});
