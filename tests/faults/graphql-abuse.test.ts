import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/store.js';
import { createTestApp, type TestApp } from '../setup/app.js';
import { type ServerProcess, startServer } from '../setup/cli.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { recordLongDeployment } from '../setup/long-deployment.js';
import { workdir, type Workdir } from '../cli/support.js';

/*
 * Hostile GraphQL is refused before any resolver runs: every service method is wrapped with a
 * counter, and each attack must leave every counter at zero.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

describe('GraphQL abuse', () => {
  let t: TestApp;
  let calls = 0;
  beforeAll(async () => {
    t = await createTestApp(sqlite);
    const services = t.app.services as unknown as Record<string, Record<string, unknown>>;
    for (const service of Object.values(services)) {
      let proto = Object.getPrototypeOf(service) as object | null;
      const names = new Set<string>(Object.keys(service));
      while (proto && proto !== Object.prototype) {
        for (const name of Object.getOwnPropertyNames(proto)) names.add(name);
        proto = Object.getPrototypeOf(proto) as object | null;
      }
      for (const name of names) {
        const original = service[name];
        if (name === 'constructor' || typeof original !== 'function') continue;
        service[name] = (...args: unknown[]) => {
          calls++;
          return (original as (...a: unknown[]) => unknown).apply(service, args);
        };
      }
    }
  });
  afterAll(() => t.dispose());

  const post = (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    t.app.yoga.fetch('http://localhost/graphql', { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('counts a call when a resolver does run (the spies work)', async () => {
    calls = 0;
    const response = await post({ query: '{ fraises { name } }' });
    expect(response.status).toBe(200);
    expect(calls).toBeGreaterThan(0);
  });

  const attacks: [string, () => Response | Promise<Response>][] = [
    ['a query 50 levels deep', () => post({ query: `{ fraises { name } __type(name: "Query") { fields { type ${'{ ofType '.repeat(50)}{ name }${' }'.repeat(50)} } } }` })],
    ['10,000 aliases', () => post({ query: `{ ${Array.from({ length: 10_000 }, (_, i) => `a${i}: fraises { name }`).join(' ')} }` })],
    ['100,000 tokens', () => post({ query: `{ fraises { ${'name '.repeat(100_000)}} }` })],
    ['a batch of 1,000 operations', () => post(Array.from({ length: 1_000 }, () => ({ query: '{ fraises { name } }' })))],
    [
      'a mutation over GET',
      () =>
        t.app.yoga.fetch(`http://localhost/graphql?query=${encodeURIComponent('mutation { deploy(fraise: "my_api", environment: "staging") { success } }')}`, {
          headers: { accept: 'application/json', 'x-graphql-yoga-csrf': '1' },
        }),
    ],
    ['a form POST without the CSRF header', () => post('query=%7B%20fraises%20%7B%20name%20%7D%20%7D', { 'content-type': 'application/x-www-form-urlencoded' })],
    ['a text/plain POST without the CSRF header', () => post(JSON.stringify({ query: '{ fraises { name } }' }), { 'content-type': 'text/plain' })],
  ];

  for (const [name, attack] of attacks) {
    it(`refuses ${name} before any resolver runs`, async () => {
      calls = 0;
      const response = await attack();
      const body = await response.text();
      expect(calls, body.slice(0, 200)).toBe(0);
      // Refused: a GraphQL error in a 200, or a 4xx (never a 5xx: that would be a crash).
      if (response.status === 200) expect(JSON.parse(body).errors?.length, body.slice(0, 200)).toBeGreaterThan(0);
      else expect(Math.floor(response.status / 100), `${response.status}: ${body.slice(0, 200)}`).toBe(4);
      expect(body).not.toContain('"fraises":[');
    });
  }
});

/*
 * Read amplification: fifteen aliases of a deployment's progress, over a build that logged
 * 4,000 long lines (7.6 MB), once answered 110 MB and grew the server to 2.3 GiB. Against a real
 * server process, with a read token: refused by the cost limit, the server's peak memory barely
 * moves, and the same progress is read page by page.
 */
describe('an alias bomb over a long deployment', () => {
  const READ = 'read-token-0123456789';
  const LINES = 4_000;
  let dir: Workdir;
  let database: TestDatabase;
  let server: ServerProcess;
  let id: string;

  /** The server's peak resident memory so far, in MiB (the kernel's high-water mark). */
  const peakMiB = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'))![1]) / 1024;
  const query = async (text: string) => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${READ}` },
      body: JSON.stringify({ query: text }),
    });
    return (await response.json()) as { data?: Record<string, { progress: { sequence: number }[] }>; errors?: { message: string; extensions?: { code?: string } }[] };
  };

  beforeAll(async () => {
    dir = workdir('fraisier-bomb-');
    database = await sqlite.createDatabase();
    const store = createStore(database.url);
    await store.migrate();
    id = await recordLongDeployment(store.db, { fraise: 'shop', environment: 'production', lines: LINES, messageLength: 1_900 });
    await store.close();
    const config = dir.file(
      'fraises.yaml',
      `fraisier:
  database: ${database.url}
  tokens:
    - { name: viewer, token: ${READ}, scopes: [read] }
fraises:
  shop:
    type: custom
    environments:
      production:
        app_path: ${dir.path}/shop
        steps:
          - { name: work, command: [node, -e, "0"] }
`,
    );
    server = await startServer(['--config', config]);
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
    dir?.dispose();
  });

  it("is refused by its cost, with the server's memory bounded, while pages read every line", { timeout: 120_000 }, async () => {
    // Warm up (schema, store, first query), then take the peak as the baseline.
    expect((await query(`{ deployment(id: "${id}") { id status } }`)).errors).toBeUndefined();
    const baseline = peakMiB();

    const bomb = `{ ${Array.from({ length: 15 }, (_, i) => `a${i}: deployment(id: "${id}") { progress { message } }`).join(' ')} }`;
    const answers = await Promise.all([query(bomb), query(bomb), query(bomb)]);
    const growth = peakMiB() - baseline;
    expect(growth, `peak RSS grew by ${growth.toFixed(0)} MiB`).toBeLessThan(200);
    for (const answer of answers) {
      expect(answer.data).toBeUndefined();
      expect(answer.errors?.[0]?.message).toMatch(/^query cost 30,015 is over the maximum of 10,000/);
      expect(answer.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    expect((await fetch(`${server.url}/health`)).status).toBe(200);

    // The whole history, page by page: exactly 1..4000.
    const seen: number[] = [];
    for (let after = 0; ; ) {
      const page = await query(`{ deployment(id: "${id}") { progress(after: ${after}, limit: 1000) { sequence message } } }`);
      expect(page.errors).toBeUndefined();
      const sequences = page.data!.deployment!.progress.map((e) => e.sequence);
      seen.push(...sequences);
      if (sequences.length < 1000) break;
      after = sequences.at(-1)!;
    }
    expect(seen).toEqual(Array.from({ length: LINES }, (_, i) => i + 1));
    const afterPages = peakMiB() - baseline;
    expect(afterPages, `peak RSS grew by ${afterPages.toFixed(0)} MiB`).toBeLessThan(200);
  });
});
