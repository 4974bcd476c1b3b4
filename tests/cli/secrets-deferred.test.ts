import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { createStore } from '../../src/store/store.js';
import { runCli } from '../setup/cli.js';
import { waitForEnd } from '../setup/deployments.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { CLI_TIMEOUT, lines, workdir, type Workdir } from './support.js';

/*
 * The read commands need the store, not the secrets: with every secret's ${VAR} unset they
 * read the history a process with the secrets recorded. The commands that use secrets (serve,
 * deploy, rollback, status --check, deployment --follow, logs) still refuse, naming each key and
 * its variable.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

/** The secrets, as the process that deployed had them; the CLI runs below have none. */
const SECRETS = {
  FDS_CI_TOKEN: 'ci-token-0123456789abcdef',
  FDS_GITHUB_SECRET: 'github-secret-456',
  FDS_COOLIFY_KEY: 'coolify-key-789',
  FDS_API_TOKEN: 'api-token-abc',
  FDS_DB_PASSWORD: 'db-password-123',
};

function config(dir: string, databaseUrl: string): string {
  return `
fraisier:
  database: ${databaseUrl}
  tokens:
    - { name: ci, token: "\${FDS_CI_TOKEN}", scopes: [deploy] }
git:
  github:
    webhook_secret: \${FDS_GITHUB_SECRET}
fraises:
  shop:
    type: custom
    environments:
      production:
        branch: main
        app_path: ${join(dir, 'shop')}
        database: { database_url: "postgres://shop:\${FDS_DB_PASSWORD}@db.example.com/shop" }
        env: { API_TOKEN: "\${FDS_API_TOKEN}" }
        steps:
          - { name: work, command: [node, -e, "if (!process.env.API_TOKEN) process.exit(1)"] }
      staging:
        target: { provider: coolify, endpoint: https://coolify.example.com, api_key: "\${FDS_COOLIFY_KEY}" }
`;
}

describe('read commands without the secrets', { timeout: CLI_TIMEOUT }, () => {
  let dir: Workdir;
  let database: TestDatabase;
  let file: string;
  let id: string;
  /** None of the FDS_* variables is set in this process's environment, which the CLI inherits. */
  const run = (args: string[]) => runCli([...args, '--config', file]);

  beforeAll(async () => {
    for (const name of Object.keys(SECRETS)) expect(process.env[name], name).toBeUndefined();
    dir = workdir();
    database = await sqlite.createDatabase();
    const yaml = config(dir.path, database.url);
    file = dir.file('fraises.yaml', yaml);
    const app = createApp({ config: parseConfig(yaml, { env: SECRETS }).config, logger: pino({ level: 'silent' }), store: createStore(database.url) });
    try {
      await app.startWorkers();
      const result = await app.services.deployments.deploy({ kind: 'open' }, { fraise: 'shop', environment: 'production', commit: 'aaaaaaa1', force: true, trigger: 'manual' });
      id = (await waitForEnd(app, result.deployment!.id)).id;
    } finally {
      await app.stop();
    }
  });
  afterAll(async () => {
    await database?.drop();
    dir?.dispose();
  });

  it('history, status, status-all, deployment, stats, webhooks, list and config show read as usual', async () => {
    const [history, status, all, deployment, stats, webhooks, list, show, db] = await Promise.all([
      run(['history', '--json']),
      run(['status', 'shop', 'production']),
      run(['status-all', '-o', 'yaml']),
      run(['deployment', id]),
      run(['stats', '--json']),
      run(['webhooks', '--json']),
      run(['list', '--flat']),
      run(['config', 'show', '--json']),
      run(['db', 'status', '--json']),
    ]);
    for (const result of [history, status, all, deployment, stats, webhooks, list, show, db]) expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(history.stdout)).toEqual([expect.objectContaining({ id, status: 'SUCCESS', newVersion: 'aaaaaaa1' })]);
    expect(lines(status.stdout)[0]).toBe('shop/production: HEALTHY');
    expect(parseYaml(all.stdout)).toEqual([expect.objectContaining({ environment: 'production', currentVersion: 'aaaaaaa1' }), expect.objectContaining({ environment: 'staging' })]);
    expect(lines(deployment.stdout)[0]).toBe(`Deployment ${id}: SUCCESS`);
    expect(JSON.parse(stats.stdout)).toMatchObject({ total: 1, successful: 1 });
    expect(JSON.parse(webhooks.stdout)).toEqual([]);
    expect(lines(list.stdout)).toHaveLength(3);
    expect(JSON.parse(db.stdout)).toMatchObject({ pending: 0 });

    // config show says which secrets it could not load, and where.
    const shown = JSON.parse(show.stdout);
    expect(shown.unavailableSecrets).toEqual([
      { path: 'fraisier.tokens[0].token', variable: 'FDS_CI_TOKEN', line: 5 },
      { path: 'git.github.webhook_secret', variable: 'FDS_GITHUB_SECRET', line: 8 },
      { path: 'fraises.shop.environments.production.database.database_url', variable: 'FDS_DB_PASSWORD', line: 16 },
      { path: 'fraises.shop.environments.production.env.API_TOKEN', variable: 'FDS_API_TOKEN', line: 17 },
      { path: 'fraises.shop.environments.staging.target.api_key', variable: 'FDS_COOLIFY_KEY', line: 21 },
    ]);
    expect(shown.git.providers.github.secrets).toEqual([]);
    expect(shown.settings.tokens).toEqual([{ name: 'ci', sha256: null, scopes: ['deploy', 'read'] }]);
  });

  it('serve, deploy, rollback, status --check, deployment --follow and logs still need them', async () => {
    const [serve, deploy, rollback, check, follow, logs] = await Promise.all([
      run(['serve', '--port', '0']),
      run(['deploy', 'shop', 'production', '--commit', 'bbbbbbb2']),
      run(['rollback', 'shop', 'production']),
      run(['status', 'shop', 'staging', '--check']),
      run(['deployment', id, '--follow']),
      run(['logs', 'shop', 'production']),
    ]);
    for (const result of [serve, deploy, rollback, check, follow, logs]) {
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      const said = result.stderr.split('\n');
      expect(said[0]).toMatch(new RegExp(`^fraisier: ${file}: \\d+ problems$`));
      const unset = said.filter((line) => line.includes(' is not set ')).map((line) => line.replace(/ \(write .*/, ''));
      expect(unset).toEqual([
        'fraisier.tokens[0].token: environment variable FDS_CI_TOKEN is not set',
        'git.github.webhook_secret: environment variable FDS_GITHUB_SECRET is not set',
        'fraises.shop.environments.production.database.database_url: environment variable FDS_DB_PASSWORD is not set',
        'fraises.shop.environments.production.env.API_TOKEN: environment variable FDS_API_TOKEN is not set',
        'fraises.shop.environments.staging.target.api_key: environment variable FDS_COOLIFY_KEY is not set',
      ]);
    }
    // Nothing was queued by the refused ones.
    expect(JSON.parse((await run(['history', '--json'])).stdout).map((d: { id: string }) => d.id)).toEqual([id]);
  });

  it('with the secrets set, the same commands take them', async () => {
    const result = await runCli(['config', 'show', '--json', '--config', file], { env: SECRETS });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const shown = JSON.parse(result.stdout);
    expect(shown.unavailableSecrets).toBeUndefined();
    expect(shown.git.providers.github.secrets).toEqual(['********']);
    for (const secret of Object.values(SECRETS)) expect(result.stdout).not.toContain(secret);
  });
});
