import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { parseDays, parseInstant } from '../../src/config/protection.js';
import { ConfigError, formatProblem } from '../../src/config/problems.js';
import { describeProtection } from '../../src/gates/describe.js';
import { runCli } from '../setup/cli.js';
import { configErrors } from '../setup/config-errors.js';

/*
 * `protection:` per environment, in both dialects: what loads (with its defaults), how the
 * top-level environments.<name> block applies to every fraise's environment of that name, and
 * what is refused, by key path and line. Tokens gain `groups` and the `approve` scope.
 */

const TOKENS = `
fraisier:
  tokens:
    - { name: ci, token: ci-token-0123456789, scopes: [deploy] }
    - { name: alice, token: alice-token-0123456789, scopes: [approve] }
    - { name: bob, token: bob-token-0123456789, scopes: [approve], groups: [release-managers] }
    - { name: carol, token: carol-token-0123456789, scopes: [approve], groups: [release-managers], environments: [staging] }
    - { name: root, token: root-token-0123456789, scopes: [admin] }
`;

/** The PRD dialect: a target per environment; `protection` indented under production. */
function prd(protection: string, more = ''): string {
  return `${TOKENS}
fraises:
  api:
    type: api
    environments:
      staging:
        branch: main
        target: { provider: bare-metal, app_path: /srv/api-staging }
      production:
        branch: main
        target: { provider: bare-metal, app_path: /srv/api }
        protection:
${protection.replace(/^/gm, '          ')}
${more}`;
}

function productionOf(yaml: string) {
  const { config } = parseConfig(yaml, { env: {} });
  return config.fraises[0]!.environments.find((e) => e.name === 'production')!;
}

describe('protection in fraises.yaml', () => {
  it('loads every gate with its defaults (PRD dialect)', () => {
    const env = productionOf(
      prd(`approvals: {required: 2, approvers: [alice, release-managers]}
windows: [{days: mon-fri, from: "9:00", to: "17:00", timezone: Europe/Paris}]
freeze: [{from: 2026-12-20T00:00:00+01:00, to: 2027-01-04, reason: holidays}]
promotion: {from: staging, soak: 30m}
wait_timer: 10m`),
    );
    expect(env.protection).toEqual({
      approvals: { required: 2, approvers: ['alice', 'release-managers'], selfApproval: false, timeoutSeconds: 86_400, carryApprovals: false },
      windows: [{ days: [1, 2, 3, 4, 5], from: '09:00', to: '17:00', timezone: 'Europe/Paris' }],
      onOutside: 'wait',
      freezes: [{ from: '2026-12-19T23:00:00.000Z', to: '2027-01-04T00:00:00.000Z', reason: 'holidays' }],
      promotion: { from: 'staging', soakSeconds: 1800 },
      onPromotionMissing: 'wait',
      waitTimerSeconds: 600,
    });
    const staging = parseConfig(prd('wait_timer: 1m'), { env: {} }).config.fraises[0]!.environments[0]!;
    expect(staging.protection).toBeUndefined();
  });

  it('reads every key as written: self_approval, timeout, carry_approvals, on_outside, on_missing', () => {
    const env = productionOf(
      prd(`approvals: {approvers: [alice], self_approval: true, timeout: 2h, carry_approvals: true}
windows: [{days: "sat,sun", from: "22:00", to: "06:00"}]
on_outside: refuse
promotion: {from: staging, on_missing: refuse}`),
    );
    expect(env.protection).toEqual({
      approvals: { required: 1, approvers: ['alice'], selfApproval: true, timeoutSeconds: 7200, carryApprovals: true },
      windows: [{ days: [6, 7], from: '22:00', to: '06:00', timezone: 'UTC' }],
      onOutside: 'refuse',
      freezes: [],
      promotion: { from: 'staging', soakSeconds: 0 },
      onPromotionMissing: 'refuse',
    });
  });

  it('the top-level environments.<name> block applies to every fraise\'s environment of that name; an own block replaces it whole (Python dialect)', () => {
    const { config } = parseConfig(
      `${TOKENS}
environments:
  production:
    server: prod.example.com
    protection:
      approvals: {required: 1, approvers: [release-managers]}
      promotion: {from: staging, soak: 15m}
fraises:
  web:
    type: api
    environments:
      staging: {branch: main, app_path: /srv/web-staging, systemd_service: web-staging}
      production: {branch: main, app_path: /srv/web, systemd_service: web}
  api:
    type: api
    environments:
      staging: {branch: main, app_path: /srv/api-staging, systemd_service: api-staging}
      production:
        branch: main
        app_path: /srv/api
        systemd_service: api
        protection:
          wait_timer: 5m
  tools:
    type: api
    environments:
      staging: {branch: main, app_path: /srv/tools-staging, systemd_service: tools-staging}
      production:
        branch: main
        app_path: /srv/tools
        systemd_service: tools
        protection: {}
`,
      { env: {} },
    );
    const of = (fraise: string) => config.fraises.find((f) => f.name === fraise)!.environments.find((e) => e.name === 'production')!;
    expect(of('web').target.config.host).toBe('prod.example.com');
    expect(of('web').protection).toMatchObject({ approvals: { required: 1, approvers: ['release-managers'] }, promotion: { from: 'staging', soakSeconds: 900 } });
    expect(of('api').protection).toEqual({ windows: [], onOutside: 'wait', freezes: [], onPromotionMissing: 'wait', waitTimerSeconds: 300 });
    // An empty block of its own turns the shared rules off.
    expect(of('tools').protection).toBeUndefined();
    expect(config.fraises[0]!.environments[0]!.protection).toBeUndefined();
  });

  it('token groups and the approve scope load; admin implies approve, deploy does not', () => {
    const { config } = parseConfig(prd('wait_timer: 1m'), { env: {} });
    const token = (name: string) => config.settings.tokens.find((t) => t.name === name)!;
    expect(token('bob').groups).toEqual(new Set(['release-managers']));
    expect(token('alice').groups).toBeUndefined();
    expect(token('alice').scopes).toEqual(new Set(['approve', 'read']));
    expect(token('ci').scopes.has('approve')).toBe(false);
    expect(token('root').scopes).toEqual(new Set(['admin', 'deploy', 'approve', 'read']));
  });
});

