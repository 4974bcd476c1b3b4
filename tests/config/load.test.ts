import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { authenticate } from '../../src/auth/principal.js';
import { parseConfig, loadConfigFile } from '../../src/config/load.js';
import { ConfigError, formatProblem } from '../../src/config/problems.js';
import { maskSecrets } from '../../src/config/secrets.js';
import { github } from '../../src/webhooks/github.js';
import { configErrors } from '../setup/config-errors.js';

const errorsOf = configErrors;

describe('the PRD dialect', () => {
  it('loads fraises.example.yaml with no environment variable set', () => {
    const { config, warnings } = loadConfigFile('fraises.example.yaml', { env: {} });
    expect(config.fraises.map((f) => f.name)).toEqual([
      'hello',
      'hello_compose',
      'fraisier',
      'my_api',
      'my_worker',
      'internal_api',
      'homelab_site',
      'docs',
      'etl',
      'reports',
      'backups',
    ]);
    expect(new Set(config.fraises.map((f) => f.type))).toEqual(new Set(['api', 'worker', 'custom', 'etl', 'scheduled', 'backup']));
    const myApi = config.fraises.find((f) => f.name === 'my_api')!;
    expect(myApi.environments.map((e) => [e.name, e.target.provider])).toEqual([
      ['development', 'docker-compose'],
      ['staging', 'coolify'],
      ['production-eu', 'scaleway'],
      ['production-us', 'aws'],
    ]);
    expect(config.routes).toContainEqual({ branch: 'main', fraise: 'my_api', environment: 'production-eu' });
    // The four providers have no secret, and say so.
    expect(warnings.filter((w) => w.code === 'webhook-secret-missing').map((w) => w.path)).toEqual([
      'git.github',
      'git.gitlab',
      'git.gitea',
      'git.bitbucket',
    ]);
    // Fraise-level settings flow down to environments.
    const staging = myApi.environments.find((e) => e.name === 'staging')!;
    expect(staging.healthCheck).toMatchObject({ path: '/health', timeoutSeconds: 30 });
    expect(staging.database).toMatchObject({ name: 'myapi_db_staging', strategy: 'migrate', type: 'postgresql' });
    expect(staging.install?.command).toEqual(['npm', 'ci']);
  });

  it('reads secrets from the environment and accepts a list of them', () => {
    const { config } = parseConfig(
      `git:\n  github:\n    webhook_secret: ["\${OLD}", "\${NEW}"]\nfraises:\n  a:\n    type: api\n    environments:\n      prod: { branch: main, app_path: /srv/a }\n`,
      { env: { OLD: 'old-secret', NEW: 'new-secret' } },
    );
    expect(config.git.providers.github?.secrets).toEqual(['old-secret', 'new-secret']);
  });
});

