import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../src/config/load.js';
import { ScaffoldError } from '../../src/scaffold/names.js';
import { cronToOnCalendar } from '../../src/scaffold/oncalendar.js';
import { type GeneratedFile, planScaffold } from '../../src/scaffold/plan.js';
import { renderSudoers } from '../../src/scaffold/sudoers.js';
import { workdir } from '../cli/support.js';

/*
 * What `fraisier scaffold` writes, checked by the programs that read it: systemd-analyze verify
 * (in a scratch root holding this machine's system units and an executable at each ExecStart,
 * as tests/ops/systemd-unit.test.ts does) and nginx -t (unprivileged paths: a minimal
 * nginx.conf in a temporary prefix that includes the generated sites).
 */

const run = promisify(execFile);
const available = (file: string, args: string[]) =>
  run(file, args).then(
    () => true,
    () => false,
  );
const SYSTEM_UNITS = ['/usr/lib/systemd/system', '/lib/systemd/system'].find((dir) => existsSync(join(dir, 'sysinit.target')));
const analyze = await available('systemd-analyze', ['--version']);
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => existsSync(path));
const openssl = await available('openssl', ['version']);

const dir = workdir('fraisier-scaffold-');
afterAll(() => dir.dispose());

const config = (certDir: string) => `
name: shop
scaffold:
  deploy_user: deployer
fraises:
  shop_api:
    type: api
    description: the shop's API
    install: { command: [uv, sync, --frozen], user: shop }
    environments:
      production:
        name: api.shop.test
        app_path: /srv/shop-api
        target: { provider: bare-metal, app_path: /srv/shop-api, systemd_service: shop-api.service, sudo: true, user: deployer }
        health_check: { url: "http://127.0.0.1:8100/health" }
        database: { database_url: "postgres://shop@127.0.0.1/shop" }
        service:
          user: shop
          workers: 3
          memory_max: 2G
          cpu_quota: "150%"
          runtime_directory: shop
          exec_start_pre: ["/bin/sh -c 'echo starting at 100%% > /dev/null'"]
          environment: { GREETING: "hello \\"world\\"", PERCENT: "50%" }
          credentials: { pg_password: /etc/shop/pg }
          security: { protect_home: read-only }
        nginx:
          server_name: api.shop.test
          ssl_cert: ${certDir}/cert.pem
          ssl_key: ${certDir}/key.pem
          cors_origins: ["^https://shop.test$"]
          restricted_paths: [/metrics, { path: /admin, allow: [10.0.0.0/8], deny: all }]
      staging:
        app_path: /srv/shop-api-staging
        nginx: { server_name: staging.shop.test }
        service: { exec: /srv/shop-api-staging/current/bin/serve --port 8200, type: simple }
  shop_jobs:
    type: scheduled
    environments:
      production:
        app_path: /srv/shop-jobs
        jobs:
          nightly:
            systemd_timer: shop-nightly.timer
            schedule: "30 2 * * *"
            command: [/usr/bin/env, "REPORT=daily totals", /srv/shop-jobs/current/report.sh]
          weekdays:
            systemd_service: shop-weekdays.service
            systemd_timer: shop-weekdays.timer
            schedule: "*/20 9-17 * * 1-5"
            script_path: bin/poll
`;

function plan(certDir = '/etc/ssl/shop') {
  const loaded = parseConfig(config(certDir), { path: '/etc/fraisier/fraises.yaml', env: {} });
  return planScaffold(loaded.config, { source: '/etc/fraisier/fraises.yaml', configPath: '/etc/fraisier/fraises.yaml', programPath: (name) => (name === 'uv' ? '/usr/local/bin/uv' : undefined) });
}

const byName = (files: GeneratedFile[], name: string) => {
  const file = files.find((f) => f.name === name);
  if (!file) throw new Error(`no ${name} among ${files.map((f) => f.name).join(', ')}`);
  return file.content;
};