describe('days, times and instants', () => {
  it('reads days as ranges, lists and every day, a range wrapping past Sunday', () => {
    expect(parseDays('mon-fri')).toEqual([1, 2, 3, 4, 5]);
    expect(parseDays('sat,sun')).toEqual([6, 7]);
    expect(parseDays(['mon', 'wed'])).toEqual([1, 3]);
    expect(parseDays(['Monday', 'thu-fri'])).toEqual([1, 4, 5]);
    expect(parseDays('daily')).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(parseDays('*')).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(parseDays('fri-mon')).toEqual([1, 5, 6, 7]);
    expect(parseDays('mon-fry')).toBe('"mon-fry" is not a day or a range of days; did you mean "fri"? (mon, tue, wed, thu, fri, sat, sun; mon-fri; daily)');
    expect(parseDays([])).toBe('names no day');
  });

  it('reads an instant with its offset, or a date at midnight UTC; refuses what does not exist', () => {
    expect(parseInstant('2026-12-20T00:00:00+01:00')).toBe('2026-12-19T23:00:00.000Z');
    expect(parseInstant('2026-12-20 08:30Z')).toBe('2026-12-20T08:30:00.000Z');
    expect(parseInstant('2026-12-20')).toBe('2026-12-20T00:00:00.000Z');
    expect(parseInstant('2026-02-30')).toBeUndefined();
    expect(parseInstant('2026-12-20T24:00:00Z')).toBeUndefined();
    // Without an offset the instant depends on where Fraisier runs: refused.
    expect(parseInstant('2026-12-20T08:00:00')).toBeUndefined();
    expect(parseInstant('next monday')).toBeUndefined();
  });
});

