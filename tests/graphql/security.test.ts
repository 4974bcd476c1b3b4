import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/config/settings.js';
import { BASIC_CONFIG, createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

const READ = 'read-token-0123456789';
const DEPLOY = 'deploy-token-0123456789';
const WORKER_ONLY = 'worker-only-token-0123456789';
const HASHED = 'hashed-token-0123456789';

const withTokens = `
fraisier:
  tokens:
    - { name: viewer, token: ${READ}, scopes: [read] }
    - { name: ci, token: ${DEPLOY}, scopes: [deploy] }
    - { name: worker-team, token: ${WORKER_ONLY}, scopes: [deploy], fraises: [my_worker] }
    - { name: hashed, sha256: ${sha256(HASHED)}, scopes: [admin] }
${BASIC_CONFIG}`;

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('API tokens', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(sqlite, { config: testConfig(withTokens) });
  });
  afterAll(() => t.dispose());

  it('refuse a request without a token, or with a wrong one', async () => {
    const none = await gql(t.app, '{ fraises { name } }');
    expect(none.status).toBe(401);
    expect(none.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const wrong = await gql(t.app, '{ fraises { name } }', {}, bearer('not-a-token-at-all-000'));
    expect(wrong.status).toBe(401);
    expect(wrong.errors?.[0]).toMatchObject({ message: 'invalid token', extensions: { code: 'UNAUTHENTICATED' } });
    const malformed = await gql(t.app, '{ fraises { name } }', {}, { authorization: 'Token abc' });
    expect(malformed.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('let a read token query, not deploy', async () => {
    const query = await gql(t.app, '{ fraises { name } }', {}, bearer(READ));
    expect(query.data.fraises).toHaveLength(2);
    const mutation = await gql(t.app, 'mutation { deploy(fraise: "my_api", environment: "staging", dryRun: true) { success } }', {}, bearer(READ));
    expect(mutation.status).toBe(403);
    expect(mutation.errors?.[0]).toMatchObject({ message: 'token "viewer" lacks the deploy scope', extensions: { code: 'FORBIDDEN' } });
  });

  it('let a deploy token (and a token given by its sha256) deploy', async () => {
    for (const token of [DEPLOY, HASHED]) {
      const result = await gql(t.app, 'mutation { deploy(fraise: "my_api", environment: "staging", dryRun: true) { success dryRun plan } }', {}, bearer(token));
      expect(result.errors).toBeUndefined();
      // Answered (the dry run itself fails: no Coolify answers at its endpoint).
      expect(result.data.deploy).toMatchObject({ success: false, dryRun: true });
    }
  });

  it('keep a token limited to some fraises within them', async () => {
    const fraises = await gql(t.app, '{ fraises { name } }', {}, bearer(WORKER_ONLY));
    expect(fraises.data.fraises).toEqual([{ name: 'my_worker' }]);
    const status = await gql(t.app, '{ status(fraise: "my_api", environment: "production") }', {}, bearer(WORKER_ONLY));
    expect(status.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const deploy = await gql(t.app, 'mutation { deploy(fraise: "my_api", environment: "staging", dryRun: true) { success } }', {}, bearer(WORKER_ONLY));
    expect(deploy.errors?.[0]).toMatchObject({ message: 'token "worker-team" lacks the deploy scope on my_api/staging', extensions: { code: 'FORBIDDEN' } });
    const own = await gql(t.app, 'mutation { deploy(fraise: "my_worker", environment: "production", dryRun: true) { dryRun } }', {}, bearer(WORKER_ONLY));
    expect(own.errors).toBeUndefined();
    expect(own.data.deploy.dryRun).toBe(true);
  });
});

describe('query limits and request hygiene', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(sqlite);
  });
  afterAll(() => t.dispose());

  const post = (body: string, headers: Record<string, string>) =>
    t.app.yoga.fetch('http://localhost/graphql', { method: 'POST', headers, body });

  it('refuses a query 50 levels deep', async () => {
    // The schema's own types have no cycle; introspection's do (ofType { ofType { ... } }).
    const nest = (depth: number) => `{ __type(name: "Query") { fields { type ${'{ ofType '.repeat(depth)}{ name }${' }'.repeat(depth)} } } }`;
    expect((await gql(t.app, nest(3))).errors).toBeUndefined();
    const result = await gql(t.app, nest(50));
    expect(result.data).toBeUndefined();
    expect(result.errors?.[0]?.message).toMatch(/depth|cost/i);
  });

  it('refuses 10,000 aliases and 100,000 tokens', async () => {
    const aliases = `{ ${Array.from({ length: 10_000 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    const many = await gql(t.app, aliases);
    expect(many.errors?.[0]?.message).toMatch(/aliases|token/i);
    const tokens = `{ fraises { ${'name '.repeat(100_000)}} }`;
    const huge = await gql(t.app, tokens);
    expect(huge.errors?.[0]?.message).toMatch(/token/i);
  });

  it('refuses a batch of operations', async () => {
    const response = await post(JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]), { 'content-type': 'application/json' });
    expect(response.status).toBe(400);
  });

  it('refuses a mutation over GET', async () => {
    const response = await t.app.yoga.fetch(
      `http://localhost/graphql?query=${encodeURIComponent('mutation { deploy(fraise: "my_api", environment: "staging", dryRun: true) { success } }')}`,
      { headers: { 'x-graphql-yoga-csrf': '1', accept: 'application/json' } },
    );
    expect(response.status).toBe(405);
  });

  it('refuses a form or text POST without the CSRF header', async () => {
    for (const contentType of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x']) {
      const response = await post('query={__typename}', { 'content-type': contentType });
      expect(response.status, contentType).toBeGreaterThanOrEqual(400);
      expect(response.status, contentType).toBeLessThan(500);
    }
  });

  it('hides unexpected errors behind a generic message', async () => {
    await sql`DROP VIEW v_deployment_history`.execute(t.app.store.db);
    const result = await gql(t.app, '{ deployments { id } }');
    expect(result.errors?.[0]).toMatchObject({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(result)).not.toMatch(/v_deployment_history|SQLITE|no such table/i);
  });
});

