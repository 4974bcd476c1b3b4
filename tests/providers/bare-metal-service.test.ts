import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';

/*
 * Stopping or starting a bare-metal environment outside a deployment runs its commands with what
 * a deployment's commands see of it: its own variables and where it lives (a stop script that
 * reads FRAISIER_SHARED_PATH for its pid file must find it here too).
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

describe('bare-metal stop and start outside a deployment', () => {
  let t: TestApp;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fraisier-service-'));
    // As a first deployment leaves it: the commands run in the current release.
    mkdirSync(join(dir, 'app', 'current'), { recursive: true });
    const record = (what: string) => `[sh, -c, 'echo "${what} $FRAISIER_FRAISE/$FRAISIER_ENVIRONMENT $FRAISIER_APP_PATH $FRAISIER_SHARED_PATH $GREETING" > "$OUT/${what}"']`;
    const yaml = `
fraises:
  hello:
    type: api
    environments:
      local:
        app_path: ${join(dir, 'app')}
        target:
          provider: bare-metal
          commands:
            restart: [/bin/true]
            stop: ${record('stop')}
            start: ${record('start')}
        env:
          GREETING: bonjour
          OUT: ${dir}
`;
    t = await createTestApp(sqlite, { config: testConfig(yaml) });
  });
  afterAll(async () => {
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs stop and start with the environment\'s variables and paths', async () => {
    for (const action of ['stop', 'start'] as const) {
      const field = `${action}Environment`;
      const result = await gql(t.app, `mutation { ${field}(fraise: "hello", environment: "local") { success message } }`);
      expect(result.data[field], JSON.stringify(result)).toMatchObject({ success: true });
      expect(readFileSync(join(dir, action), 'utf8').trim()).toBe(`${action} hello/local ${join(dir, 'app')} ${join(dir, 'app', 'shared')} bonjour`);
    }
  });
});
