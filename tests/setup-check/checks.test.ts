import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createRunner, ExecError, type RunResult } from '../../src/exec/runner.js';
import { type HostShell, localHost } from '../../src/providers/host.js';
import { checkSetup } from '../../src/setup-check/checks.js';

/*
 * The systemd checks of validate-setup, which need a host booted with systemd: this machine is
 * not one, so systemctl (and only systemctl) is answered by a recording host, as a systemd
 * host answers; every other command runs for real. The commands asked are checked exactly.
 */

const dir = mkdtempSync(join(tmpdir(), 'fraisier-checks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** systemctl's answers: `cat` fails for units not installed, `is-enabled` prints the state (exit 1 unless enabled). */
function systemdHost(installed: Record<string, 'enabled' | 'disabled'>): { host: HostShell; asked: string[] } {
  const real = localHost(createRunner());
  const asked: string[] = [];
  const result = (argv: readonly string[], exitCode: number, stdout = ''): RunResult => {
    const r = { argv, exitCode, stdout, stderr: exitCode ? `${argv[1]} failed` : '', durationMs: 1 };
    if (exitCode) throw new ExecError(`systemctl exited with code ${exitCode}`, r, 'exit');
    return r;
  };
  const host: HostShell = {
    description: 'local',
    remote: false,
    run: async (argv, options) => {
      if (argv[0] === 'systemctl') {
        asked.push(argv.join(' '));
        const unit = argv.at(-1)!;
        const state = installed[unit];
        if (argv[1] === 'cat') return result(argv, state ? 0 : 1);
        return result(argv, state === 'enabled' ? 0 : 1, `${state ?? 'not-found'}\n`);
      }
      if (argv.join(' ') === 'test -d /run/systemd/system') return result(argv, 0);
      return real.run(argv, options);
    },
  };
  return { host, asked };
}

describe('validate-setup on a systemd host', () => {
  it('reports a unit not installed and a unit not enabled, each with its fix', async () => {
    const { config } = parseConfig(
      `
name: bakery
fraises:
  orders:
    type: api
    environments:
      production:
        target: { provider: bare-metal, app_path: ${dir}, systemd_service: orders.service }
  reports:
    type: scheduled
    environments:
      production:
        jobs:
          nightly: { systemd_timer: nightly.timer, schedule: "0 3 * * *", command: [/bin/true] }
          hourly: { systemd_timer: hourly.timer, schedule: "0 * * * *", command: [/bin/true] }
`,
      { env: {} },
    );
    const { host, asked } = systemdHost({ 'nightly.timer': 'disabled', 'hourly.timer': 'enabled' });
    const environments = config.fraises.flatMap((fraise) => fraise.environments.map((env) => ({ fraise, env })));
    const checks = await checkSetup(config, environments, { shellFor: () => host, probeDatabase: async () => {}, currentUser: 'root', isRoot: true });
    expect(checks.filter((c) => c.check === 'systemd').map((c) => [c.fraise, c.status, c.message, c.fix])).toEqual([
      ['orders', 'problem', 'unit orders.service is not installed', 'fraisier scaffold --install, then systemctl daemon-reload'],
      ['reports', 'problem', 'unit nightly.timer is disabled, not enabled', 'systemctl enable --now nightly.timer'],
      ['reports', 'ok', 'unit hourly.timer is installed and enabled', undefined],
    ]);
    // Environments are checked at once; within one, in order.
    expect(asked.filter((a) => a.endsWith('.timer'))).toEqual([
      'systemctl cat -- nightly.timer',
      'systemctl is-enabled -- nightly.timer',
      'systemctl cat -- hourly.timer',
      'systemctl is-enabled -- hourly.timer',
    ]);
    expect(asked.filter((a) => a.endsWith('.service'))).toEqual(['systemctl cat -- orders.service']);
  });

  it('checks the template unit of a blue-green environment through a slot instance, not the plain unit', async () => {
    const { config } = parseConfig(
      `
fraises:
  orders:
    type: api
    environments:
      production:
        target: { provider: bare-metal, app_path: ${dir}, systemd_service: orders.service }
        health_check: { url: "http://127.0.0.1:{port}/health" }
        strategy: { type: blue-green, slots: { blue: 3001, green: 3002 }, proxy: { type: command, switch: [/bin/true] } }
`,
      { env: {} },
    );
    const { host, asked } = systemdHost({ 'orders@blue.service': 'disabled' });
    const environments = config.fraises.flatMap((fraise) => fraise.environments.map((env) => ({ fraise, env })));
    const checks = await checkSetup(config, environments, { shellFor: () => host, probeDatabase: async () => {}, currentUser: 'root', isRoot: true });
    expect(checks.filter((c) => c.check === 'systemd').map((c) => [c.status, c.message])).toEqual([['ok', 'template unit of orders@blue.service is installed']]);
    expect(asked).toEqual(['systemctl cat -- orders@blue.service']);
  });
});