describe('the Python Fraisier dialect', () => {
  const env = { SHOP_WEBHOOK_SECRET: 's3cret-from-env' };

  it('loads unchanged and lists its fraises and environments', () => {
    const { config, unused, warnings } = loadConfigFile('tests/fixtures/python-fraisier.yaml', { env });
    expect(config.name).toBe('shop');
    expect(config.fraises.map((f) => [f.name, f.type, f.environments.map((e) => e.name)])).toEqual([
      ['shop_api', 'api', ['staging', 'production']],
      ['shop_etl', 'etl', ['production']],
      ['shop_jobs', 'scheduled', ['production']],
    ]);
    expect(config.git.providers.github?.secrets).toEqual(['s3cret-from-env']);
    expect(config.routes).toEqual([
      { branch: 'staging', fraise: 'shop_api', environment: 'staging' },
      { branch: 'main', fraise: 'shop_api', environment: 'production' },
      { branch: 'main', fraise: 'shop_etl', environment: 'production' },
    ]);
    expect(warnings.filter((w) => w.severity === 'error')).toEqual([]);
    expect(unused).toEqual(
      expect.arrayContaining([
        'deployment.lock_dir',
        // The old mapping by channel name was never read; the lists by event are (notifications.test.ts).
        'notifications.slack',
        'hooks',
        'ship',
        'environments.production.notifications.slack_channel',
      ]),
    );
  });

  it('turns environment-level keys into a bare-metal target on the environment\'s server', () => {
    const { config } = loadConfigFile('tests/fixtures/python-fraisier.yaml', { env });
    const api = config.fraises[0]!;
    const [staging, production] = api.environments;
    expect(staging!.target).toEqual({
      provider: 'bare-metal',
      config: { host: 'staging.shop.internal', user: 'deployer', app_path: '/var/www/api.shop.staging', systemd_service: 'api.shop.staging.service', layout: 'in_place' },
    });
    expect(production!.target.config).toMatchObject({ host: 'prod-1.shop.internal', user: 'deployer', port: 2222, identity_file: '/etc/fraisier/id_ed25519' });
    expect(staging).toMatchObject({
      label: 'api.shop.staging',
      branch: 'staging',
      repository: '/var/git/shop-api.git',
      appPath: '/var/www/api.shop.staging',
      timeoutSeconds: 300,
      lockTimeoutSeconds: 60,
      install: { command: ['uv', 'sync', '--frozen'], user: 'shop' },
      healthCheck: { url: 'https://api.shop.staging/health', timeoutSeconds: 30, retries: 3 },
      database: { name: 'shop_staging', strategy: 'restore_migrate', confitureConfig: 'db/environments/staging.yaml' },
    });
    expect(production!.repository).toBe('git@github.com:shop/api.git');
    // service:, nginx: and scaffold: are read by fraisier scaffold (tests/scaffold).
    expect(staging!.service).toMatchObject({ type: 'exec', user: 'shop', port: 8001, workers: 2 });
    expect(staging!.nginx).toEqual({ serverName: 'api.shop.staging', corsOrigins: [], restrictedPaths: [] });
    expect(config.scaffold).toMatchObject({ deployUser: 'deployer', outputDir: 'deploy/' });
    const jobs = config.fraises[2]!.environments[0]!.jobs;
    expect(jobs.map((j) => [j.name, j.schedule, j.dependsOn])).toEqual([
      ['daily_stats', '0 2 * * *', []],
      ['weekly_report', '0 8 * * 1', ['daily_stats']],
    ]);
  });

  it('refuses a missing !envvar, naming the key and line', () => {
    expect(errorsOf(readFileSync('tests/fixtures/python-fraisier.yaml', 'utf8'))).toEqual([
      'git.github.webhook_secret: environment variable SHOP_WEBHOOK_SECRET is not set (line 8)',
    ]);
  });
});

describe('environment variables', () => {
  const base = (value: string) => `fraisier:\n  database: ${value}\nfraises:\n  a:\n    type: worker\n    environments:\n      prod: { app_path: /srv/a }\n`;

  it('expands ${VAR}, ${VAR:-default}, ${VAR-default} and keeps $${ literal', () => {
    const load = (value: string, env: Record<string, string> = {}) => parseConfig(base(value), { env }).config.settings.databaseUrl;
    expect(load('${DB}', { DB: 'postgres://x' })).toBe('postgres://x');
    expect(load('${DB:-sqlite:./a.db}')).toBe('sqlite:./a.db');
    expect(load('${DB:-sqlite:./a.db}', { DB: '' })).toBe('sqlite:./a.db');
    expect(load('"sqlite:./${DB-b}.db"', { DB: '' })).toBe('sqlite:./.db');
    expect(load('"sqlite:./$${HOME}.db"')).toBe('sqlite:./${HOME}.db');
    expect(load('"sqlite:./${NAME}-${N:-1}.db"', { NAME: 'x' })).toBe('sqlite:./x-1.db');
  });

  it('gives a lone plain reference the type of its value', () => {
    const { config } = parseConfig(
      `fraisier:\n  listen:\n    port: \${PORT:-9090}\nfraises:\n  a:\n    type: api\n    environments:\n      p:\n        app_path: /a\n        health_check:\n          url: http://x\n          retries: \${R}\n`,
      { env: { R: '7' } },
    );
    expect(config.settings.port).toBe(9090);
    expect(config.fraises[0]!.environments[0]!.healthCheck?.retries).toBe(7);
  });

  it('names every unset variable with its key path and line', () => {
    expect(errorsOf(`git:\n  github:\n    webhook_secret: \${NOPE}\nfraises:\n  a:\n    type: api\n    environments:\n      p:\n        app_path: \${ALSO_NOPE}\n`)).toEqual([
      'git.github.webhook_secret: environment variable NOPE is not set (write ${NOPE:-default} to give a default) (line 3)',
      'fraises.a.environments.p.app_path: environment variable ALSO_NOPE is not set (write ${ALSO_NOPE:-default} to give a default) (line 9)',
    ]);
  });

  it('lets FRAISIER_* variables override fraisier: settings', () => {
    const { config } = parseConfig(base('sqlite:./file.db'), {
      env: { FRAISIER_DATABASE_URL: 'postgres://env/db', FRAISIER_PORT: '9999', FRAISIER_HOST: '0.0.0.0', FRAISIER_CONCURRENCY: '8', FRAISIER_PAYLOAD_LIMIT: '2MiB' },
    });
    expect(config.settings).toMatchObject({ databaseUrl: 'postgres://env/db', port: 9999, host: '0.0.0.0', concurrency: { global: 8 } });
    expect(config.settings.webhook.payloadLimitBytes).toBe(2 * 1024 * 1024);
  });

  it('takes an empty FRAISIER_DATABASE_URL as unset, and names where an unsupported store URL came from', () => {
    expect(parseConfig(base('sqlite:./file.db'), { env: { FRAISIER_DATABASE_URL: '' } }).config.settings.databaseUrl).toBe('sqlite:./file.db');
    expect(errorsOf(base('sqlite:./file.db'), { FRAISIER_DATABASE_URL: 'redis://cache' })).toEqual([
      'FRAISIER_DATABASE_URL: database URL "redis://cache" is not supported: use sqlite:./fraisier.db, postgres://... or mysql://...',
    ]);
    expect(errorsOf(base('mongodb://u:hunter2@db/x'))).toEqual([
      'fraisier.database: database URL "mongodb://u:***@db/x" is not supported: use sqlite:./fraisier.db, postgres://... or mysql://... (line 2)',
    ]);
  });
});

