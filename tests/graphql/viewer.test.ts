import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';

/* `viewer`: who the credentials name and what they allow, as the dashboard asks it. */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
const TOKENS = { reader: 'viewer-reader-token-0123', alice: 'viewer-alice-token-01234', root: 'viewer-root-token-012345' };

const YAML = `
fraisier:
  tokens:
    - { name: reader, token: ${TOKENS.reader}, scopes: [read] }
    - { name: alice, token: ${TOKENS.alice}, scopes: [approve], environments: [staging], groups: [release] }
    - { name: root, token: ${TOKENS.root}, scopes: [admin] }
fraises:
  api:
    type: api
    environments:
      staging: { branch: main, target: { provider: bare-metal, app_path: /srv/api } }
`;

describe('the viewer query', () => {
  let t: TestApp;
  let open: TestApp;
  beforeAll(async () => {
    t = await createTestApp(sqlite, { config: testConfig(YAML) });
    open = await createTestApp(sqlite);
  });
  afterAll(async () => {
    await t?.dispose();
    await open?.dispose();
  });

  const viewer = (app: TestApp, token?: string) =>
    gql(app.app, '{ viewer { name scopes fraises environments } }', {}, token ? { authorization: `Bearer ${token}` } : {});

  it('names the token, its scopes (implied ones included) and its limits', async () => {
    expect((await viewer(t, TOKENS.reader)).data.viewer).toEqual({ name: 'reader', scopes: ['read'], fraises: null, environments: null });
    const alice = (await viewer(t, TOKENS.alice)).data.viewer;
    expect(alice).toMatchObject({ name: 'alice', fraises: null, environments: ['staging'] });
    expect(alice.scopes).toContain('approve');
    expect(alice.scopes).not.toContain('deploy');
    const root = (await viewer(t, TOKENS.root)).data.viewer;
    expect(root.scopes).toEqual(expect.arrayContaining(['read', 'deploy', 'approve', 'admin']));
  });

  it('is refused without a token when tokens are configured, and says "local" on an open API', async () => {
    const anonymous = await viewer(t);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await viewer(open)).data.viewer).toEqual({ name: 'local', scopes: ['read', 'deploy', 'approve', 'admin'], fraises: null, environments: null });
  });
});
