import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { BASIC_CONFIG, createTestApp, type TestApp, testConfig } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';
import { countRows } from '../webhooks/support.js';

/*
 * The Host and Origin checks over real HTTP and WebSocket: what a DNS-rebinding page (a foreign
 * Host) and a page on another origin (a foreign Origin) can no longer do, and what the CLI,
 * same-origin pages and listed hosts and origins still can.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

const LISTED_ORIGIN = 'https://ci.example.com';
const FOREIGN_ORIGIN = 'http://127.0.0.1:1';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
/** Would queue a deployment: nothing refused may do so. */
const DEPLOY = `mutation { deploy(fraise: "my_api", environment: "staging", commit: "${COMMIT}") { success deployment { id } } }`;
// Answered, not refused: the dry run itself fails (no Coolify answers at its endpoint), which is not what these tests are about.
const DRY_RUN = 'mutation { deploy(fraise: "my_api", environment: "staging", dryRun: true) { dryRun } }';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

/** A request with exactly these headers (fetch would not let us set Host). */
function send(port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const postGraphQL = (port: number, query: string, headers: Record<string, string> = {}) =>
  send(port, '/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });

/** The status a WebSocket upgrade is answered with (101 when it opens). */
function upgradeStatus(port: number, headers: Record<string, string>): Promise<number> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws', { headers });
  return new Promise<number>((resolve, reject) => {
    socket.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode!);
      res.resume();
    });
    socket.on('open', () => resolve(101));
    socket.on('error', reject);
  }).finally(() => socket.terminate());
}