describe('a broken configuration', () => {
  it('reports every problem at once, each with its key path and line', () => {
    const text = [
      'fraises:', //                                  1
      '  my_api:', //                                 2
      '    type: apii', //                            3
      '    helth_check:', //                          4
      '      url: http://x', //                       5
      '    environments:', //                         6
      '      production:', //                         7
      '        health_check:', //                     8
      '          timeout: soon', //                   9
      '        install:', //                          10
      '          command: npm ci', //                 11
      'secret: 1', //                                 12
    ].join('\n');
    expect(errorsOf(text)).toEqual([
      'fraises.my_api.type: expected one of "api", "worker", "etl", "scheduled", "backup", "custom", got "apii"; did you mean "api"? (line 3)',
      'fraises.my_api.environments.production.health_check.timeout: expected seconds (a number) or a duration such as "30s", "5m", "1h" (line 9)',
      'fraises.my_api.environments.production.install.command: expected a command as a list of arguments, e.g. [npm, ci] (line 11)',
      'fraises.my_api.helth_check: unknown key "helth_check"; did you mean "health_check"? (line 4)',
      expect.stringMatching(/^secret: unknown key "secret" \(known keys here: name, fraisier, git, fraises, .*\) \(line 12\)$/),
    ]);
  });

  it('checks references, targets, schedules and settings once the shape is right', () => {
    const text = `fraisier:
  listen: nope
  tokens:
    - { name: ci, scopes: [deploy] }
fraises:
  my_api:
    type: api
    environments:
      production:
        target: { provider: bare-metal, hst: x, app_path: /srv }
      staging:
        target: { provider: coolify, endpont: https://x }
        jobs:
          a: { schedule: "99 * * * *", depends_on: nightly }
      preview:
        target: { provider: coolify, endpoint: coolify.example.com }
branch_mapping:
  main: { fraise: my_apii, environment: production }
  dev:
    - { fraise_name: my_api, environment: prod }
`;
    expect(errorsOf(text)).toEqual([
      'fraisier.listen: expected "host:port", got "nope" (line 2)',
      'fraisier.tokens[0]: give exactly one of "token" and "sha256" (line 4)',
      'fraises.my_api.environments.production.target.hst: unknown key "hst"; did you mean "host"? (line 10)',
      'fraises.my_api.environments.staging.target.endpoint: required (expected string) (line 12)',
      'fraises.my_api.environments.staging.target.endpont: unknown key "endpont"; did you mean "endpoint"? (line 12)',
      'fraises.my_api.environments.staging.jobs.a.schedule: invalid cron schedule "99 * * * *": CronPattern: Invalid value for minute: 99 (line 14)',
      'fraises.my_api.environments.staging.jobs.a.depends_on: depends on unknown job "nightly" (line 14)',
      'fraises.my_api.environments.preview.target.endpoint: expected the address of the Coolify instance, http:// or https:// (e.g. https://coolify.example.com) (line 16)',
      'branch_mapping.main.fraise: unknown fraise "my_apii"; did you mean "my_api"? (line 18)',
      'branch_mapping.dev[0].environment: fraise "my_api" has no environment "prod" (it has production, staging, preview) (line 20)',
    ]);
  });

  it('warns about an unknown target provider with a suggestion, without refusing it', () => {
    const { warnings } = parseConfig(`fraises:\n  a:\n    type: api\n    environments:\n      p:\n        target: { provider: kubernets }\n`, { env: {} });
    expect(warnings.map(formatProblem)).toContain(
      'fraises.a.environments.p.target.provider: unknown target provider "kubernets"; did you mean "kubernetes"? (line 6)',
    );
  });

  it('reports YAML syntax errors with their line', () => {
    expect(errorsOf('fraises:\n  a:\n    type: api\n   bad indent: x\n')).toEqual(['(yaml): All mapping items must start at the same column (line 4)']);
    expect(errorsOf('fraises:\n  a: { url: ${URL} }\n')[0]).toMatch(/quote values that use \$\{\.\.\.\}\) \(line 2\)$/);
  });
});

