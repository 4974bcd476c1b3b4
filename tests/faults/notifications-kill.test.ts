import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/store.js';
import { runCli, type ServerProcess, startServer } from '../setup/cli.js';
import { waitUntil } from '../setup/deployments.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { type Receiver, startReceiver } from '../setup/receiver.js';

/*
 * kill -9 of a real `fraisier serve` while its notifications are being sent (the endpoint holds
 * every request without answering): nothing is lost. After a restart, once the dead process's
 * leases have run out, each notification is delivered, and accepted exactly once.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
const POLL = { timeoutMs: 60_000, intervalMs: 50 };

async function graphql(url: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return ((await response.json()) as { data: any }).data;
}

describe('kill -9 with notifications pending', () => {
  let dir: string;
  let database: TestDatabase;
  let receiver: Receiver;
  const servers: ServerProcess[] = [];
  /** webhook-id → how many times it was accepted (answered 2xx). */
  const accepted = new Map<string, number>();
  let accepting = false;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fraisier-notify-kill-'));
    database = await sqlite.createDatabase();
    receiver = await startReceiver((request) => {
      if (!accepting) return 'hang';
      const id = String(request.headers['webhook-id']);
      accepted.set(id, (accepted.get(id) ?? 0) + 1);
      return { status: 204 };
    });
    writeFileSync(
      join(dir, 'fraises.yaml'),
      `
fraisier:
  lease: { ttl: 2s, heartbeat: 0.5s }
  poll_interval: 0.5s
notifications:
  retry_initial: 0.05s
  retry_max: 0.2s
  on_failure: [{ type: webhook, url: "${receiver.url}/hooks/deploys", secret: a-signing-secret }]
fraises:
  broken:
    type: custom
    environments:
      local:
        app_path: ${dir}/app
        steps:
          - { name: fail, command: [node, -e, "process.exit(3)"] }
`,
    );
  });
  afterAll(async () => {
    for (const server of servers) if (server.child.exitCode === null) await server.stop('SIGKILL');
    await receiver?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async () => {
    const server = await startServer(['--config', join(dir, 'fraises.yaml'), '--database', database.url], { cwd: dir });
    servers.push(server);
    return server;
  };

  it('delivers each notification exactly once after a restart', async () => {
    const first = await start();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { deploy } = await graphql(first.url, 'mutation { deploy(fraise: "broken", environment: "local", force: true) { deployment { id } } }');
      const id = deploy.deployment.id as string;
      ids.push(id);
      await waitUntil(async () => (await graphql(first.url, 'query($id: ID!) { deployment(id: $id) { status } }', { id })).deployment.status === 'FAILED', POLL);
    }
    const eventIds = ids.map((id) => `d${id}.failure`);
    // Every notification was claimed and sent, and its request is held unanswered.
    await waitUntil(() => eventIds.every((e) => receiver.received.some((r) => r.headers['webhook-id'] === e)), { ...POLL, what: 'a request for each notification' });
    await first.stop('SIGKILL');

    const store = createStore(database.url);
    try {
      const rows = await store.db.selectFrom('tb_notification').select(['event_id', 'status']).execute();
      expect(rows.map((r) => r.status)).toEqual(['pending', 'pending', 'pending']);
    } finally {
      await store.close();
    }

    accepting = true;
    const second = await start();
    await waitUntil(async () => {
      const { notifications } = await graphql(second.url, '{ notifications { status } }');
      return notifications.length === 3 && notifications.every((n: { status: string }) => n.status === 'DELIVERED');
    }, { ...POLL, what: 'every notification delivered' });
    expect(Object.fromEntries(accepted)).toEqual(Object.fromEntries(eventIds.map((e) => [e, 1])));

    // The CLI shows each attempt, the last one delivered.
    const shown = await runCli(['notifications', '--deployment', ids[0]!, '--json', '--config', join(dir, 'fraises.yaml'), '--database', database.url], { cwd: dir });
    expect(shown.code).toBe(0);
    const [notification] = JSON.parse(shown.stdout);
    expect(notification).toMatchObject({ eventId: eventIds[0], event: 'FAILURE', status: 'DELIVERED', destination: { type: 'webhook', path: 'notifications.on_failure[0]' } });
    expect(notification.attempts.at(-1)).toMatchObject({ outcome: 'DELIVERED', statusCode: 204 });
    const table = await runCli(['notifications', '--deployment', ids[0]!, '--config', join(dir, 'fraises.yaml'), '--database', database.url], { cwd: dir });
    expect(table.stdout).toContain(`#${ids[0]}`);
    expect(table.stdout).toMatch(/DELIVERED {2}204 {2}\d+ ms/);
    expect(await second.stop('SIGTERM')).toBe(0);
  });
});
