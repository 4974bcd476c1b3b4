import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { configErrors } from '../setup/config-errors.js';

/*
 * The monitor's settings: the top level's `monitor:`, and an environment's own (an interval of
 * its own, or enabled: false), in both dialects of an environment; bad values are refused with
 * their key and line.
 */

const PRD = (monitor: string) => `
monitor:
  interval: 2m
fraises:
  api:
    type: api
    environments:
      production:
        target: { provider: bare-metal, app_path: /srv/api }
        monitor: ${monitor}
      staging:
        target: { provider: bare-metal, app_path: /srv/api-staging }
`;

const PYTHON = (monitor: string) => `
name: orchard
environments:
  production: { server: prod.example.com }
fraises:
  api:
    type: api
    environments:
      production:
        app_path: /srv/api
        systemd_service: api.service
        health_check: { url: "http://localhost:8000/health", timeout: 5 }
        monitor:
${monitor}
`;

describe('monitor settings', () => {
  it('an environment sets its own interval over the top level\'s; the others keep the top level\'s', () => {
    const { config } = parseConfig(PRD('{ interval: 30s }'), { env: {} });
    expect(config.monitor).toEqual({ enabled: true, intervalSeconds: 120 });
    const [production, staging] = config.fraises[0]!.environments;
    expect(production!.monitor).toEqual({ intervalSeconds: 30 });
    expect(staging!.monitor).toBeUndefined();
  });

  it('an environment may turn its checks off', () => {
    const { config } = parseConfig(PRD('{ enabled: false }'), { env: {} });
    expect(config.fraises[0]!.environments[0]!.monitor).toEqual({ enabled: false });
  });

  it('reads an environment\'s monitor in the Python Fraisier\'s dialect too', () => {
    const { config } = parseConfig(PYTHON('          interval: 45s\n          enabled: true'), { env: {} });
    expect(config.monitor).toBeUndefined();
    expect(config.fraises[0]!.environments[0]).toMatchObject({ target: { provider: 'bare-metal' }, monitor: { enabled: true, intervalSeconds: 45 } });
  });

  it('refuses bad values, naming the key and its line', () => {
    expect(configErrors(PRD('{ interval: 0 }'))).toEqual([
      'fraises.api.environments.production.monitor.interval: interval must be longer than 0 (e.g. 30s); to stop checking this environment, set enabled: false (line 10)',
    ]);
    expect(configErrors(PRD('{ interval: soon }'))).toEqual([
      'fraises.api.environments.production.monitor.interval: expected seconds (a number) or a duration such as "30s", "5m", "1h" (line 10)',
    ]);
    expect(configErrors(PRD('{ enabled: "no" }'))).toEqual(['fraises.api.environments.production.monitor.enabled: expected boolean, got "no" (line 10)']);
    expect(configErrors(PRD('{ intervall: 30s }'))).toEqual(['fraises.api.environments.production.monitor.intervall: unknown key "intervall"; did you mean "interval"? (line 10)']);
    expect(configErrors(PYTHON('          interval: -5'))).toEqual([expect.stringMatching(/^fraises\.api\.environments\.production\.monitor\.interval: .* \(line 14\)$/)]);
  });
});