describe('secrets', () => {
  it('are masked wherever the configuration is shown', () => {
    const { config } = loadConfigFile('tests/fixtures/python-fraisier.yaml', { env: { SHOP_WEBHOOK_SECRET: 's3cret-from-env' } });
    const shown = JSON.stringify(maskSecrets(config));
    expect(shown).not.toContain('s3cret-from-env');
    expect(shown).not.toContain('hunter2-db-password');
    expect(shown).toContain('postgresql://shop:********@db.shop.internal/shop_production');
  });
});

describe('secrets deferred to read', () => {
  const withSecrets = (database = 'sqlite:./store.db') => `fraisier:
  database: ${database}
  tokens:
    - { name: ci, token: "\${CI_TOKEN}", scopes: [deploy] }
git:
  github:
    webhook_secret: \${GITHUB_SECRET}
  gitlab:
    secret_token: ["\${GITLAB_OLD}", gitlab-secret-123, "\${GITLAB_NEW}"]
fraises:
  api:
    type: api
    environments:
      staging:
        target: { provider: coolify, endpoint: https://coolify.example.com, api_key: "\${COOLIFY_KEY}" }
      production:
        git_repo: https://deploy:\${GIT_PASSWORD}@git.example.com/api.git
        app_path: /srv/api
        database: { database_url: "postgres://app:\${DB_PASSWORD}@db/app" }
        env: { API_TOKEN: "!\${API_TOKEN}", PORT: "8000" }
`;

  it('required (the default): every unset secret is an error naming its key and variable', () => {
    const errors = errorsOf(withSecrets());
    expect(errors).toContain('git.github.webhook_secret: environment variable GITHUB_SECRET is not set (write ${GITHUB_SECRET:-default} to give a default) (line 7)');
    expect(errors.filter((e) => / is not set /.test(e)).map((e) => e.split(':')[0])).toEqual([
      'fraisier.tokens[0].token',
      'git.github.webhook_secret',
      'git.gitlab.secret_token[0]',
      'git.gitlab.secret_token[2]',
      'fraises.api.environments.staging.target.api_key',
      'fraises.api.environments.production.git_repo',
      'fraises.api.environments.production.database.database_url',
      'fraises.api.environments.production.env.API_TOKEN',
    ]);
  });

  it('deferred: unset secrets are left out and listed, never read as an empty string', () => {
    const { config, warnings } = parseConfig(withSecrets(), { env: {}, secrets: 'deferred' });
    expect(config.unavailableSecrets).toEqual([
      { path: 'fraisier.tokens[0].token', variable: 'CI_TOKEN', line: 4 },
      { path: 'git.github.webhook_secret', variable: 'GITHUB_SECRET', line: 7 },
      { path: 'git.gitlab.secret_token[0]', variable: 'GITLAB_OLD', line: 9 },
      { path: 'git.gitlab.secret_token[2]', variable: 'GITLAB_NEW', line: 9 },
      { path: 'fraises.api.environments.staging.target.api_key', variable: 'COOLIFY_KEY', line: 15 },
      { path: 'fraises.api.environments.production.git_repo', variable: 'GIT_PASSWORD', line: 17 },
      { path: 'fraises.api.environments.production.database.database_url', variable: 'DB_PASSWORD', line: 19 },
      { path: 'fraises.api.environments.production.env.API_TOKEN', variable: 'API_TOKEN', line: 20 },
    ]);
    expect(config.git.providers.github!.secrets).toEqual([]);
    expect(config.git.providers.gitlab!.secrets).toEqual(['gitlab-secret-123']);
    // Its secret exists, it is only not loaded: not "a provider without a secret".
    expect(warnings.map((w) => w.path)).not.toContain('git.github');
    const [staging, production] = config.fraises[0]!.environments;
    expect(staging!.target.config).toEqual({ endpoint: 'https://coolify.example.com' });
    expect(production!.repository).toBeUndefined();
    expect(production!.database?.url).toBeUndefined();
    expect(production!.env).toEqual({ PORT: '8000' });
    expect(JSON.stringify(config)).not.toMatch(/postgres:\/\/app:@|deploy:@/);

    // The token stays (without it the API would be open) and matches nothing, not even "".
    expect(config.settings.tokens).toEqual([expect.objectContaining({ name: 'ci', sha256: null })]);
    for (const presented of ['', 'x', 'ci-token-0123456789abcdef']) {
      expect(() => authenticate(`Bearer ${presented}`, config.settings.tokens)).toThrow(/token|Authorization/);
    }
    // A delivery signed with an empty secret verifies against nothing.
    const body = Buffer.from('{}');
    const emptySigned = `sha256=${createHmac('sha256', '').update(body).digest('hex')}`;
    expect(github.verify({ body, headers: {}, signature: emptySigned, secrets: config.git.providers.github!.secrets, now: new Date() })).toMatchObject({ valid: false });
  });

  it('deferred: the store URL and keys that are not secrets still need their variables', () => {
    const errors = (text: string, env: Record<string, string> = {}) => {
      try {
        parseConfig(text, { env, secrets: 'deferred' });
        return [];
      } catch (error) {
        return (error as ConfigError).problems.filter((p) => p.severity === 'error').map(formatProblem);
      }
    };
    expect(errors(withSecrets('postgres://fraisier:${STORE_PASSWORD}@db/fraisier'))).toEqual([
      'fraisier.database: environment variable STORE_PASSWORD is not set (write ${STORE_PASSWORD:-default} to give a default) (line 2)',
    ]);
    expect(errors(withSecrets('postgres://fraisier:${STORE_PASSWORD}@db/fraisier'), { STORE_PASSWORD: 'pw' })).toEqual([]);
    const notSecret = `fraises:\n  a:\n    type: api\n    environments:\n      p:\n        git_repo: https://\${GIT_USER}:\${GIT_PASSWORD}@git.example.com/a.git\n        app_path: \${APP_PATH}\n`;
    expect(errors(notSecret)).toEqual([
      'fraises.a.environments.p.git_repo: environment variable GIT_USER is not set (write ${GIT_USER:-default} to give a default) (line 6)',
      'fraises.a.environments.p.app_path: environment variable APP_PATH is not set (write ${APP_PATH:-default} to give a default) (line 7)',
    ]);
  });

  it('deferred: a !envvar secret too; set variables load as usual', () => {
    const python = parseConfig(readFileSync('tests/fixtures/python-fraisier.yaml', 'utf8'), { env: {}, secrets: 'deferred' }).config;
    expect(python.unavailableSecrets).toEqual([{ path: 'git.github.webhook_secret', variable: 'SHOP_WEBHOOK_SECRET', line: 8 }]);
    expect(python.git.providers.github!.secrets).toEqual([]);
    const env = { CI_TOKEN: 'ci-token-0123456789abcdef', GITHUB_SECRET: 'gh', GITLAB_OLD: 'a', GITLAB_NEW: 'b', COOLIFY_KEY: 'k', GIT_PASSWORD: 'g', DB_PASSWORD: 'd', API_TOKEN: 't' };
    const full = parseConfig(withSecrets(), { env, secrets: 'deferred' }).config;
    expect(full.unavailableSecrets).toBeUndefined();
    expect(full.git.providers.gitlab!.secrets).toEqual(['a', 'gitlab-secret-123', 'b']);
    expect(authenticate('Bearer ci-token-0123456789abcdef', full.settings.tokens)).toMatchObject({ kind: 'token' });
  });
});