describe('protection errors, by key path and line', () => {
  const P = 'fraises.api.environments.production.protection';

  it('times, days, time zones and freezes', () => {
    const errors = configErrors(
      prd(`windows:
  - {days: mon-fry, from: "09:00", to: "17:00"}
  - {days: daily, from: "09:00", to: "17:00", timezone: Europe/Pariss}
  - {days: daily, from: "09:00", to: "09:00"}
freeze:
  - {from: 2027-01-04, to: 2026-12-20}
  - {from: "Dec 20", to: 2026-12-20T00:00:00}`),
    );
    expect(errors).toEqual([
      `${P}.windows[0].days: "mon-fry" is not a day or a range of days; did you mean "fri"? (mon, tue, wed, thu, fri, sat, sun; mon-fri; daily) (line 22)`,
      `${P}.windows[1].timezone: unknown time zone "Europe/Pariss"; did you mean "Europe/Paris"? (line 23)`,
      `${P}.windows[2].to: is the same as from: for a whole day write from: "00:00", to: "24:00" (line 24)`,
      `${P}.freeze[0].to: must be after from (2027-01-04T00:00:00.000Z) (line 26)`,
      `${P}.freeze[1].from: expected an instant with its offset, such as 2026-12-20T00:00:00+01:00, or a date such as 2026-12-20 (midnight UTC), got "Dec 20" (line 27)`,
      `${P}.freeze[1].to: expected an instant with its offset, such as 2026-12-20T00:00:00+01:00, or a date such as 2026-12-20 (midnight UTC), got "2026-12-20T00:00:00" (line 27)`,
    ]);
  });

  it('unknown keys (with the key meant), bad values, durations', () => {
    const errors = configErrors(
      prd(`approvals: {required: 0, timout: 2h}
on_outside: later
promotion: {from: staging, soak: forever}
wait_timer: soon
windows: [{days: daily, from: "25:00", to: "24:00"}, {days: daily, from: "09:00", to: "24:01"}]`),
    );
    expect(errors).toEqual([
      `${P}.approvals.required: at least 1 approver (line 21)`,
      `${P}.approvals.timout: unknown key "timout"; did you mean "timeout"? (line 21)`,
      `${P}.windows[0].from: expected a time "HH:MM", 00:00 to 23:59 (quoted: "09:00") (line 25)`,
      `${P}.windows[1].to: expected a time "HH:MM", 00:00 to 24:00 (quoted: "17:00") (line 25)`,
      `${P}.on_outside: expected wait (the deployment waits for it) or refuse (it ends cancelled) (line 22)`,
      `${P}.promotion.soak: expected seconds (a number) or a duration such as "30s", "5m", "1h" (line 23)`,
      `${P}.wait_timer: expected seconds (a number) or a duration such as "30s", "5m", "1h" (line 24)`,
    ]);
  });

  it('promotion names another environment of the same fraise', () => {
    expect(configErrors(prd('promotion: {from: stagign}'))).toEqual([`${P}.promotion.from: fraise "api" has no environment "stagign"; did you mean "staging"? (line 21)`]);
    expect(configErrors(prd('promotion: {from: production}'))).toEqual([`${P}.promotion.from: promotes production from itself: name the environment a commit must pass first, e.g. staging (line 21)`]);
    // Through the top-level block: said there, naming the fraise it does not fit.
    const shared = `
environments:
  production:
    protection:
      promotion: {from: staging}
fraises:
  api:
    type: api
    environments:
      staging: {branch: main, app_path: /srv/api-staging}
      production: {branch: main, app_path: /srv/api}
  etl:
    type: api
    environments:
      production: {branch: main, app_path: /srv/etl}
`;
    expect(configErrors(shared)).toEqual([
      'environments.production.protection.promotion.from: fraise "etl" has no environment "staging" (it has production) (for etl/production; give it a protection block of its own to differ) (line 5)',
    ]);
  });

  it('a promotion cycle is refused', () => {
    const cycle = prd('promotion: {from: staging}').replace('target: { provider: bare-metal, app_path: /srv/api-staging }', 'target: { provider: bare-metal, app_path: /srv/api-staging }\n        protection: {promotion: {from: production}}');
    expect(configErrors(cycle)).toEqual(['fraises.api.environments.production.protection.promotion.from: promotion forms a cycle, so none of them could ever deploy: production ← staging ← production (line 22)']);
  });

  it('more approvers required than tokens may approve the environment', () => {
    // alice and bob may; carol is limited to staging; ci lacks the approve scope.
    expect(configErrors(prd('approvals: {required: 3, approvers: [alice, release-managers, ci]}'))).toEqual([
      `${P}.approvals.required: needs 3 distinct approvers, and only 2 tokens may approve api/production (alice, bob): an approver is a token with the approve scope reaching the environment, named in approvers or in one of its groups (line 21)`,
    ]);
    expect(configErrors(prd('approvals: {required: 2, approvers: [release-managers]}'))).toEqual([
      `${P}.approvals.required: needs 2 distinct approvers, and only 1 token may approve api/production (bob): an approver is a token with the approve scope reaching the environment, named in approvers or in one of its groups (line 21)`,
    ]);
    // Without approvers listed, any token that may approve counts: alice, bob, root.
    expect(productionOf(prd('approvals: {required: 3}')).protection?.approvals?.required).toBe(3);
  });

  it('an approver naming no token nor group is a warning', () => {
    const { warnings } = parseConfig(prd('approvals: {approvers: [alice, relase-managers]}'), { env: {} });
    expect(warnings.filter((w) => w.path.startsWith(P)).map(formatProblem)).toEqual([
      `${P}.approvals.approvers: "relase-managers" is neither a token nor a token group; did you mean "release-managers"? (line 21)`,
    ]);
  });

  it('an unknown scope is refused, approve listed among the known ones', () => {
    try {
      parseConfig(prd('wait_timer: 1m').replace('scopes: [approve] }', 'scopes: [aprove] }'), { env: {} });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.map(formatProblem)[0]).toMatch(/^fraisier\.tokens\[1\]\.scopes\[0\]: expected one of "read", "deploy", "approve", "admin", got "aprove"; did you mean "approve"\?/);
    }
  });
});

