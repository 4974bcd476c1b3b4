import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { SecretsUnavailableError } from '../../src/config/unavailable-secrets.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';

/*
 * A configuration loaded to read, with its secrets unset, reads the store as any other; whatever
 * would use a secret (serve, run deployments, deploy, roll back, ask a target) refuses, naming
 * each key and its variable, and queues nothing.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
const open = { kind: 'open' } as const;

describe('a configuration with unavailable secrets', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await sqlite.createDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  const load = () =>
    parseConfig(
      `fraisier:\n  database: ${database.url}\ngit:\n  github:\n    webhook_secret: \${GITHUB_SECRET}\nfraises:\n  api:\n    type: api\n    environments:\n      production:\n        app_path: /srv/api\n        systemd_service: api\n        env: { API_TOKEN: "\${API_TOKEN}" }\n`,
      { env: {}, secrets: 'deferred' },
    ).config;
  const named = 'git.github.webhook_secret needs GITHUB_SECRET, which is not set (line 5); fraises.api.environments.production.env.API_TOKEN needs API_TOKEN, which is not set (line 13)';

  it('reads, and refuses to serve, run, deploy, roll back or ask a target', async () => {
    const app = createApp({ config: load(), logger: pino({ level: 'silent' }) });
    try {
      await app.init();
      expect((await app.services.queries.deployments(open, { limit: 5 })).length).toBe(0);
      expect(app.services.catalog.fraises.map((f) => f.name)).toEqual(['api']);

      await expect(app.start({ port: 0 })).rejects.toThrow(new SecretsUnavailableError('serve', load().unavailableSecrets!));
      await expect(app.start({ port: 0 })).rejects.toThrow(`cannot serve: ${named}`);
      await expect(app.startWorkers()).rejects.toThrow(`cannot run deployments: ${named}`);
      await expect(app.services.deployments.deploy(open, { fraise: 'api', environment: 'production', commit: 'abcdef1', trigger: 'manual' })).rejects.toThrow(`cannot deploy: ${named}`);
      await expect(app.services.deployments.rollback(open, { fraise: 'api', environment: 'production', trigger: 'manual' })).rejects.toThrow(`cannot roll back: ${named}`);
      await expect(app.services.targets.logs(open, 'api', 'production', 10)).rejects.toThrow(`cannot ask the target of api/production: ${named}`);
      await expect(app.services.deployments.deploy(open, { fraise: 'api', environment: 'production', commit: 'abcdef1', trigger: 'manual' })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      // Nothing was queued on the way.
      expect((await app.services.queries.deployments(open, { limit: 5 })).length).toBe(0);
    } finally {
      await app.stop();
    }
  });
});
