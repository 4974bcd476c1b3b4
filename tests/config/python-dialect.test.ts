import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../src/config/load.js';
import { formatProblem } from '../../src/config/problems.js';
import { configErrors } from '../setup/config-errors.js';

/*
 * The Python Fraisier's configurations, modelled on its two examples (the complete one and the
 * Django + Celery one), load unchanged: systemd's and the shell's own ${...} in service:, hooks
 * and commands are left as written and listed; what Fraisier reads itself still refuses an
 * unset ${VAR}, naming the key; keys loaded but not acted on are listed, with why.
 */

const FULL = 'tests/fixtures/python-fraisier-full.yaml';
const DJANGO = 'tests/fixtures/python-fraisier-django.yaml';
const SECRET = 'a-webhook-secret-of-32-characters!';

const errorsOf = configErrors;

describe('the Python Fraisier\'s examples', () => {
  it('the complete example loads, its systemd and shell variables left as written and listed', () => {
    const { config, warnings, leftAsWritten } = loadConfigFile(FULL, { env: { FRAISIER_WEBHOOK_SECRET: SECRET } });
    expect(warnings.filter((w) => w.severity === 'error')).toEqual([]);
    expect(config.fraises.map((f) => [f.name, f.type, f.environments.map((e) => e.name)])).toEqual([
      ['orchard_api', 'api', ['development', 'staging', 'production']],
      ['orchard_internal', 'api', ['production']],
      ['orchard_etl', 'etl', ['production']],
      ['orchard_backup', 'backup', ['production']],
    ]);
    expect(Object.values(config.git.providers).map((p) => p.secrets)).toEqual([[SECRET], [SECRET], [SECRET], [SECRET]]);
    expect(leftAsWritten).toEqual([
      { path: 'fraises.orchard_api.environments.production.service.exec_start_pre[0]', variable: 'CREDENTIALS_DIRECTORY', line: 116 },
      { path: 'fraises.orchard_api.environments.production.service.exec_start_pre[0]', variable: 'RUNTIME_DIRECTORY', line: 116 },
      { path: 'fraises.orchard_api.environments.production.service.environment.CACHE_DIR', variable: 'CACHE_DIRECTORY', line: 122 },
      { path: 'fraises.orchard_backup.environments.production.jobs.offsite.command[2]', variable: 'BACKUP_DIR', line: 175 },
    ]);
    // The command runs as written: its shell expands ${BACKUP_DIR} when the job runs.
    const offsite = config.fraises[3]!.environments[0]!.jobs.find((j) => j.name === 'offsite')!;
    expect(offsite.command).toEqual(['/bin/sh', '-c', 'rclone copy "${BACKUP_DIR}" remote:orchard']);
    // restore_migrate's restore: block is read: where the dumps are, which ones, how many jobs.
    expect(config.fraises[0]!.environments[1]!.database).toMatchObject({
      strategy: 'restore_migrate',
      restore: { backupDir: '/backup/production', pattern: 'orchard_*.dump', jobs: 2, maxAgeHours: 36 },
    });
  });

  it('the Django + Celery example loads with none of its hooks\' variables set', () => {
    const { config, warnings, leftAsWritten, unused } = loadConfigFile(DJANGO, { env: {} });
    expect(warnings.filter((w) => w.severity === 'error')).toEqual([]);
    expect(config.fraises.map((f) => f.name)).toEqual(['web', 'tasks']);
    expect(config.routes).toEqual([
      { branch: 'dev', fraise: 'web', environment: 'development' },
      { branch: 'main', fraise: 'web', environment: 'production' },
    ]);
    const hooks = 'fraises.web.environments.production.database.hooks';
    expect(leftAsWritten.map((u) => `${u.path.slice(hooks.length + 1)}: ${u.variable}`)).toEqual([
      'backup.database_url: DATABASE_URL',
      'audit.database_url: DATABASE_URL',
      'audit.signing_key: AUDIT_SIGNING_KEY',
      'slack.webhook_url: SLACK_WEBHOOK_URL',
      'email.smtp_username: SMTP_USER',
      'email.smtp_password: SMTP_PASSWORD',
    ]);
    expect(unused).toEqual([hooks]);
  });

  it('expands a variable that is set, even where an unset one would be left as written', () => {
    const { config, leftAsWritten } = loadConfigFile(FULL, { env: { FRAISIER_WEBHOOK_SECRET: SECRET, BACKUP_DIR: '/var/backups/orchard' } });
    const offsite = config.fraises[3]!.environments[0]!.jobs.find((j) => j.name === 'offsite')!;
    expect(offsite.command).toEqual(['/bin/sh', '-c', 'rclone copy "/var/backups/orchard" remote:orchard']);
    expect(leftAsWritten.map((u) => u.variable)).not.toContain('BACKUP_DIR');
  });
});

