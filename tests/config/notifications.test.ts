import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/problems.js';
import { parseConfig } from '../../src/config/load.js';
import { maskSecrets } from '../../src/config/secrets.js';
import { requireSecrets, SecretsUnavailableError } from '../../src/config/unavailable-secrets.js';
import { destinationsFor } from '../../src/notifications/routes.js';
import { runCli } from '../setup/cli.js';

/*
 * `notifications:` as the Python Fraisier wrote it (lists by event, destinations by type with its
 * keys), at the top level, per environment name and per environment; how the blocks add up; what
 * is an error (an unset ${VAR}, an unknown type or key, a destination missing what it needs) and
 * what a warning (bitbucket_issue, a script path); and secrets that never show.
 */

const SLACK = 'https://hooks.slack.com/services/T000/B000/sEcReTsLaCkToKeN';
const BASE = `
notifications:
  on_failure:
    - { type: slack, webhook_url: "${SLACK}" }
    - { type: github_issue, token: ghp_secretsecret, repo: acme/api, labels: [deploy-failure] }
  on_success: []
environments:
  production:
    notifications:
      on_failure: [{ type: pagerduty, routing_key: "\${PD_KEY}" }]
  staging:
    notifications: { enabled: false }
fraises:
  api:
    type: api
    environments:
      production:
        app_path: /srv/api
        notifications:
          on_failure:
            - { type: slack, webhook_url: "${SLACK}" }
            - { type: email, from_email: fraisier@example.com, to_emails: [ops@example.com], smtp_password: "\${SMTP_PASSWORD}" }
          on_started: [{ type: webhook, url: "https://ci.example.com/hooks/deploys?token=qSeCrEtQuErY", headers: { Authorization: "Bearer hEaDeRsEcReT" } }]
      staging:
        app_path: /srv/api-staging
        notifications:
          on_failure: [{ type: discord, webhook_url: "https://discord.com/api/webhooks/1/dIsCoRdSeCrEt" }]
      preview:
        app_path: /srv/api-preview
        notifications:
          inherit: false
          on_failure: [{ type: webhook, url: "https://preview.example.com/hook" }]
`;
const ENV = { PD_KEY: 'pDrOuTiNgKeYpDrOuTiNgKeY00000000', SMTP_PASSWORD: 'sMtPpAsSwOrD' };
const SECRET_VALUES = ['sEcReTsLaCkToKeN', 'ghp_secretsecret', ENV.PD_KEY, ENV.SMTP_PASSWORD, 'qSeCrEtQuErY', 'hEaDeRsEcReT', 'dIsCoRdSeCrEt'];