describe('CORS', () => {
  const LISTED = 'https://ci.example.com';
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(sqlite, { config: testConfig(`fraisier:\n  allowed_origins: ["${LISTED}"]\n${BASIC_CONFIG}`) });
  });
  afterAll(() => t.dispose());

  const ask = (origin: string, method = 'POST') =>
    t.app.yoga.fetch('http://localhost/graphql', {
      method,
      headers:
        method === 'OPTIONS'
          ? { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }
          : { origin, 'content-type': 'application/json' },
      ...(method === 'POST' ? { body: JSON.stringify({ query: '{ __typename }' }) } : {}),
    });

  it('grants a listed origin, for exactly that origin, and never echoes another back', async () => {
    for (const method of ['OPTIONS', 'POST']) {
      const response = await ask(LISTED, method);
      expect(response.headers.get('access-control-allow-origin'), method).toBe(LISTED);
      expect(response.headers.get('access-control-allow-credentials'), method).toBe('true');
    }
    for (const origin of ['https://evil.example', 'https://ci.example.com.evil.example', 'null']) {
      for (const method of ['OPTIONS', 'POST']) {
        const response = await ask(origin, method);
        expect(response.headers.get('access-control-allow-origin'), `${method} ${origin}`).toBeNull();
        expect(response.headers.get('access-control-allow-credentials'), `${method} ${origin}`).toBeNull();
      }
    }
  });
});

describe('introspection', () => {
  const introspect = (t: TestApp) => gql(t.app, '{ __schema { queryType { name } } }');

  it('is on outside production', async () => {
    const t = await createTestApp(sqlite, { production: false });
    try {
      expect((await introspect(t)).data.__schema.queryType.name).toBe('Query');
    } finally {
      await t.dispose();
    }
  });

  it('is off in production unless configured', async () => {
    const off = await createTestApp(sqlite, { production: true });
    try {
      expect((await introspect(off)).errors?.[0]?.message).toMatch(/introspection/i);
    } finally {
      await off.dispose();
    }
    const on = await createTestApp(sqlite, { production: true, config: testConfig(`fraisier:\n  introspection: true\n${BASIC_CONFIG}`) });
    try {
      expect((await introspect(on)).data.__schema.queryType.name).toBe('Query');
    } finally {
      await on.dispose();
    }
  });
});
