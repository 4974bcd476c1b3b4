import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { createStore } from '../../src/store/store.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { deliver, githubHeaders, githubMasterPush, giteaHeaders, fixture } from '../webhooks/support.js';

/*
 * The Python Fraisier's webhook secrets from the environment: FRAISIER_WEBHOOK_SECRET, and
 * FRAISIER_WEBHOOK_SECRET_<NAME>. For a provider the file gives no secret: its own variable
 * (_GITHUB) alone, else the generic one and the other suffixed ones (the Python Fraisier's
 * per-environment ones); the file's secret, when it gives one, wins.
 */

const YAML = (github = '') => `
fraisier:
  webhook: { rate_limit: false }
git:
  provider: github
${github}fraises:
  hello:
    type: api
    git: { repository: Codertocat/Hello-World }
    environments:
      production:
        branch: master
        target: { provider: kubernetes, namespace: prod }
`;

const secretsOf = (env: Record<string, string>, github = '') => {
  const loaded = parseConfig(YAML(github), { env });
  return { github: loaded.config.git.providers.github!.secrets, gitea: loaded.config.git.providers.gitea!.secrets, from: loaded.secretsFromEnv };
};

describe('webhook secrets from the environment', () => {
  it('the provider\'s own variable wins over the generic one', () => {
    expect(secretsOf({ FRAISIER_WEBHOOK_SECRET: 'generic', FRAISIER_WEBHOOK_SECRET_GITHUB: 'github-own' })).toEqual({
      github: ['github-own'],
      gitea: ['generic'],
      from: { github: ['FRAISIER_WEBHOOK_SECRET_GITHUB'], gitlab: ['FRAISIER_WEBHOOK_SECRET'], gitea: ['FRAISIER_WEBHOOK_SECRET'], bitbucket: ['FRAISIER_WEBHOOK_SECRET'] },
    });
  });

  it('the generic one and the per-environment ones are all accepted, each once, in the order of their names', () => {
    const env = { FRAISIER_WEBHOOK_SECRET_STAGING: 'staging', FRAISIER_WEBHOOK_SECRET: 'generic', FRAISIER_WEBHOOK_SECRET_DEV: 'generic', FRAISIER_WEBHOOK_SECRET_GITEA: 'gitea-own' };
    expect(secretsOf(env)).toMatchObject({ github: ['generic', 'staging'], gitea: ['gitea-own'] });
    expect(secretsOf(env).from.github).toEqual(['FRAISIER_WEBHOOK_SECRET', 'FRAISIER_WEBHOOK_SECRET_STAGING']);
  });

  it('the file\'s secret wins; empty variables count as unset', () => {
    expect(secretsOf({ FRAISIER_WEBHOOK_SECRET_GITHUB: 'from-env', FRAISIER_WEBHOOK_SECRET: 'generic' }, '  github:\n    webhook_secret: from-file\n')).toMatchObject({
      github: ['from-file'],
      gitea: ['generic'],
    });
    expect(secretsOf({ FRAISIER_WEBHOOK_SECRET_GITHUB: '', FRAISIER_WEBHOOK_SECRET: '  ' })).toEqual({ github: [], gitea: [], from: {} });
    // No warning about a provider without a secret when the environment gives one.
    const { warnings } = parseConfig(YAML(), { env: { FRAISIER_WEBHOOK_SECRET_GITHUB: 'x' } });
    expect(warnings.filter((w) => w.code === 'webhook-secret-missing').map((w) => w.path)).toEqual(['git.gitlab', 'git.gitea', 'git.bitbucket']);
  });
});

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

describe('a delivery signed with a secret from the environment', () => {
  let database: TestDatabase;
  let app: ReturnType<typeof createApp>;
  let url: string;
  beforeAll(async () => {
    database = await sqlite.createDatabase();
    const config = parseConfig(YAML(), { env: { FRAISIER_WEBHOOK_SECRET_GITHUB: 'github-secret-from-env', FRAISIER_WEBHOOK_SECRET: 'generic-secret-from-env' } }).config;
    app = createApp({ config, store: createStore(database.url), logger: pino({ level: 'silent' }) });
    await app.init();
    url = (await app.start({ port: 0 })).url;
  });
  afterAll(async () => {
    await app?.stop();
    await database?.drop();
  });

  it('is verified: GitHub with its own variable, Gitea with the generic one; anything else is refused', async () => {
    const body = githubMasterPush();
    const accepted = await deliver(url, '/webhook', body, await githubHeaders(body, { secret: 'github-secret-from-env', delivery: 'env-1' }));
    expect(accepted.status).toBe(202);
    expect(accepted.json.deployments).toMatchObject([{ fraise: 'hello', environment: 'production', status: 'PENDING' }]);
    // The generic secret is not GitHub's once GitHub has its own.
    const generic = await deliver(url, '/webhook', body, await githubHeaders(body, { secret: 'generic-secret-from-env', delivery: 'env-2' }));
    expect(generic.status).toBe(401);
    const giteaBody = fixture('gitea/push.json');
    const gitea = await deliver(url, '/webhook', giteaBody, await giteaHeaders(giteaBody, { secret: 'generic-secret-from-env' }));
    // Verified, then read: a push to a branch nothing maps.
    expect(gitea.status).toBe(200);
    expect(gitea.json).toMatchObject({ accepted: true, event: { outcome: 'ignored', reason: 'no fraise maps branch "develop"' } });
    const unsigned = await deliver(url, '/webhook', giteaBody, await giteaHeaders(giteaBody, { secret: 'not-configured' }));
    expect(unsigned.status).toBe(401);
  });
});