describe('scaffold output', () => {
  it('writes the service, the deploy socket, the job timers, the nginx sites and one sudoers file', () => {
    const { files, notes } = plan();
    expect(files.map((f) => `${f.kind}/${f.name}`).sort()).toEqual([
      'nginx/api.shop.test.conf',
      'nginx/staging.shop.test.conf',
      'sudoers/shop',
      'systemd/fraisier-api.shop.test.socket',
      'systemd/fraisier-api.shop.test@.service',
      'systemd/fraisier-shop_api-staging.socket',
      'systemd/fraisier-shop_api-staging@.service',
      'systemd/fraisier-shop_jobs-production.socket',
      'systemd/fraisier-shop_jobs-production@.service',
      'systemd/shop-api.service',
      'systemd/shop-nightly.service',
      'systemd/shop-nightly.timer',
      'systemd/shop-weekdays.service',
      'systemd/shop-weekdays.timer',
      'systemd/shop_shop_api_staging.service',
    ]);
    expect(files.find((f) => f.kind === 'sudoers')!.mode).toBe(0o440);
    expect(notes).toContain('shop_api/staging: set systemd_service: shop_shop_api_staging.service so that deployments restart it');

    const service = byName(files, 'shop-api.service');
    expect(service).toContain('\nUser=shop\nGroup=shop\nWorkingDirectory=/srv/shop-api/current\n');
    expect(service).toContain("\nExecStartPre=/bin/sh -c 'echo starting at 100%%%% > /dev/null'\n");
    expect(service).toContain('\nExecStart=/srv/shop-api/current/.venv/bin/uvicorn shop_api.main:app --host 0.0.0.0 --port 8100 --workers 3\n');
    expect(service).toContain('\nMemoryMax=2G\nCPUQuota=150%\n');
    expect(service).toContain('\nProtectHome=read-only\n');
    expect(service).toContain('\nLoadCredential=pg_password:/etc/shop/pg\n');
    expect(service).toContain('\nEnvironment="GREETING=hello \\"world\\""\nEnvironment="PERCENT=50%%"\n');
    expect(service).not.toContain('WatchdogSec');

    expect(byName(files, 'fraisier-api.shop.test@.service')).toContain('\nExecStart=/usr/local/bin/fraisier deploy shop_api production --config /etc/fraisier/fraises.yaml\n');
    expect(byName(files, 'shop-nightly.timer')).toContain('\nOnCalendar=*-*-* 02:30:00 UTC\nPersistent=true\nUnit=shop-nightly.service\n');
    expect(byName(files, 'shop-nightly.service')).toContain('\nExecStart=/usr/bin/env "REPORT=daily totals" /srv/shop-jobs/current/report.sh\n');
    expect(byName(files, 'shop-weekdays.service')).toContain('\nExecStart=/srv/shop-jobs/bin/poll\n');
    expect(byName(files, 'shop-weekdays.timer')).toContain('\nOnCalendar=Mon..Fri *-*-* 09..17:00/20:00 UTC\n');

    expect(byName(files, 'shop')).toContain(
      [
        'deployer ALL=(root) NOPASSWD: /usr/bin/systemctl restart -- shop-api.service',
        '# shop_api/production',
        'deployer ALL=(root) NOPASSWD: /usr/bin/systemctl start -- shop-api.service',
      ].join('\n'),
    );
    expect(byName(files, 'shop')).toContain('deployer ALL=(shop) NOPASSWD:SETENV: /usr/local/bin/uv sync --frozen');
    expect(byName(files, 'staging.shop.test.conf')).toContain('\n    listen 443 ssl http2;\n');
    expect(byName(files, 'staging.shop.test.conf')).toContain('ssl_certificate /etc/letsencrypt/live/staging.shop.test/fullchain.pem;');
  });

  it("scaffolds the Python Fraisier's own file as it is", () => {
    const { config } = loadConfigFile('tests/fixtures/python-fraisier.yaml', { env: {}, secrets: 'deferred' });
    const { files, notes } = planScaffold(config, { source: 'fraises.yaml', configPath: '/opt/shop/fraises.yaml', programPath: (name) => (name === 'uv' ? '/usr/local/bin/uv' : undefined) });
    expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(['api.shop.staging.service', 'api.shop.io.service', 'api.shop.staging.conf', 'shop']));
    // Its systemd_deploy_socket is a path: where the socket listens.
    expect(byName(files, 'fraisier-api.shop.staging.socket')).toContain('\nListenStream=/run/fraisier/staging.sock\n');
    expect(byName(files, 'api.shop.staging.service')).toContain('\nType=exec\nUser=shop\nGroup=shop\n');
    // Jobs whose units came from its repository stay the user's.
    expect(notes).toContain('shop_jobs/production job daily_stats: systemd_timer without a command or script_path, so its units are yours to write');
  });

  it('is the same text for the same configuration', () => {
    expect(plan()).toEqual(plan());
  });

  it('reports every problem at once', () => {
    const text = `
fraises:
  a:
    type: api
    environments:
      prod:
        app_path: /srv/a
        service: { security: { protect_everything: true } }
  b:
    type: scheduled
    environments:
      prod:
        jobs:
          j: { systemd_timer: j.timer, schedule: "0 0 1 * 1", command: [/bin/true] }
          k: { systemd_timer: k.timer, schedule: "0 0 * * *", command: [relative] }
`;
    const loaded = parseConfig(text, { env: {} });
    const attempt = () => planScaffold(loaded.config, { source: 'x', configPath: '/x', programPath: () => undefined });
    expect(attempt).toThrow(ScaffoldError);
    expect(() => attempt()).toThrow(/unknown key "protect_everything"[\s\S]*day of the month OR the weekday[\s\S]*absolute path \(got "relative"\)/);
  });

  it('refuses service and nginx keys the Python Fraisier did not have, naming them', () => {
    const text = `fraises:\n  a:\n    type: api\n    environments:\n      prod:\n        app_path: /srv/a\n        service: { memory_max: lots, wrokers: 2 }\n        nginx: { ssl_cert: /c.pem }\n`;
    expect(() => parseConfig(text, { env: {} })).toThrow(/memory_max[\s\S]*wrokers|wrokers[\s\S]*memory_max/);
    const nginx = `fraises:\n  a:\n    type: api\n    environments:\n      prod:\n        app_path: /srv/a\n        nginx: { ssl_cert: /c.pem }\n`;
    expect(() => parseConfig(nginx, { env: {} })).toThrow(/ssl_cert needs ssl_key/);
  });
});

