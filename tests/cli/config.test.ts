import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { CLI_ARGS, runCli, startServer } from '../setup/cli.js';
import { CLI_TIMEOUT, ANSI, lines, workdir, type Workdir } from './support.js';

/*
 * The commands that work on the configuration file and the store's migrations, without a
 * server: init, config validate / show / schema, db migrate / status. Each runs the real bin.
 */

/** util-linux `script`: runs a command on a pseudo-terminal (where there is one). */
const SCRIPT = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v script'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
})();

const BROKEN = `fraises:
  my_api:
    type: apii
    environments:
      production:
        health_check:
          url: http://127.0.0.1/health
          timeout: soon
`;

const WITH_SECRETS = `fraisier:
  database: postgres://fraisier:db-password-123@db.example.com/fraisier
  tokens:
    - { name: ci, token: ci-token-0123456789abcdef, scopes: [deploy] }
git:
  github:
    webhook_secret: github-secret-456
fraises:
  my_api:
    type: api
    environments:
      staging:
        target:
          provider: coolify
          endpoint: https://coolify.example.com
          api_key: coolify-key-789
          application_uuid: app-1
      production:
        git_repo: \${REPO:-/nonexistent/repository.git}
        app_path: /srv/api
        systemd_service: api.service
        smoke_tests: [{ name: me, url: /graphql }]
      cluster:
        target: { provider: kubernetes, namespace: api }
`;