const problemsOf = (yaml: string, env: Record<string, string> = ENV) => {
  try {
    return parseConfig(yaml, { env }).warnings;
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
};

describe('notifications in fraises.yaml', () => {
  it('adds the blocks up (top level, environment name, environment), each destination once', () => {
    const { config } = parseConfig(BASE, { env: ENV });
    const route = (environment: string, event: 'failure' | 'success' | 'started') => destinationsFor(config, 'api', environment, event).map((d) => `${d.type} ${d.path}`);
    expect(route('production', 'failure')).toEqual([
      'slack notifications.on_failure[0]',
      'github_issue notifications.on_failure[1]',
      'pagerduty environments.production.notifications.on_failure[0]',
      'email fraises.api.environments.production.notifications.on_failure[1]',
    ]);
    // PagerDuty and the issue resolve on the next success, though only on_failure lists them.
    expect(route('production', 'success')).toEqual(['github_issue notifications.on_failure[1]', 'pagerduty environments.production.notifications.on_failure[0]']);
    expect(route('production', 'started')).toEqual(['webhook fraises.api.environments.production.notifications.on_started[0]']);
    // enabled: false under the top-level environments.staging silences staging, its own list included.
    expect(route('staging', 'failure')).toEqual([]);
    // inherit: false keeps the blocks above out.
    expect(route('preview', 'failure')).toEqual(['webhook fraises.api.environments.preview.notifications.on_failure[0]']);
    const [slack] = destinationsFor(config, 'api', 'production', 'failure');
    expect(slack).toMatchObject({ type: 'slack', target: 'https://hooks.slack.com/********' });
    expect(slack!.settings).toEqual({ type: 'slack', webhook_url: SLACK });
  });

  it('never shows a secret: the settings are not enumerable, and config show masks the rest', () => {
    const { config } = parseConfig(BASE, { env: ENV });
    const printed = [JSON.stringify(config), JSON.stringify(maskSecrets(config))].join('\n');
    for (const secret of SECRET_VALUES) expect(printed).not.toContain(secret);
    expect(printed).toContain('"target":"POST https://ci.example.com/********"');
  });

  it('refuses an unset ${VAR} at load, naming the key; loaded to read, the destination is unavailable and serving is refused', () => {
    expect(problemsOf(BASE, { SMTP_PASSWORD: 'x' })).toEqual([
      { severity: 'error', path: 'environments.production.notifications.on_failure[0].routing_key', line: 10, message: 'environment variable PD_KEY is not set (write ${PD_KEY:-default} to give a default)' },
    ]);
    const { config } = parseConfig(BASE, { env: { SMTP_PASSWORD: 'x' }, secrets: 'deferred' });
    expect(config.unavailableSecrets).toEqual([{ path: 'environments.production.notifications.on_failure[0].routing_key', variable: 'PD_KEY', line: 10 }]);
    const pagerduty = destinationsFor(config, 'api', 'production', 'failure').find((d) => d.type === 'pagerduty');
    expect(pagerduty?.unavailable).toBe(true);
    expect(() => requireSecrets(config, 'serve')).toThrow(SecretsUnavailableError);
    expect(() => requireSecrets(config, 'serve')).toThrow('cannot serve: environments.production.notifications.on_failure[0].routing_key needs PD_KEY, which is not set (line 10)');
  });

  it('reports an unknown type or key, a missing setting and a bad value by key path and line', () => {
    const yaml = (entry: string) => `notifications:\n  on_failure:\n    - ${entry}\nfraises:\n  api:\n    type: api\n    environments:\n      production: { app_path: /srv/api }\n`;
    expect(problemsOf(yaml('{ type: slak, webhook_url: "https://hooks.slack.com/x" }'))).toEqual([
      expect.objectContaining({ severity: 'error', path: 'notifications.on_failure[0].type', line: 3, message: expect.stringMatching(/got "slak"; did you mean "slack"\?$/) }),
    ]);
    expect(problemsOf(yaml('{ type: slack, webhook: "https://hooks.slack.com/x" }'))).toEqual([
      expect.objectContaining({ path: 'notifications.on_failure[0].webhook_url', message: 'required (expected string)' }),
      expect.objectContaining({ path: 'notifications.on_failure[0].webhook', message: 'unknown key "webhook" (known keys here: type, webhook_url)' }),
    ]);
    expect(problemsOf(yaml('{ type: email, from_email: not-an-address, to_emails: [] }')).map((p) => [p.path, p.message])).toEqual([
      ['notifications.on_failure[0].from_email', 'expected an e-mail address such as ops@example.com'],
      ['notifications.on_failure[0].to_emails', 'at least one recipient'],
    ]);
    expect(problemsOf(yaml('{ type: gitea_issue, token: t, repo: acme/api }')).map((p) => [p.path, p.message])).toEqual([
      ['notifications.on_failure[0].type', 'a gitea_issue needs api_base: the address of your Gitea or Forgejo (e.g. https://git.example.com)'],
    ]);
    expect(problemsOf(yaml('{ type: webhook, url: "ftp://example.com/hook" }')).map((p) => [p.path, p.message])).toEqual([['notifications.on_failure[0].url', 'expected an http(s) URL']]);
    expect(problemsOf(`fraisier:\n  public_url: "https://user:pw@deploy.example.com"\n${yaml('{ type: slack, webhook_url: "https://h.example/x" }')}`).map((p) => p.path)).toEqual(['fraisier.public_url']);
  });

  it('loads what cannot be sent with a warning: bitbucket_issue, a script path, an issue under on_started', () => {
    const warnings = problemsOf(`
notifications:
  on_failure: [{ type: bitbucket_issue, token: t, repo: acme/api }]
  on_started: [{ type: github_issue, token: t, repo: acme/api }]
  slack: { webhook_url: "https://hooks.slack.com/old" }
fraises:
  api:
    type: api
    environments:
      production:
        app_path: /srv/api
        notifications: { on_success: scripts/notify_success, on_failure: scripts/notify_failure }
`).filter((w) => !w.path.startsWith('git.'));
    expect(warnings.map((w) => [w.severity, w.path])).toEqual([
      ['warning', 'fraises.api.environments.production.notifications.on_success'],
      ['warning', 'fraises.api.environments.production.notifications.on_failure'],
      ['warning', 'notifications.on_started[0].type'],
      ['warning', 'notifications.on_failure[0].type'],
    ]);
    expect(warnings[3]!.message).toMatch(/^cannot be delivered: Bitbucket Cloud removed its issue tracker/);
  });

  describe('fraisier config validate', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'fraisier-notify-config-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('says bitbucket_issue cannot be delivered, and that an unset variable is missing', async () => {
      const file = join(dir, 'fraises.yaml');
      writeFileSync(file, `notifications:\n  on_failure:\n    - { type: bitbucket_issue, token: t, repo: acme/api }\n    - { type: slack, webhook_url: "\${SLACK_URL}" }\nfraises:\n  api:\n    type: api\n    environments:\n      production: { app_path: /srv/api }\n`);
      const missing = await runCli(['config', 'validate', '--config', file]);
      expect(missing.code).toBe(2);
      expect(missing.stdout + missing.stderr).toContain('notifications.on_failure[1].webhook_url: environment variable SLACK_URL is not set');
      const valid = await runCli(['config', 'validate', '--config', file], { env: { SLACK_URL: 'https://hooks.slack.com/services/T/B/sEcReT' } });
      expect(valid.code).toBe(0);
      expect(valid.stdout).toContain('notifications.on_failure[0].type: cannot be delivered: Bitbucket Cloud removed its issue tracker');
      const shown = await runCli(['config', 'show', '--json', '--config', file], { env: { SLACK_URL: 'https://hooks.slack.com/services/T/B/sEcReT' } });
      expect(shown.code).toBe(0);
      expect(shown.stdout).not.toContain('sEcReT');
      expect(JSON.parse(shown.stdout).notifications.top.lists.failure).toEqual([expect.objectContaining({ type: 'slack', target: 'https://hooks.slack.com/********', path: 'notifications.on_failure[1]' })]);
    });
  });
});