describe('an unset ${VAR} where Fraisier reads the value itself', () => {
  const file = (lines: string) => `
git:
  github:
    webhook_secret: \${GH_SECRET}
fraises:
  api:
    type: api
    environments:
      production:
        app_path: \${APP_ROOT}/api
        systemd_service: api.service
        install:
          command: [sh, -c, 'cp "\${CREDENTIALS_DIRECTORY}/env" .env']
        database:
          name: api
          database_url: postgres://api:\${DB_PASSWORD}@db/api
        health_check:
          url: \${HEALTH_URL}
        service:
          exec_start_pre: ['/bin/sh -c "test -r \${CREDENTIALS_DIRECTORY}/env"']
${lines}`;

  it('is an error naming the key (secrets, URLs, paths), while commands and service: keep theirs', () => {
    expect(errorsOf(file(''))).toEqual([
      'git.github.webhook_secret: environment variable GH_SECRET is not set (write ${GH_SECRET:-default} to give a default) (line 4)',
      'fraises.api.environments.production.app_path: environment variable APP_ROOT is not set (write ${APP_ROOT:-default} to give a default) (line 10)',
      'fraises.api.environments.production.database.database_url: environment variable DB_PASSWORD is not set (write ${DB_PASSWORD:-default} to give a default) (line 16)',
      'fraises.api.environments.production.health_check.url: environment variable HEALTH_URL is not set (write ${HEALTH_URL:-default} to give a default) (line 18)',
    ]);
    const { leftAsWritten } = parseConfig(file(''), { env: { GH_SECRET: 's', APP_ROOT: '/srv', DB_PASSWORD: 'p', HEALTH_URL: 'http://127.0.0.1/health' } });
    expect(leftAsWritten.map((u) => `${u.path}: ${u.variable}`)).toEqual([
      'fraises.api.environments.production.install.command[2]: CREDENTIALS_DIRECTORY',
      'fraises.api.environments.production.service.exec_start_pre[0]: CREDENTIALS_DIRECTORY',
    ]);
  });

  it('an !envvar stays required even in a hook: it asks Fraisier for the value', () => {
    expect(errorsOf('hooks:\n  audit:\n    signing_key: !envvar SIGNING_KEY\nfraises:\n  a:\n    type: worker\n    environments:\n      p: { app_path: /srv/a }\n')).toEqual([
      'hooks.audit.signing_key: environment variable SIGNING_KEY is not set (line 3)',
    ]);
  });
});

describe('keys the Python Fraisier read and this Fraisier does not', () => {
  it('are listed as unused, each with why', () => {
    const { unused, unusedNotes } = loadConfigFile('tests/fixtures/python-fraisier.yaml', { env: { SHOP_WEBHOOK_SECRET: 's3cret-from-env' } });
    const formerlySilent = [
      'git.gitlab.base_url',
      'fraises.shop_api.environments.staging.systemd_deploy_socket',
      'fraises.shop_api.environments.staging.lock_timeout',
      'fraises.shop_jobs.environments.production.jobs.daily_stats.systemd_service',
      'fraises.shop_jobs.environments.production.jobs.weekly_report.systemd_service',
      'fraises.shop_jobs.environments.production.jobs.weekly_report.retention_days',
      'environments.staging.log_dir',
      'environments.production.log_dir',
    ];
    expect(unused).toEqual(expect.arrayContaining(formerlySilent));
    for (const key of formerlySilent) expect(unusedNotes[key], key).toMatch(/\w{3,}.*\./);
    expect(unusedNotes['fraises.shop_api.environments.staging.lock_timeout']).toMatch(/queue/);
    const { unused: bitbucket, unusedNotes: notes } = parseConfig(
      'git:\n  bitbucket:\n    base_url: https://bitbucket.example.com\n    server: true\n    webhook_secret: s\nfraises:\n  a:\n    type: worker\n    environments:\n      p: { app_path: /srv/a }\n',
      { env: {} },
    );
    expect(bitbucket).toEqual(['git.bitbucket.base_url', 'git.bitbucket.server']);
    expect(notes['git.bitbucket.server']).toMatch(/repo:refs_changed/);
  });

  it('still check their values', () => {
    expect(errorsOf('fraises:\n  a:\n    type: worker\n    environments:\n      p: { app_path: /srv/a, lock_timeout: soon }\n')).toEqual([
      'fraises.a.environments.p.lock_timeout: expected seconds (a number) or a duration such as "30s", "5m", "1h" (line 5)',
    ]);
  });
});

describe('restore_migrate\'s restore: block', () => {
  const db = (lines: string) =>
    parseConfig(`fraises:\n  a:\n    type: api\n    environments:\n      staging:\n        app_path: /srv/a\n        systemd_service: a\n        database:\n${lines}`, { env: {} });

  it('defaults the pattern to *.dump, and warns when restore_migrate has nothing to restore', () => {
    const { config } = db('          name: a_staging\n          strategy: restore_migrate\n          restore:\n            backup_dir: /backup/prod\n');
    expect(config.fraises[0]!.environments[0]!.database?.restore).toEqual({ backupDir: '/backup/prod', pattern: '*.dump' });
    const { warnings } = db('          name: a_staging\n          strategy: restore_migrate\n');
    expect(warnings.map(formatProblem)).toContain(
      'fraises.a.environments.staging.database: strategy restore_migrate restores nothing without restore.backup_dir or restore_command: deployments will stop at migrate (line 9)',
    );
    expect(errorsOf('fraises:\n  a:\n    type: api\n    environments:\n      s:\n        app_path: /srv/a\n        database:\n          restore:\n            backup_pattern: "*.dump"\n')).toEqual([
      'fraises.a.environments.s.database.restore.backup_dir: required (expected string) (line 9)',
    ]);
  });
});
