import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parse as parseYaml } from 'yaml';
import { BASIC_CONFIG, createTestApp, type TestApp, testConfig } from '../setup/app.js';
import { runCli, startServer } from '../setup/cli.js';
import { DIALECTS } from '../setup/dialects.js';

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

describe('the HTTP server', () => {
  let t: TestApp;
  let url: string;
  beforeAll(async () => {
    t = await createTestApp(sqlite);
    ({ url } = await t.app.start({ port: 0 }));
  });
  afterAll(() => t.dispose());

  it('answers /health and /ready', async () => {
    expect(await (await fetch(`${url}/health`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('serves GraphiQL at /graphql and answers queries there', async () => {
    const page = await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/graphiql/i);
    const query = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ fraises { name environments { name status target { provider } } } }' }),
    });
    expect((await query.json()).data.fraises.map((f: { name: string }) => f.name)).toEqual(['my_api', 'my_worker']);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
  });

  it('serves Prometheus metrics', async () => {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('fraisier_webhook_deliveries_total');
    expect(metrics).toContain('fraisier_process_resident_memory_bytes');
  });

  it('answers GraphQL over graphql-ws on the same port', async () => {
    const client = createClient({ url: url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const result = await new Promise((resolve, reject) => {
        client.subscribe({ query: '{ fraises { name } }' }, { next: resolve, error: reject, complete: () => {} });
      });
      expect(result).toEqual({ data: { fraises: [{ name: 'my_api' }, { name: 'my_worker' }] } });
    } finally {
      await client.dispose();
    }
  });

  it('refuses a WebSocket from a foreign Origin', async () => {
    const socket = new WebSocket(url.replace('http', 'ws') + '/graphql', 'graphql-transport-ws', { headers: { origin: 'https://evil.example' } });
    const status = await new Promise<number | undefined>((resolve) => {
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode));
      socket.on('open', () => resolve(101));
      socket.on('error', () => resolve(undefined));
    });
    expect(status).toBe(403);
    socket.terminate();
  });
});

describe('graphql-ws with tokens', () => {
  let t: TestApp;
  let wsUrl: string;
  beforeAll(async () => {
    t = await createTestApp(sqlite, {
      config: testConfig(`fraisier:\n  tokens:\n    - { name: viewer, token: ws-read-token-0123456789, scopes: [read] }\n${BASIC_CONFIG}`),
    });
    const { url } = await t.app.start({ port: 0 });
    wsUrl = url.replace('http', 'ws') + '/graphql';
  });
  afterAll(() => t.dispose());

  const closeCode = (connectionParams?: Record<string, unknown>) =>
    new Promise<number>((resolve) => {
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: () => {},
        ...(connectionParams ? { connectionParams } : {}),
        on: { closed: (event) => resolve((event as { code: number }).code) },
      });
      client.subscribe({ query: '{ __typename }' }, { next: () => {}, error: () => {}, complete: () => void client.dispose() });
    });

  it('needs the token in connection_init', async () => {
    expect(await closeCode()).toBe(4403);
    expect(await closeCode({ authorization: 'Bearer wrong-token-0000000000' })).toBe(4403);
    expect(await closeCode({ authorization: 'Bearer ws-read-token-0123456789' })).toBe(1000);
  });
});

describe('fraisier serve', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fraisier-serve-'));

  it('starts on SQLite with no other setup, then stops cleanly on SIGTERM', async () => {
    writeFileSync(join(dir, 'fraises.yaml'), BASIC_CONFIG);
    const server = await startServer([], { cwd: dir });
    const answer = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ fraises { name } }' }),
    });
    expect((await answer.json()).data.fraises).toHaveLength(2);
    expect(server.output()).toMatch(/webhook deliveries refused for lack of a secret: github, gitlab, gitea, bitbucket/);
    expect(await server.stop('SIGTERM')).toBe(0);
    expect(server.output()).toMatch(/"msg":"stopped"/);
  });

  it('npm start, with no fraises.yaml, serves fraises.example.yaml on SQLite', async () => {
    // What `npm start` runs, minus the fixed port, in a directory with no configuration.
    const start: string = JSON.parse(readFileSync('package.json', 'utf8')).scripts.start;
    const [node, bin, command, ...args] = start.split(' ');
    expect([node, bin, command]).toEqual(['node', 'bin/fraisier.js', 'serve']);
    const empty = mkdtempSync(join(tmpdir(), 'fraisier-start-'));
    const server = await startServer(args, { cwd: empty, env: { FRAISIER_DATABASE_URL: '' } });
    try {
      const answer = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ fraises { name type environments { name status target { provider } } } }' }),
      });
      const { data } = await answer.json();
      const example = parseYaml(readFileSync('fraises.example.yaml', 'utf8'));
      expect(data.fraises.map((f: { name: string }) => f.name).sort()).toEqual(Object.keys(example.fraises).sort());
      expect(data.fraises.every((f: { environments: unknown[] }) => f.environments.length > 0)).toBe(true);
      expect(server.output()).toMatch(/webhook deliveries refused for lack of a secret/);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('listens on 127.0.0.1 only while no token is configured', async () => {
    writeFileSync(join(dir, 'fraises.yaml'), BASIC_CONFIG);
    const server = await startServer(['--host', '0.0.0.0'], { cwd: dir });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
      expect(server.output()).toMatch(/no API tokens configured: listening on 127.0.0.1 only/);
    } finally {
      await server.stop();
    }
  });

  it('refuses a broken configuration: exit code 2, one line per problem', async () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'fraises:\n  a:\n    type: apii\n    environments:\n      p:\n        helth_check: {}\n');
    const result = await runCli(['serve', '--config', broken]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      `fraisier: ${broken}: 2 problems`,
      'fraises.a.type: expected one of "api", "worker", "etl", "scheduled", "backup", "custom", got "apii"; did you mean "api"? (line 3)',
      'fraises.a.environments.p.helth_check: unknown key "helth_check"; did you mean "health_check"? (line 6)',
    ]);
  });

  it('says so when the store cannot be reached: exit code 3', async () => {
    writeFileSync(join(dir, 'fraises.yaml'), BASIC_CONFIG);
    const result = await runCli(['serve', '--database', 'postgres://nobody:pw@127.0.0.1:1/none'], { cwd: dir });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^fraisier: cannot reach the store postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none/);
    expect(result.stderr).not.toContain(':pw@');
  });
});