describe('fraisier init, config and db', { timeout: CLI_TIMEOUT }, () => {
  let dir: Workdir;
  beforeAll(() => {
    dir = workdir();
  });
  afterAll(() => dir.dispose());

  it('init writes a commented fraises.yaml that validates, and refuses to overwrite it without --force', async () => {
    const first = await runCli(['init'], { cwd: dir.path });
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toContain('wrote fraises.yaml');
    const written = readFileSync(join(dir.path, 'fraises.yaml'), 'utf8');
    expect(written).toMatch(/^# fraises\.yaml/);
    expect(written).toContain('my_app:');

    const again = await runCli(['init'], { cwd: dir.path });
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('fraisier: fraises.yaml already exists; pass --force to overwrite it\n');
    expect(readFileSync(join(dir.path, 'fraises.yaml'), 'utf8')).toBe(written);

    dir.file('fraises.yaml', 'fraises: {}\n');
    expect((await runCli(['init', '--force'], { cwd: dir.path })).code).toBe(0);
    expect(readFileSync(join(dir.path, 'fraises.yaml'), 'utf8')).toBe(written);

    const valid = await runCli(['config', 'validate'], { cwd: dir.path });
    expect(valid.code).toBe(0);
    expect(lines(valid.stdout)[0]).toBe(`✓ ${join(dir.path, 'fraises.yaml')}: valid (1 fraise, 1 environment)`);
    expect(valid.stdout).toContain('! git.github: no webhook secret: github deliveries are refused; set git.github.webhook_secret');
    expect(valid.stdout).not.toMatch(ANSI);
  });

  it.skipIf(!SCRIPT)('colours a terminal (a pty through script), never with NO_COLOR nor a pipe', async () => {
    const command = `${process.execPath} ${CLI_ARGS.join(' ')} list --config ${join(dir.path, 'fraises.yaml')}`;
    const once = (env: Record<string, string>) =>
      new Promise<string>((resolve, reject) =>
        execFile(SCRIPT!, ['-qec', command, '/dev/null'], { cwd: dir.path, env: { ...process.env, FRAISIER_CONFIG: '', NO_COLOR: '', ...env } }, (error, stdout) =>
          error ? reject(new Error(`${error.message.trim()} (exit ${String(error.code)}): ${stdout}`)) : resolve(stdout),
        ),
      );
    // util-linux's script can stop reading the pty before draining it when the command exits at
    // once, and then prints nothing: such a run says nothing about colours, so it is run again.
    const onTerminal = async (env: Record<string, string>) => {
      for (let attempt = 1; ; attempt++) {
        const output = await once(env);
        if (output.includes('Fraisier - Fraise Registry') || attempt === 5) return output;
      }
    };
    // One after the other: three first opens of one SQLite store at once could wait on each other's lock.
    const colour = await onTerminal({});
    const noColour = await onTerminal({ NO_COLOR: '1' });
    const piped = await runCli(['list', '--config', join(dir.path, 'fraises.yaml')], { cwd: dir.path, env: { NO_COLOR: '' } });
    expect(colour).toContain('\u001b[1mFraisier - Fraise Registry\u001b[22m');
    expect(noColour).toContain('Fraisier - Fraise Registry');
    expect(noColour).not.toMatch(ANSI);
    expect(piped, 'the piped run, with its stderr').toMatchObject({ code: 0, stdout: expect.stringMatching(/^Fraisier - Fraise Registry\n/) });
    expect(piped.stdout).not.toMatch(ANSI);
  });

  it('config validate reports every problem with its key path and line, and exits 2', async () => {
    const file = dir.file('broken.yaml', BROKEN);
    const result = await runCli(['config', 'validate', '--config', file]);
    expect(result.code).toBe(2);
    expect(lines(result.stdout)).toEqual([
      `✗ ${file}: 2 problems`,
      '  ✗ fraises.my_api.type: expected one of "api", "worker", "etl", "scheduled", "backup", "custom", got "apii"; did you mean "api"? (line 3)',
      expect.stringMatching(/^ {2}✗ fraises\.my_api\.environments\.production\.health_check\.timeout: .* \(line 8\)$/),
    ]);
    const json = await runCli(['config', 'validate', '--config', file, '--json']);
    expect(json.code).toBe(2);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ file, valid: false, unused: [] });
    expect(report.errors.map((e: { path: string; line: number }) => [e.path, e.line])).toEqual([
      ['fraises.my_api.type', 3],
      ['fraises.my_api.environments.production.health_check.timeout', 8],
    ]);

    // Any other command needing the file says the same, one line per problem, exit 2.
    const list = await runCli(['list', '--config', file]);
    expect(list.code).toBe(2);
    expect(list.stderr.split('\n')[0]).toBe(`fraisier: ${file}: 2 problems`);
    expect(list.stdout).toBe('');
    const missing = await runCli(['history'], { cwd: dir.path, env: { FRAISIER_CONFIG: join(dir.path, 'nope.yaml') } });
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toBe(`fraisier: ${join(dir.path, 'nope.yaml')}: 1 problem\n(file): cannot read ${join(dir.path, 'nope.yaml')}: no such file\n`);
  });

  it('config validate warns about refused webhooks, unavailable providers, unused keys and unreachable repositories', async () => {
    const file = dir.file('secrets.yaml', WITH_SECRETS);
    const result = await runCli(['config', 'validate', '--config', file, '--check-repositories', '--timeout', '20', '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ valid: true, fraises: 1, environments: 3, errors: [], unused: ['fraises.my_api.environments.production.smoke_tests'] });
    const warnings = report.warnings.map((w: { path: string; message: string }) => `${w.path}: ${w.message}`);
    expect(warnings).toContain('git.gitlab: no webhook secret: gitlab deliveries are refused; set git.gitlab.secret_token (or FRAISIER_WEBHOOK_SECRET_GITLAB)');
    expect(warnings.some((w: string) => w.startsWith('git.github:'))).toBe(false);
    expect(warnings).toContain(
      'fraises.my_api.environments.cluster.target.provider: target provider "kubernetes" is not available in this Fraisier: deployments of my_api/cluster will fail (available: bare-metal, docker-compose, coolify)',
    );
    expect(warnings.find((w: string) => w.startsWith('fraises.my_api.environments.production:'))).toMatch(
      /^fraises\.my_api\.environments\.production: repository \/nonexistent\/repository\.git is not reachable: git exited with code 128/,
    );
    const text = await runCli(['config', 'validate', '--config', file]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Loaded but not used by this version of Fraisier:\n  - fraises.my_api.environments.production.smoke_tests\n');
    expect(text.stdout).not.toContain('not reachable'); // only with --check-repositories
  });

  it('config validate on the Python Fraisier\'s examples: ${VAR}s left for systemd/the shell, unused keys with why, secrets from the environment', async () => {
    const full = 'tests/fixtures/python-fraisier-full.yaml';
    const noSecrets = { FRAISIER_WEBHOOK_SECRET: '', FRAISIER_WEBHOOK_SECRET_GITHUB: '' };
    const text = await runCli(['config', 'validate', '--config', full], { env: { ...noSecrets, FRAISIER_WEBHOOK_SECRET: 'w'.repeat(32) } });
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toContain(
      [
        'Left for systemd/the shell (not set here, kept as written):',
        '  - fraises.orchard_api.environments.production.service.exec_start_pre[0]: ${CREDENTIALS_DIRECTORY} (line 116)',
        '  - fraises.orchard_api.environments.production.service.exec_start_pre[0]: ${RUNTIME_DIRECTORY} (line 116)',
        '  - fraises.orchard_api.environments.production.service.environment.CACHE_DIR: ${CACHE_DIRECTORY} (line 122)',
        '  - fraises.orchard_backup.environments.production.jobs.offsite.command[2]: ${BACKUP_DIR} (line 175)',
        '',
      ].join('\n'),
    );
    expect(text.stdout).toContain('\n  - fraises.orchard_api.environments.staging.database.restore.target_owner: Restore with database.restore_command to change owners after the restore.\n');
    // service: is read by fraisier scaffold: not unused.
    expect(text.stdout).not.toContain('\n  - fraises.orchard_api.environments.production.service\n');

    // What Fraisier reads itself still needs its variable: the secret's key is named.
    const refused = await runCli(['config', 'validate', '--config', full]);
    expect(refused.code).toBe(2);
    expect(lines(refused.stdout)).toContain('  ✗ git.github.webhook_secret: environment variable FRAISIER_WEBHOOK_SECRET is not set (line 10)');

    // The Django example names no secret: the providers take theirs from the environment.
    const django = await runCli(['config', 'validate', '--config', 'tests/fixtures/python-fraisier-django.yaml', '--json'], {
      env: { ...noSecrets, FRAISIER_WEBHOOK_SECRET: 'generic-secret', FRAISIER_WEBHOOK_SECRET_GITHUB: 'github-secret' },
    });
    expect(django.code).toBe(0);
    const report = JSON.parse(django.stdout);
    expect(report.warnings).toEqual([]);
    expect(report.webhookSecretsFromEnv).toEqual({
      github: ['FRAISIER_WEBHOOK_SECRET_GITHUB'],
      gitlab: ['FRAISIER_WEBHOOK_SECRET'],
      gitea: ['FRAISIER_WEBHOOK_SECRET'],
      bitbucket: ['FRAISIER_WEBHOOK_SECRET'],
    });
    expect(report.leftForSystemdOrShell).toContainEqual({ path: 'fraises.web.environments.production.database.hooks.audit.signing_key', variable: 'AUDIT_SIGNING_KEY', line: 39 });
    expect(django.stdout).not.toContain('github-secret');
  });

  it('serve says at start which keys it does not use (and why), which ${VAR}s it left for systemd/the shell, and where webhook secrets came from', async () => {
    const server = await startServer(['--config', 'tests/fixtures/python-fraisier-django.yaml', '--database', `sqlite:${join(dir.path, 'serve.db')}`], {
      env: { FRAISIER_WEBHOOK_SECRET: 'generic-secret-from-env', FRAISIER_WEBHOOK_SECRET_GITHUB: '' },
    });
    try {
      const logged = server.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
      const hooks = 'fraises.web.environments.production.database.hooks';
      expect(logged).toContainEqual(expect.objectContaining({ msg: 'configuration keys loaded but not used by this version', keys: [hooks] }));
      expect(logged).toContainEqual(
        expect.objectContaining({ msg: 'unset ${VAR}s left as written for systemd/the shell', keys: expect.arrayContaining([`${hooks}.audit.signing_key: \${AUDIT_SIGNING_KEY}`]) }),
      );
      expect(logged).toContainEqual(expect.objectContaining({ msg: 'webhook secrets from the environment', provider: 'github', variables: ['FRAISIER_WEBHOOK_SECRET'] }));
      expect(server.output()).not.toContain('generic-secret-from-env');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('config show prints the resolved configuration with every secret masked, as YAML or JSON', async () => {
    const file = dir.file('secrets.yaml', WITH_SECRETS);
    const yaml = await runCli(['config', 'show', '--config', file]);
    const json = await runCli(['config', 'show', '--config', file, '--json']);
    for (const result of [yaml, json]) {
      expect(result.code).toBe(0);
      for (const secret of ['db-password-123', 'ci-token-0123456789abcdef', 'github-secret-456', 'coolify-key-789']) {
        expect(result.stdout).not.toContain(secret);
      }
    }
    const shown = JSON.parse(json.stdout);
    expect(shown.settings.databaseUrl).toBe('postgres://fraisier:********@db.example.com/fraisier');
    expect(shown.settings.tokens).toEqual([{ name: 'ci', sha256: '********', scopes: ['deploy', 'read'] }]);
    expect(shown.git.providers.github.secrets).toEqual(['********']);
    expect(shown.fraises[0].environments[0].target).toEqual({
      provider: 'coolify',
      config: { endpoint: 'https://coolify.example.com', api_key: '********', application_uuid: 'app-1' },
    });
    expect(yaml.stdout).toContain('databaseUrl: postgres://fraisier:********@db.example.com/fraisier');
    expect(yaml.stdout).toContain('api_key: "********"');
  });

  it('config schema prints the JSON Schema of fraises.yaml', async () => {
    const result = await runCli(['config', 'schema']);
    expect(result.code).toBe(0);
    // The committed artefact (kept current by tests/compiled.test.ts), not the function the command calls.
    expect(result.stdout).toBe(readFileSync('compiled/fraises.schema.json', 'utf8'));
    expect(JSON.parse(result.stdout)).toMatchObject({ title: 'fraises.yaml', type: 'object' });
  });

  it('db status and db migrate work on the configured store', async () => {
    const file = dir.file('db.yaml', `fraisier:\n  database: sqlite:${join(dir.path, 'store', 'fraisier.db')}\nfraises:\n  a:\n    type: api\n    environments:\n      prod: { app_path: /srv/a, systemd_service: a }\n`);
    const before = await runCli(['db', 'status', '--config', file, '--json']);
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout)).toEqual({
      store: `sqlite:${join(dir.path, 'store', 'fraisier.db')}`,
      migrations: [
        { name: '0001_initial', appliedAt: null },
        { name: '0002_fencing', appliedAt: null },
        { name: '0003_active_index', appliedAt: null },
        { name: '0004_job_run_key', appliedAt: null },
        { name: '0005_deployment_control', appliedAt: null },
        { name: '0006_progress_traffic', appliedAt: null },
        { name: '0007_notification_outbox', appliedAt: null },
        { name: '0008_commit_time', appliedAt: null },
        { name: '0009_gates', appliedAt: null },
      ],
      pending: 9,
    });
    const migrate = await runCli(['db', 'migrate', '--config', file]);
    expect(migrate).toMatchObject({ code: 0, stdout: '✓ applied 0001_initial\n✓ applied 0002_fencing\n✓ applied 0003_active_index\n✓ applied 0004_job_run_key\n✓ applied 0005_deployment_control\n✓ applied 0006_progress_traffic\n✓ applied 0007_notification_outbox\n✓ applied 0008_commit_time\n✓ applied 0009_gates\n' });
    const again = await runCli(['db', 'migrate', '--database', `sqlite:${join(dir.path, 'store', 'fraisier.db')}`, '--json']);
    expect(again).toMatchObject({ code: 0, stdout: '{\n  "applied": []\n}\n' });
    const after = await runCli(['db', 'status'], { env: { FRAISIER_DATABASE_URL: `sqlite:${join(dir.path, 'store', 'fraisier.db')}` }, cwd: dir.path + '/store' });
    expect(after.code).toBe(0);
    expect(lines(after.stdout)).toEqual([
      `Store: sqlite:${join(dir.path, 'store', 'fraisier.db')}`,
      expect.stringMatching(/^ {2}✓ 0001_initial {14}applied \d{4}-\d\d-\d\dT/),
      expect.stringMatching(/^ {2}✓ 0002_fencing {14}applied \d{4}-\d\d-\d\dT/),
      expect.stringMatching(/^ {2}✓ 0003_active_index {9}applied \d{4}-\d\d-\d\dT/),
      expect.stringMatching(/^ {2}✓ 0004_job_run_key {10}applied \d{4}-\d\d-\d\dT/),
      expect.stringMatching(/^ {2}✓ 0005_deployment_control {3}applied \d{4}-\d\d-\d\dT/),
      expect.stringMatching(/^ {2}✓ 0006_progress_traffic {5}applied \d{4}-\d\d-\d\dT/),
      expect.stringMatching(/^ {2}✓ 0007_notification_outbox {2}applied \d{4}-\d\d-\d\dT/),
      expect.stringMatching(/^ {2}✓ 0008_commit_time {10}applied \d{4}-\d\d-\d\dT/),
      expect.stringMatching(/^ {2}✓ 0009_gates {16}applied \d{4}-\d\d-\d\dT/),
      'Up to date.',
    ]);
    const unreachable = await runCli(['db', 'status', '--database', 'postgres://nobody@127.0.0.1:9/none']);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/^fraisier: cannot reach the store postgres:\/\/nobody@127\.0\.0\.1:9\/none: .+\n$/);
    const bad = await runCli(['db', 'status', '--database', 'oracle://x']);
    expect(bad).toMatchObject({ code: 2, stderr: 'fraisier: database URL "oracle://x" is not supported: use sqlite:./fraisier.db, postgres://... or mysql://...\n' });
  });

  it('every command has --help with examples; usage errors exit 2', async () => {
    // --help of each command in this process (cheap); the usage errors below through the bin.
    const help = async (args: string[]) => {
      let out = '';
      const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        out += String(chunk);
        return true;
      });
      try {
        return { code: await main(args), out };
      } finally {
        spy.mockRestore();
      }
    };
    const top = await help(['--help']);
    const commands = [...top.out.matchAll(/^ {2}([a-z-]+)[ |]/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    expect(commands).toEqual(['serve', 'init', 'list', 'deploy', 'rollback', 'run-job', 'cancel', 'pause', 'resume', 'promote', 'approve', 'reject', 'status', 'status-all', 'deployment', 'history', 'stats', 'webhooks', 'notifications', 'logs', 'stop', 'start', 'config', 'db', 'scaffold', 'validate-setup', 'completion']);
    const nested = ['config validate', 'config show', 'config schema', 'db migrate', 'db status'];
    for (const command of [...commands.filter((c) => c !== 'config' && c !== 'db'), ...nested]) {
      const result = await help([...command.split(' '), '--help']);
      expect(result.code, command).toBe(0);
      expect(result.out, command).toMatch(/\nExamples:\n {2}fraisier /);
    }
    const [usage, unknown, missing] = await Promise.all([runCli(['history', '--limit', 'lots']), runCli(['deploi']), runCli(['deploy', 'my_api'])]);
    expect(usage).toMatchObject({ code: 2, stderr: 'fraisier: --limit: expected a whole number from 1 to 10000 (got "lots")\n' });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("error: unknown command 'deploi'");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("error: missing required argument 'environment'");
  });
});