describe('an open API (no tokens)', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    const yaml = `fraisier:\n  allowed_hosts: [fraisier.test, .lan.test]\n  allowed_origins: ["${LISTED_ORIGIN}"]\n${BASIC_CONFIG}`;
    t = await createTestApp(sqlite, { config: testConfig(yaml), scheduler: false });
    ({ port } = await t.app.start({ port: 0 }));
  });
  afterAll(() => t.dispose());

  it('answers to loopback names and fraisier.allowed_hosts, not to a foreign Host: not GraphQL (query or mutation), the dashboard, readiness, metrics, webhooks or WebSockets', async () => {
    const host = { host: `evil.example:${port}` };
    const query = await postGraphQL(port, '{ fraises { name } }', host);
    expect(query.status).toBe(421);
    expect(query.json()).toEqual({
      errors: [
        {
          message: `this server does not answer to the host "evil.example": it answers to loopback names (localhost, 127.0.0.1, [::1]) and to fraisier.allowed_hosts; if "evil.example" is this server's name, add it there (or to FRAISIER_ALLOWED_HOSTS)`,
          extensions: { code: 'MISDIRECTED_REQUEST' },
        },
      ],
    });
    expect((await postGraphQL(port, DEPLOY, host)).status).toBe(421);
    const page = await send(port, '/', { headers: host });
    expect(page.status).toBe(421);
    expect(page.json()).toMatchObject({ code: 'MISDIRECTED_REQUEST', error: expect.stringContaining('fraisier.allowed_hosts') });
    expect(page.text).not.toContain('<html');
    for (const path of ['/ready', '/metrics', '/js/main.js', `/graphql?query=${encodeURIComponent('{ fraises { name } }')}`]) {
      expect((await send(port, path, { headers: host })).status, path).toBe(421);
    }
    const webhook = await send(port, '/webhook/github', { method: 'POST', headers: { ...host, 'x-github-event': 'ping', 'content-type': 'application/json' }, body: '{}' });
    expect(webhook.status).toBe(421);
    expect(webhook.json()).toMatchObject({ accepted: false, code: 'MISDIRECTED_REQUEST' });
    expect(await upgradeStatus(port, host)).toBe(421);
    // A listed suffix does not stretch to look-alikes.
    for (const name of ['notfraisier.test', 'fraisier.test.evil.example', 'lan.test.evil.example', 'evil-lan.test']) {
      expect((await postGraphQL(port, '{ __typename }', { host: `${name}:${port}` })).status, name).toBe(421);
    }
    expect(await countRows(t.app, 'tb_deployment')).toBe(0);
    expect(await countRows(t.app, 'tb_webhook_event')).toBe(0);

    // /health answers any Host: probes name the server as they please, and it tells nothing.
    const health = await send(port, '/health', { headers: host });
    expect(health.status).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });

    // Loopback names and fraisier.allowed_hosts are answered.
    for (const name of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST.:${port}`, `dashboard.localhost:${port}`, `127.1.2.3:${port}`, `[::1]:${port}`, `fraisier.test:${port}`, 'fraisier.test', `lan.test:${port}`, `box.lan.test:${port}`]) {
      const answer = await postGraphQL(port, '{ fraises { name } }', { host: name });
      expect(answer.status, name).toBe(200);
      expect(answer.json().data.fraises, name).toHaveLength(2);
    }
    const mutation = await postGraphQL(port, DRY_RUN, { host: `fraisier.test:${port}` });
    expect(mutation.json()).toEqual({ data: { deploy: { dryRun: true } } });
    expect((await send(port, '/', { headers: { host: `localhost:${port}` } })).status).toBe(200);
    expect(await upgradeStatus(port, { host: `localhost:${port}` })).toBe(101);
  });

  it('refuses a JSON mutation from a foreign Origin, and queues nothing', async () => {
    const refused = await postGraphQL(port, DEPLOY, { origin: FOREIGN_ORIGIN });
    expect(refused.status).toBe(403);
    expect(refused.json()).toEqual({
      errors: [
        {
          message: `cross-origin request refused: the origin "${FOREIGN_ORIGIN}" is not this server's and is not listed in fraisier.allowed_origins (or FRAISIER_ALLOWED_ORIGINS)`,
          extensions: { code: 'FORBIDDEN' },
        },
      ],
    });
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    expect(refused.headers['access-control-allow-credentials']).toBeUndefined();
    // Whatever it is dressed as: another port of this host, the page's own name with another port, "null", a form.
    for (const origin of [`http://127.0.0.1:${port + 1}`, `http://localhost:${port + 1}`, 'https://127.0.0.1', 'null', `http://evil.example:${port}`]) {
      expect((await postGraphQL(port, DEPLOY, { origin })).status, origin).toBe(403);
    }
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/graphql-response+json']) {
      const response = await send(port, '/graphql', { method: 'POST', headers: { origin: FOREIGN_ORIGIN, 'content-type': contentType, 'x-graphql-yoga-csrf': '1' }, body: JSON.stringify({ query: DEPLOY }) });
      expect(response.status, contentType).toBe(403);
    }
    expect(await countRows(t.app, 'tb_deployment')).toBe(0);
  });

  it('refuses queries, subscriptions over SSE and requests marked cross-site from a foreign page', async () => {
    const get = await send(port, `/graphql?query=${encodeURIComponent('{ fraises { name } }')}`, { headers: { origin: FOREIGN_ORIGIN, accept: 'application/json' } });
    expect(get.status).toBe(403);
    const sse = await send(port, '/graphql', {
      method: 'POST',
      headers: { origin: FOREIGN_ORIGIN, accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'subscription { deploymentStarted { id } }' }),
    });
    expect(sse.status).toBe(403);
    expect(sse.headers['content-type']).toMatch(/^application\/json/);
    // No Origin, but the browser says a foreign site asked (an <img>, a no-cors fetch).
    const marked = await send(port, `/graphql?query=${encodeURIComponent('{ fraises { name } }')}`, { headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' } });
    expect(marked.status).toBe(403);
    expect(marked.json().errors[0].message).toMatch(/Sec-Fetch-Site: cross-site/);
    // A link followed from another site still opens GraphiQL.
    const link = await send(port, '/graphql', { headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', accept: 'text/html' } });
    expect(link.status).toBe(200);
    expect(link.text).toMatch(/graphiql/i);
  });

  it('refuses a WebSocket and a webhook from a foreign Origin; a provider sends none and is heard', async () => {
    expect(await upgradeStatus(port, { origin: FOREIGN_ORIGIN })).toBe(403);
    const foreign = await send(port, '/webhook/github', { method: 'POST', headers: { origin: FOREIGN_ORIGIN, 'x-github-event': 'ping', 'content-type': 'application/json' }, body: '{}' });
    expect(foreign.status).toBe(403);
    expect(foreign.json()).toMatchObject({ accepted: false, code: 'FORBIDDEN', message: expect.stringContaining(FOREIGN_ORIGIN) });
    expect(await countRows(t.app, 'tb_webhook_event')).toBe(0);
    // Without Origin the webhook route answers as before (here: no secret configured).
    const provider = await send(port, '/webhook/github', { method: 'POST', headers: { 'x-github-event': 'ping', 'content-type': 'application/json' }, body: '{}' });
    expect(provider.status).toBe(401);
  });

  it('lets this server\'s own pages and the CLI through, with no CORS headers', async () => {
    const own = await postGraphQL(port, DRY_RUN, { origin: `http://127.0.0.1:${port}` });
    expect(own.json()).toEqual({ data: { deploy: { dryRun: true } } });
    expect(own.headers['access-control-allow-origin']).toBeUndefined();
    const byName = await postGraphQL(port, '{ __typename }', { origin: `http://localhost:${port}`, host: `localhost:${port}` });
    expect(byName.status).toBe(200);
    expect(await upgradeStatus(port, { origin: `http://127.0.0.1:${port}` })).toBe(101);
    const cli = await postGraphQL(port, '{ fraises { name } }');
    expect(cli.json().data.fraises).toHaveLength(2);
  });

  it('grants CORS to a listed origin, for exactly that origin, and to no other', async () => {
    const preflight = (origin: string) =>
      send(port, '/graphql', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
      });
    const granted = await preflight(LISTED_ORIGIN);
    expect(granted.status).toBe(204);
    expect(granted.headers['access-control-allow-origin']).toBe(LISTED_ORIGIN);
    expect(granted.headers['access-control-allow-methods']).toBe('GET, POST');
    expect(granted.headers['access-control-allow-headers']).toBe('content-type, authorization');
    const listed = await postGraphQL(port, DRY_RUN, { origin: LISTED_ORIGIN });
    expect(listed.json()).toEqual({ data: { deploy: { dryRun: true } } });
    expect(listed.headers['access-control-allow-origin']).toBe(LISTED_ORIGIN);
    expect(listed.headers['access-control-allow-credentials']).toBe('true');
    expect(await upgradeStatus(port, { origin: LISTED_ORIGIN })).toBe(101);

    const denied = await preflight(FOREIGN_ORIGIN);
    expect(denied.status).toBe(403);
    expect(denied.headers['access-control-allow-origin']).toBeUndefined();
    expect(denied.headers['access-control-allow-credentials']).toBeUndefined();
  });
});

