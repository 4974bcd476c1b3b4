import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { startTestServer } from '../setup/app.js';
import { runCli } from '../setup/cli.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { recordDeployment } from '../setup/notifications.js';
import { CLI_TIMEOUT, inBothModes, lines, workdir, type Workdir } from './support.js';

/*
 * `fraisier notifications` with a change of health among them (no deployment), in local mode and
 * against a server sharing the store: the same answer, the event shown as HEALTH DOWN, the
 * deployment as "-", and the change in --json.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

function config(databaseUrl: string): string {
  return `
fraisier:
  database: ${databaseUrl}
notifications:
  on_failure: [{ type: webhook, url: "http://127.0.0.1:9/hooks" }]
fraises:
  api:
    type: api
    environments:
      production:
        target: { provider: bare-metal, host: api.example.com, app_path: /srv/api }
`;
}

describe('fraisier notifications with a change of health', { timeout: CLI_TIMEOUT }, () => {
  let dir: Workdir;
  let database: TestDatabase;
  let configFile: string;
  let server: App;
  let url: string;
  let at: string;
  let deploymentId: number;

  const local = (args: string[]) => runCli([...args, '--config', configFile]);
  const remote = (args: string[]) => runCli([...args, '--url', url]);
  /** Runs the command in both modes at once: they must answer the same. */
  const both = inBothModes(local, remote);

  beforeAll(async () => {
    dir = workdir();
    database = await sqlite.createDatabase();
    const yaml = config(database.url);
    configFile = dir.file('fraises.yaml', yaml);
    // The server sends nothing (no workers): the notifications stay PENDING, as written.
    ({ app: server, url } = await startTestServer(yaml, database.url, { accept: () => false, scheduler: false }));
    deploymentId = await recordDeployment(server.store, server.outbox, { status: 'failed', errorMessage: 'boom', at: Date.now() - 60_000, commit: 'a'.repeat(40) });
    at = new Date().toISOString();
    await server.store.db.transaction().execute((trx) =>
      server.outbox.healthChanged(trx, { fraise: 'api', environment: 'production', status: 'down', previous: 'healthy', message: 'http://10.0.0.5/health: ECONNREFUSED', at }),
    );
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
    dir?.dispose();
  });

  it('lists it with the deployments\' notifications, as HEALTH DOWN without a deployment', async () => {
    const table = await both(['notifications']);
    expect(table.code).toBe(0);
    const [header, health, failure] = lines(table.stdout);
    expect(header).toMatch(/^ID +DEPLOYMENT +PAIR +EVENT +DESTINATION +STATUS +TRIES +LAST$/);
    expect(health).toMatch(/^ 2 +- +api\/production +HEALTH DOWN +webhook .* PENDING +0 /);
    expect(failure).toMatch(new RegExp(`^ 1 +#${deploymentId} +api/production +FAILURE +webhook .* PENDING +0 `));

    const [notification] = JSON.parse((await both(['notifications', '--json'])).stdout);
    expect(notification).toMatchObject({
      eventId: `hapi/production.down.${at}`,
      event: 'HEALTH',
      deployment: null,
      healthChange: { status: 'DOWN', previous: 'HEALTHY', message: 'http://10.0.0.5/health: ECONNREFUSED', at },
    });
  });
});