describe('config validate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fraisier-protection-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists each protected environment\'s gates', async () => {
    const yaml = prd(`approvals: {required: 2, approvers: [alice, release-managers], timeout: 4h}
windows: [{days: mon-fri, from: "09:00", to: "17:00", timezone: Europe/Paris}]
on_outside: refuse
freeze: [{from: 2026-12-20T00:00:00+01:00, to: 2027-01-04T00:00:00+01:00, reason: holidays}]
promotion: {from: staging, soak: 30m}
wait_timer: 10m`);
    expect(describeProtection(productionOf(yaml).protection!)).toEqual([
      'freeze: 2026-12-19T23:00:00.000Z to 2027-01-03T23:00:00.000Z: holidays',
      'windows: mon-fri 09:00-17:00 Europe/Paris (outside them: refused)',
      'promotion: after it succeeded in staging healthy for 30m',
      'approvals: 2 of alice, release-managers (within 4h)',
      'wait timer: 10m',
    ]);
    const file = join(dir, 'fraises.yaml');
    writeFileSync(file, yaml);
    const text = await runCli(['config', 'validate', '--config', file]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      'Protected environments (their deployments pass these gates first):\n  api/production: freeze: 2026-12-19T23:00:00.000Z to 2027-01-03T23:00:00.000Z: holidays; windows: mon-fri 09:00-17:00 Europe/Paris (outside them: refused); promotion: after it succeeded in staging healthy for 30m; approvals: 2 of alice, release-managers (within 4h); wait timer: 10m\n',
    );
    const json = JSON.parse((await runCli(['config', 'validate', '--config', file, '--json'])).stdout);
    expect(json.protection).toEqual([{ fraise: 'api', environment: 'production', rules: describeProtection(productionOf(yaml).protection!) }]);
  });
});