describe('cron schedules as systemd calendars', () => {
  const cases: [string, string][] = [
    ['0 2 * * *', '*-*-* 02:00:00 UTC'],
    ['*/15 * * * *', '*-*-* *:00/15:00 UTC'],
    ['0 8 * * 1', 'Mon *-*-* 08:00:00 UTC'],
    ['0 9 * * 1-5', 'Mon..Fri *-*-* 09:00:00 UTC'],
    ['0 0 1,15 * *', '*-*-01,15 00:00:00 UTC'],
    ['5 4 * 1-3 0,6', 'Sun,Sat *-01..03-* 04:05:00 UTC'],
    ['@daily', '*-*-* 00:00:00 UTC'],
  ];

  it('converts each field', () => {
    for (const [cron, calendar] of cases) expect(cronToOnCalendar(cron), cron).toBe(calendar);
  });

  it.skipIf(!analyze)('gives calendars systemd reads', async () => {
    for (const [cron, calendar] of cases) {
      const { stdout } = await run('systemd-analyze', ['calendar', calendar]);
      expect(stdout, cron).toContain('Next elapse:');
    }
  });

  it('refuses what a timer cannot say', () => {
    expect(() => cronToOnCalendar('0 0 1 * 1')).toThrow(/OR the weekday/);
    expect(() => cronToOnCalendar('0 0 * * */2')).toThrow(/weekday step/);
    expect(() => cronToOnCalendar('0 25 * * *')).toThrow(/25 is outside 0-23/);
    expect(() => cronToOnCalendar('0 0 * *')).toThrow(/five cron fields/);
  });
});

describe('sudoers', () => {
  it('escapes what sudoers reads specially and merges equal rules', () => {
    const text = renderSudoers(
      [
        { user: 'deploy', runAs: 'app', command: ['/usr/bin/make', 'PREFIX=/opt', 'a,b'], setenv: true, environments: ['a/prod'] },
        { user: 'deploy', runAs: 'app', command: ['/usr/bin/make', 'PREFIX=/opt', 'a,b'], setenv: true, environments: ['a/staging'] },
      ],
      'fraises.yaml',
    );
    expect(text).toContain('# a/prod, a/staging\ndeploy ALL=(app) NOPASSWD:SETENV: /usr/bin/make PREFIX\\=/opt a\\,b\n');
    expect(() => renderSudoers([{ user: 'd', runAs: 'root', command: ['make'], setenv: false, environments: ['x'] }], 'f')).toThrow(/absolute path/);
  });
});