describe('an API with tokens', () => {
  const TOKEN = 'trust-read-token-0123456789';
  const tokens = `  tokens:\n    - { name: viewer, token: ${TOKEN}, scopes: [read] }\n`;
  const bearer = { authorization: `Bearer ${TOKEN}` };

  it('answers to any Host while fraisier.allowed_hosts is empty (a rebinding page has no token to send)', async () => {
    const t = await createTestApp(sqlite, { config: testConfig(`fraisier:\n${tokens}${BASIC_CONFIG}`), scheduler: false });
    try {
      const { port } = await t.app.start({ port: 0 });
      const named = await postGraphQL(port, '{ fraises { name } }', { host: 'fraisier.example.com', ...bearer });
      expect(named.json().data.fraises).toHaveLength(2);
      expect((await postGraphQL(port, '{ fraises { name } }', { host: 'fraisier.example.com' })).status).toBe(401);
      // The Origin check holds with tokens too: a page that has a token still cannot call from elsewhere.
      expect((await postGraphQL(port, '{ fraises { name } }', { origin: FOREIGN_ORIGIN, ...bearer })).status).toBe(403);
    } finally {
      await t.dispose();
    }
  });

  it('answers only to loopback names and the listed hosts once fraisier.allowed_hosts is set', async () => {
    const t = await createTestApp(sqlite, { config: testConfig(`fraisier:\n${tokens}  allowed_hosts: [fraisier.example.com]\n${BASIC_CONFIG}`), scheduler: false });
    try {
      const { port } = await t.app.start({ port: 0 });
      expect((await postGraphQL(port, '{ fraises { name } }', { host: 'fraisier.example.com', ...bearer })).status).toBe(200);
      expect((await postGraphQL(port, '{ fraises { name } }', { host: `127.0.0.1:${port}`, ...bearer })).status).toBe(200);
      const other = await postGraphQL(port, '{ fraises { name } }', { host: 'other.example.com', ...bearer });
      expect(other.status).toBe(421);
      expect(other.json().errors[0].message).toMatch(/"other.example.com".*fraisier\.allowed_hosts/);
    } finally {
      await t.dispose();
    }
  });
});
