import { lstatSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../setup/cli.js';
import { CLI_TIMEOUT, workdir, type Workdir } from './support.js';

/*
 * `fraisier scaffold`: the files for review in a directory, then --install under a temporary
 * root standing for /, where a live file that differs is left alone without --force.
 */

const CONFIG = `
name: bakery
scaffold: { deploy_user: baker }
fraises:
  orders:
    type: api
    environments:
      production:
        target: { provider: bare-metal, app_path: /srv/orders, systemd_service: orders.service, sudo: true, user: baker }
        service: { exec: /srv/orders/current/bin/orders-server, port: 9000 }
        nginx: { server_name: orders.bakery.test }
`;

describe('fraisier scaffold', { timeout: CLI_TIMEOUT }, () => {
  let dir: Workdir;
  let config: string;
  beforeAll(() => {
    dir = workdir();
    config = dir.file('fraises.yaml', CONFIG);
  });
  afterAll(() => dir?.dispose());

  it('writes the files into the review directory and touches nothing live', async () => {
    const out = join(dir.path, 'review');
    const result = await runCli(['scaffold', '--config', config, '--output', out]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(join(out, 'systemd/orders.service'));
    expect(readFileSync(join(out, 'systemd/orders.service'), 'utf8')).toContain('\nExecStart=/srv/orders/current/bin/orders-server\n');
    expect(readFileSync(join(out, 'nginx/orders.bakery.test.conf'), 'utf8')).toContain('server 127.0.0.1:9000;');
    expect(readFileSync(join(out, 'sudoers/bakery'), 'utf8')).toContain('baker ALL=(root) NOPASSWD: /usr/bin/systemctl restart -- orders.service');
  });

  it('--install writes under --root, refuses a differing live file without --force, and overwrites it with --force', async () => {
    const root = join(dir.path, 'root');
    const first = await runCli(['scaffold', '--config', config, '--install', '--root', root]);
    expect(first.code, first.stderr).toBe(0);
    const unit = join(root, 'etc/systemd/system/orders.service');
    const sudoers = join(root, 'etc/sudoers.d/bakery');
    const site = join(root, 'etc/nginx/sites-available/orders.bakery.test.conf');
    const generated = readFileSync(unit, 'utf8');
    expect(statSync(sudoers).mode & 0o777).toBe(0o440);
    expect(statSync(unit).mode & 0o777).toBe(0o644);
    expect(readlinkSync(join(root, 'etc/nginx/sites-enabled/orders.bakery.test.conf'))).toBe('../sites-available/orders.bakery.test.conf');
    expect(readFileSync(site, 'utf8')).toContain('server_name orders.bakery.test;');

    // Installing the same again changes nothing.
    const again = await runCli(['scaffold', '--config', config, '--install', '--root', root]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`${unit} (unchanged)`);

    // Someone edited the live unit, and the configuration changed too.
    const edited = generated.replace('RestartSec=5', 'RestartSec=30');
    writeFileSync(unit, edited);
    writeFileSync(config, CONFIG.replace('port: 9000', 'port: 9001'));
    const refused = await runCli(['scaffold', '--config', config, '--install', '--root', root]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`✗ ${unit} differs (-1 +1 lines):`);
    expect(refused.stderr).toContain('- RestartSec=30');
    expect(refused.stderr).toContain('+ RestartSec=5');
    expect(refused.stderr).toContain(`✗ ${site} differs`);
    expect(refused.stderr).toContain('nothing was written (--force overwrites them)');
    expect(readFileSync(unit, 'utf8')).toBe(edited);
    expect(readFileSync(site, 'utf8')).toContain('server 127.0.0.1:9000;');

    const forced = await runCli(['scaffold', '--config', config, '--install', '--root', root, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain(`${unit} (overwritten)`);
    expect(readFileSync(unit, 'utf8')).toBe(generated);
    expect(readFileSync(site, 'utf8')).toContain('server 127.0.0.1:9001;');
    expect(lstatSync(join(root, 'etc/nginx/sites-enabled/orders.bakery.test.conf')).isSymbolicLink()).toBe(true);
  });

  it('refuses --force without --install, and a configuration it cannot turn into units', async () => {
    const usage = await runCli(['scaffold', '--config', config, '--force']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--root and --force go with --install');
    const bad = dir.file('bad.yaml', CONFIG.replace('service: { exec: /srv/orders/current/bin/orders-server, port: 9000 }', 'service: { security: { protect_all: true } }'));
    const refused = await runCli(['scaffold', '--config', bad, '--output', join(dir.path, 'bad')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('unknown key "protect_all"');
  });
});