describe.skipIf(!analyze || !SYSTEM_UNITS)('systemd-analyze verify', () => {
  it('accepts every generated unit', async () => {
    const root = join(dir.path, 'systemd-root');
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    cpSync(SYSTEM_UNITS!, join(root, 'usr/lib/systemd/system'), { recursive: true, dereference: false });
    const units = plan().files.filter((f) => f.kind === 'systemd');
    // verify checks that each Exec program exists and is executable under the root.
    for (const unit of units) {
      writeFileSync(join(root, 'etc/systemd/system', unit.name), unit.content);
      for (const match of unit.content.matchAll(/^Exec\w*=(\S+)/gm)) {
        const program = join(root, match[1]!);
        mkdirSync(dirname(program), { recursive: true });
        writeFileSync(program, '#!/bin/sh\n');
        chmodSync(program, 0o755);
      }
    }
    const names = units.map((u) => u.name);
    const { stdout, stderr } = await run('systemd-analyze', ['verify', `--root=${root}`, ...names]).catch((error: { stdout: string; stderr: string }) => error);
    expect(stdout + stderr).toBe('');
  });
});

describe.skipIf(!NGINX || !openssl)('nginx -t', () => {
  it('accepts the generated sites, together', async () => {
    const prefix = join(dir.path, 'nginx');
    const sites = join(prefix, 'sites-enabled');
    mkdirSync(sites, { recursive: true });
    mkdirSync(join(prefix, 'logs'), { recursive: true });
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=api.shop.test', '-keyout', join(prefix, 'key.pem'), '-out', join(prefix, 'cert.pem')]);
    const loaded = parseConfig(config(prefix).replace('deploy_user: deployer', 'deploy_user: deployer\n  nginx: { ssl_provider: none }'), { env: {} });
    const files = planScaffold(loaded.config, { source: 'x', configPath: '/x', programPath: () => '/usr/local/bin/uv' }).files.filter((f) => f.kind === 'nginx');
    expect(files).toHaveLength(2);
    for (const file of files) writeFileSync(join(sites, file.name), file.content);
    // The staging site has no certificate with ssl_provider none: plain HTTP.
    expect(files.find((f) => f.name === 'staging.shop.test.conf')!.content).not.toContain('443');
    const conf = dir.file(
      'nginx/nginx.conf',
      [
        `pid ${prefix}/nginx.pid;`,
        `error_log ${prefix}/logs/error.log;`,
        'events {}',
        'http {',
        `    access_log ${prefix}/logs/access.log;`,
        `    include ${sites}/*.conf;`,
        '}',
        '',
      ].join('\n'),
    );
    const result = await run(NGINX!, ['-t', '-q', '-p', prefix, '-e', `${prefix}/logs/error.log`, '-c', conf]).catch((error: { code: number; stderr: string }) => error);
    expect((result as { stderr: string }).stderr).toBe('');
  });
});

