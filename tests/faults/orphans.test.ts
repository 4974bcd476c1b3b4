import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../../src/store/store.js';
import { startServer, type ServerProcess } from '../setup/cli.js';
import { waitUntil } from '../setup/deployments.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';

/*
 * kill -9 of the server while a step's command runs. The command and the child it started die
 * with the server (their supervisor sees the server's end of its socket close). And when even
 * that could not happen (here: the command's whole process group is frozen with SIGSTOP before
 * the kill), the next start terminates the group recorded for the interrupted deployment before
 * anything else runs on the target: the next step never finds the old one still there.
 */

const STEP = resolve('tests/fixtures/exclusive-step.mjs');
const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
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

/** Running or stopped; not gone and not a zombie (this machine's init may be slow to reap). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The process group of `pid`, from /proc. */
function groupOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

/** The live processes of group `pgid`, from /proc. */
function groupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(fields[2]) === pgid && fields[0] !== 'Z';
      } catch {
        return false;
      }
    })
    .map(Number);
}

const readPid = (file: string) => Number(readFileSync(file, 'utf8'));

describe('kill -9 of the server while a command runs', () => {
  let database: TestDatabase;
  let store: Store;
  let dir: string;
  const servers: ServerProcess[] = [];
  const leftovers: number[] = [];

  beforeAll(async () => {
    database = await sqlite.createDatabase();
    store = createStore(database.url, { poolSize: 1 });
    dir = mkdtempSync(join(tmpdir(), 'fraisier-orphans-'));
    writeFileSync(
      join(dir, 'fraises.yaml'),
      `
fraisier:
  lease: { ttl: 2s, heartbeat: 0.5s }
  poll_interval: 0.5s
fraises:
  site:
    type: custom
    environments:
      prod:
        app_path: ${dir}/app
        steps:
          - { name: exclusive, command: [node, ${STEP}, "${dir}", --child] }
`,
    );
  });
  afterAll(async () => {
    for (const server of servers) if (server.child.exitCode === null) await server.stop('SIGKILL');
    for (const pid of leftovers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone, as it should be
      }
    }
    await store?.close();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const start = async () => {
    const server = await startServer(['--config', join(dir, 'fraises.yaml'), '--database', database.url], { cwd: dir });
    servers.push(server);
    return server;
  };
  const deploy = async (server: ServerProcess) =>
    (await graphql(server, 'mutation { deploy(fraise: "site", environment: "prod", force: true) { deployment { id } } }')).deploy.deployment.id as string;
  /** The step's pid and its child's, once both run. */
  const running = async (id: string) => {
    const [step, child] = [join(dir, `step-${id}.pid`), join(dir, `child-${id}.pid`)];
    await waitUntil(() => existsSync(step) && existsSync(child) && readFileSync(child, 'utf8') !== '', { ...POLL, what: `deployment ${id}'s step` });
    const pids = [readPid(step), readPid(child)];
    leftovers.push(...pids);
    return pids;
  };
  const stepLines = () => readFileSync(join(dir, 'steps.log'), 'utf8').trim().split('\n').map((line) => line.split(' '));

  it('takes the command and its child down with it', { timeout: 60_000 }, async () => {
    const server = await start();
    const id = await deploy(server);
    const pids = await running(id);
    expect(pids.every(alive)).toBe(true);
    expect(await server.stop('SIGKILL')).toBe(null);
    await waitUntil(() => pids.every((pid) => !alive(pid)), { ...POLL, what: `processes ${pids.join(', ')} to end` });
  });

  it('terminates, at the next start, what an interrupted deployment left running, before the next step runs', { timeout: 60_000 }, async () => {
    const server = await start();
    const id = await deploy(server);
    const pids = await running(id);
    const group = groupOf(pids[0]!);
    await waitUntil(async () => {
      const row = await store.db.selectFrom('tb_deployment').select('process_group').where('id', '=', Number(id)).executeTakeFirst();
      return row?.process_group === group;
    }, { ...POLL, what: `process group ${group} to be recorded` });
    // Frozen, the group cannot stop itself when the server dies: only the next start can end it.
    const members = groupMembers(group);
    expect(members).toEqual(expect.arrayContaining(pids));
    leftovers.push(...members);
    for (const pid of members) process.kill(pid, 'SIGSTOP');
    expect(await server.stop('SIGKILL')).toBe(null);
    expect(pids.every(alive)).toBe(true);

    const restarted = await start();
    const next = await deploy(restarted);
    writeFileSync(join(dir, `gate-${next}`), '');
    const done = await waitUntil(async () => {
      const { deployment } = await graphql(restarted, 'query($id: ID!) { deployment(id: $id) { status } }', { id: next });
      return ['SUCCESS', 'FAILED', 'CANCELLED'].includes(deployment.status) ? deployment : undefined;
    }, POLL);
    expect(done.status).toBe('SUCCESS');
    const { deployment: interrupted } = await graphql(restarted, 'query($id: ID!) { deployment(id: $id) { status errorMessage } }', { id });
    expect(interrupted).toMatchObject({ status: 'FAILED', errorMessage: expect.stringMatching(/^interrupted: /) });
    expect(members.filter(alive)).toEqual([]);

    const lines = stepLines();
    expect(lines.filter(([what]) => what!.startsWith('overlap')), JSON.stringify(lines)).toEqual([]);
    // The old step was told to stop (SIGTERM, then SIGCONT) before the next one started.
    const order = lines.filter(([, , deployment]) => deployment === id || deployment === next).map(([what, , deployment]) => `${what} ${deployment}`);
    expect(order).toEqual([`start ${id}`, `term ${id}`, `start ${next}`, `end ${next}`]);
    expect(await restarted.stop('SIGTERM')).toBe(0);
  });
});
