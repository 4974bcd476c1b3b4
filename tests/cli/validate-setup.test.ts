import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../setup/cli.js';
import { startFakeCoolify } from '../setup/coolify.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { sshdUnavailable, startSshd, type TestSshd } from '../setup/sshd.js';
import { CLI_TIMEOUT, workdir, type Workdir } from './support.js';

/*
 * `fraisier validate-setup` (alias diagnose) on this machine: a host missing several things
 * reports every one, each on its own line with its fraise/environment and what to do, and
 * exits 1; a host with everything in place exits 0. Real git repositories and real databases
 * (SQLite, and PostgreSQL and MariaDB where they run, as the store tests use them).
 */

describe('fraisier validate-setup', { timeout: CLI_TIMEOUT }, () => {
  let dir: Workdir;
  let repository: string;
  const databases: TestDatabase[] = [];
  beforeAll(() => {
    dir = workdir();
    repository = join(dir.path, 'orders.git');
    execFileSync('git', ['init', '--quiet', '--bare', repository]);
    mkdirSync(join(dir.path, 'srv/orders'), { recursive: true });
  });
  afterAll(async () => {
    for (const db of databases) await db.drop();
    dir?.dispose();
  });

  it('reports every problem at once, one line each with what to do, and exits 1', async () => {
    const config = dir.file(
      'broken.yaml',
      `
fraises:
  orders:
    type: api
    environments:
      production:
        target: { provider: bare-metal, app_path: ${dir.path}/srv/missing }
        git_repo: ${dir.path}/nowhere.git
        database: { database_url: "postgres://fraisier:secret@127.0.0.1:1/orders" }
      staging:
        target: { provider: bare-metal, app_path: ${dir.path}/srv/orders }
        git_repo: ${repository}
        database: { type: sqlite, path: ${dir.path}/missing.db }
`,
    );
    const result = await runCli(['validate-setup', '--config', config]);
    expect(result.code, result.stderr).toBe(1);
    const problems = result.stdout.split('\n').filter((line) => line.startsWith('✗'));
    expect(problems).toHaveLength(4);
    expect(problems[0]).toBe(`✗ orders/production app_path: app_path ${dir.path}/srv/missing does not exist → mkdir -p ${dir.path}/srv/missing && chown root ${dir.path}/srv/missing`);
    expect(problems[1]).toMatch(new RegExp(`^✗ orders/production repository: repository ${dir.path}/nowhere\\.git is not reachable: .+ → correct git_repo / clone_url`));
    expect(problems[2]).toMatch(/^✗ orders\/production database: database postgres:\/\/fraisier:\*+@127\.0\.0\.1:1\/orders is not reachable from this machine: .*ECONNREFUSED.* → start it, or correct database\.database_url/);
    expect(problems[3]).toMatch(new RegExp(`^✗ orders/staging database: database ${dir.path}/missing\\.db is not reachable from this machine: .+ → create it`));
    expect(result.stdout).not.toContain('secret');
    expect(result.stdout).toContain(`✓ orders/staging repository: ${repository} answers git ls-remote`);
    expect(result.stdout).toContain('4 problems found.');

    const json = await runCli(['diagnose', 'orders', 'production', '--config', config, '--output', 'json']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as { ok: boolean; problems: number; checks: { environment: string; check: string; status: string; fix?: string }[] };
    expect(report.ok).toBe(false);
    expect(report.problems).toBe(3);
    expect(report.checks.filter((c) => c.status !== 'skipped').map((c) => [c.environment, c.check, c.status])).toEqual([
      ['production', 'app_path', 'problem'],
      ['production', 'repository', 'problem'],
      ['production', 'database', 'problem'],
    ]);
    expect(report.checks.filter((c) => c.status === 'problem').every((c) => c.fix)).toBe(true);
  });

  it('exits 0 on a host with everything in place', async () => {
    const sqlite = join(dir.path, 'orders.db');
    new Sqlite(sqlite).close();
    const environments = [`      sqlite:\n        database: { database_url: "sqlite:${sqlite}" }`];
    for (const dialect of DIALECTS.filter((d) => d.name !== 'sqlite')) {
      if (await dialect.unavailable()) continue;
      const db = await dialect.createDatabase();
      databases.push(db);
      environments.push(`      ${dialect.name}:\n        database: { database_url: "${db.url}" }`);
    }
    const config = dir.file(
      'clean.yaml',
      `
fraises:
  orders:
    type: worker
    environments:
${environments.map((e) => `${e}\n        target: { provider: bare-metal, app_path: ${dir.path}/srv/orders, service_manager: none }\n        git_repo: ${repository}`).join('\n')}
`,
    );
    const result = await runCli(['validate-setup', '--config', config]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).not.toContain('✗');
    expect(result.stdout).toContain(`✓ orders/sqlite app_path: app_path ${dir.path}/srv/orders exists and root may write it`);
    expect(result.stdout).toContain(`✓ orders/sqlite database: ${sqlite} answers`);
    expect(result.stdout).toMatch(/No problem found \(\d+ checks\)\./);
  });

  it("asks Coolify's API for a Coolify target: the application there, the key accepted", async () => {
    const coolify = await startFakeCoolify({ repository, tokens: { '3|good-coolify-token-0123456789': ['root'] } });
    try {
      const target = (key: string, application = coolify.application.uuid) => `{ provider: coolify, endpoint: "${coolify.url}", api_key: "${key}", application_uuid: ${application} }`;
      const config = dir.file(
        'coolify.yaml',
        `
fraises:
  orders:
    type: api
    environments:
      production:
        target: ${target('3|good-coolify-token-0123456789')}
      staging:
        target: ${target('4|revoked-coolify-token-987654')}
      preview:
        target: ${target('3|good-coolify-token-0123456789', 'gone-app')}
`,
      );
      const result = await runCli(['validate-setup', '--config', config]);
      expect(result.code, result.stdout + result.stderr).toBe(1);
      const fix = '→ correct target: of orders/STAGE (endpoint: the address of Coolify; api_key: a token of the application\'s team with the read, write and deploy abilities; application_uuid)';
      expect(result.stdout.split('\n').filter((l) => /^[✓✗·]/.test(l))).toEqual([
        `✓ orders/production target: the coolify target answers (application ${coolify.application.uuid} at ${coolify.url})`,
        `✗ orders/staging target: GET ${coolify.url}/api/v1/applications/${coolify.application.uuid}: Coolify refused the API key (Unauthenticated.): check target.api_key ${fix.replace('STAGE', 'staging')}`,
        `✗ orders/preview target: Coolify at ${coolify.url} has no application gone-app that this API key can see ${fix.replace('STAGE', 'preview')}`,
      ]);
      for (const key of ['good-coolify-token', 'revoked-coolify-token']) expect(result.stdout).not.toContain(key);
    } finally {
      await coolify.close();
    }
  });

  it('says systemd is not available where it is not, without calling it a problem', async () => {
    const config = dir.file(
      'systemd.yaml',
      `
fraises:
  orders:
    type: api
    environments:
      production:
        target: { provider: bare-metal, app_path: ${dir.path}/srv/orders, systemd_service: orders.service }
`,
    );
    const result = await runCli(['validate-setup', '--config', config]);
    if (result.stdout.includes('systemd not available here')) {
      expect(result.code, result.stdout).toBe(0);
      expect(result.stdout).toContain('· orders/production systemd: systemd not available here: orders.service not checked');
    } else {
      // A host booted with systemd: the unit is not installed there.
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('✗ orders/production systemd: unit orders.service is not installed → fraisier scaffold --install');
    }
  });

  it('asks sudo whether the deploy user may restart the service when the target has sudo: true', async () => {
    const config = dir.file(
      'sudo.yaml',
      `
fraises:
  orders:
    type: worker
    environments:
      production:
        target: { provider: bare-metal, app_path: ${dir.path}/srv/orders, systemd_service: orders.service, sudo: true }
`,
    );
    const result = await runCli(['validate-setup', '--config', config]);
    const sudoInstalled = ['/usr/bin/sudo', '/bin/sudo'].some((path) => existsSync(path));
    if (sudoInstalled) expect(result.stdout).toMatch(/^[✓✗] orders\/production sudo: /m);
    else {
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('✗ orders/production sudo: sudo is not installed, and the target has sudo: true → install sudo, then fraisier scaffold --install for the sudoers entry');
    }
  });

  describe.skipIf(sshdUnavailable())('over SSH', () => {
    let sshd: TestSshd;
    beforeAll(async () => {
      sshd = await startSshd();
    });
    afterAll(() => sshd?.stop());

    it('checks the host as the SSH user, and says so when the host cannot be reached', async () => {
      const ssh = (knownHosts: string) => `host: ${sshd.host}, port: ${sshd.port}, user: ${sshd.user}, identity_file: ${sshd.identityFile}, known_hosts: ${knownHosts}`;
      const config = dir.file(
        'ssh.yaml',
        `
fraises:
  orders:
    type: worker
    environments:
      production:
        target: { provider: bare-metal, ${ssh(sshd.knownHosts)}, app_path: ${dir.path}/srv/remote-missing, service_manager: none }
        git_repo: ${repository}
      impostor:
        target: { provider: bare-metal, ${ssh(sshd.wrongKnownHosts)}, app_path: ${dir.path}/srv/orders, service_manager: none }
        git_repo: ${repository}
`,
      );
      const result = await runCli(['validate-setup', '--config', config]);
      expect(result.code, result.stderr).toBe(1);
      const where = `${sshd.user}@${sshd.host}:${sshd.port}`;
      expect(result.stdout).toContain(`✓ orders/production host: ${where} answers over SSH`);
      expect(result.stdout).toContain(`✗ orders/production app_path: app_path ${dir.path}/srv/remote-missing does not exist on ${where} → mkdir -p ${dir.path}/srv/remote-missing && chown ${sshd.user}`);
      expect(result.stdout).toContain(`✓ orders/production repository: ${repository} answers git ls-remote on ${where}`);
      expect(result.stdout).toMatch(new RegExp(`✗ orders/impostor host: cannot reach ${where.replaceAll('.', '\\.')} over SSH: .*Host key verification failed`));
      // Nothing else is asked of a host that cannot be reached.
      expect(result.stdout).not.toContain('orders/impostor app_path');
      expect(result.stdout).toContain('2 problems found.');
    });
  });
});