describe('scaffold of a blue-green environment', () => {
  const blueGreen = (upstreamFile: string) => `
name: shop
scaffold: { deploy_user: deployer, nginx: { ssl_provider: none } }
fraises:
  shop_api:
    type: api
    environments:
      production:
        target: { provider: bare-metal, app_path: /srv/shop-api, systemd_service: shop-api, sudo: true, user: deployer }
        health_check: { url: "http://127.0.0.1:{port}/health" }
        nginx: { server_name: api.shop.test }
        strategy:
          type: blue-green
          slots: { blue: 8101, green: 8102 }
          proxy: { type: nginx, upstream_file: ${upstreamFile}, upstream: shop_api }
`;
  const scaffoldOf = (upstreamFile: string) =>
    planScaffold(parseConfig(blueGreen(upstreamFile), { env: {} }).config, { source: 'fraises.yaml', configPath: '/etc/fraisier/fraises.yaml', programPath: () => undefined });

  it('writes a template unit run per slot, sudo rules per slot, and a site proxying to the strategy\'s upstream', () => {
    const { files, notes } = scaffoldOf('/etc/nginx/shop-upstream.conf');
    const unit = byName(files, 'shop-api@.service');
    expect(unit).toContain('\nDescription=shop_api (production), slot %i\n');
    expect(unit).toContain('\nWorkingDirectory=/srv/shop-api/slots/%i\nEnvironmentFile=/srv/shop-api/slots/%i.env\n');
    expect(unit).toContain('\nExecStart=/srv/shop-api/slots/%i/.venv/bin/uvicorn shop_api.main:app --host 0.0.0.0 --port ${FRAISIER_PORT} --workers 1\n');
    expect(files.some((f) => f.name === 'shop-api.service')).toBe(false);
    const sudoers = byName(files, 'shop');
    for (const line of ['restart -- shop-api@blue.service', 'stop -- shop-api@green.service']) expect(sudoers).toContain(`deployer ALL=(root) NOPASSWD: /usr/bin/systemctl ${line}`);
    const site = byName(files, 'api.shop.test.conf');
    expect(site).toContain('\ninclude /etc/nginx/shop-upstream.conf;\n');
    expect(site).toContain('proxy_pass http://shop_api;');
    expect(site).not.toContain('upstream shop_api {');
    expect(notes).toContain('shop_api/production: before the first deployment, create /etc/nginx/shop-upstream.conf holding "upstream shop_api { server 127.0.0.1:8101; }" (writable by deployer); each deployment rewrites it');
    // Debian's nginx.conf includes conf.d/*.conf already: the site does not include it twice.
    expect(byName(scaffoldOf('/etc/nginx/conf.d/shop-upstream.conf').files, 'api.shop.test.conf')).not.toContain('include /etc/nginx/conf.d');
  });

  it.skipIf(!analyze || !SYSTEM_UNITS)('has its template unit accepted by systemd-analyze verify', async () => {
    const root = join(dir.path, 'systemd-blue-green');
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    cpSync(SYSTEM_UNITS!, join(root, 'usr/lib/systemd/system'), { recursive: true, dereference: false });
    const unit = scaffoldOf('/etc/nginx/shop-upstream.conf').files.find((f) => f.name === 'shop-api@.service')!;
    writeFileSync(join(root, 'etc/systemd/system', unit.name), unit.content);
    for (const slot of ['blue', 'green']) {
      const program = join(root, `srv/shop-api/slots/${slot}/.venv/bin/uvicorn`);
      mkdirSync(dirname(program), { recursive: true });
      writeFileSync(program, '#!/bin/sh\n');
      chmodSync(program, 0o755);
    }
    const { stdout, stderr } = await run('systemd-analyze', ['verify', `--root=${root}`, 'shop-api@blue.service']).catch((error: { stdout: string; stderr: string }) => error);
    expect(stdout + stderr).toBe('');
  });

  it.skipIf(!NGINX)('has its site accepted by nginx -t with the upstream file in place', async () => {
    const prefix = join(dir.path, 'nginx-blue-green');
    mkdirSync(join(prefix, 'logs'), { recursive: true });
    const upstreamFile = join(prefix, 'shop-upstream.conf');
    writeFileSync(upstreamFile, 'upstream shop_api { server 127.0.0.1:8101; }\n');
    const site = scaffoldOf(upstreamFile).files.find((f) => f.kind === 'nginx')!;
    writeFileSync(join(prefix, 'site.conf'), site.content);
    const conf = dir.file('nginx-blue-green/nginx.conf', [`pid ${prefix}/nginx.pid;`, `error_log ${prefix}/logs/error.log;`, 'events {}', 'http {', `    access_log ${prefix}/logs/access.log;`, `    include ${prefix}/site.conf;`, '}', ''].join('\n'));
    const result = await run(NGINX!, ['-t', '-q', '-p', prefix, '-e', `${prefix}/logs/error.log`, '-c', conf]).catch((error: { code: number; stderr: string }) => error);
    expect((result as { stderr: string }).stderr).toBe('');
  });
});
