import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { runCli } from '../setup/cli.js';
import { DIALECTS } from '../setup/dialects.js';
import { CLI_TIMEOUT, workdir, type Workdir } from './support.js';

/*
 * The `logs` query (what `fraisier logs` asks a server): the read scope, NOT_FOUND for unknown
 * names, the line count checked, the provider's output as it is; and the CLI's token handling.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
const READ = 'logs-read-token-0123456789';
const OTHER = 'logs-other-token-0123456789';
const LOGS = 'query($f: String!, $e: String!, $n: Int) { logs(fraise: $f, environment: $e, lines: $n) }';

describe('the logs query and the CLI with a token', { timeout: CLI_TIMEOUT }, () => {
  let dir: Workdir;
  let t: TestApp;
  let url: string;

  beforeAll(async () => {
    dir = workdir();
    mkdirSync(join(dir.path, 'app', 'current'), { recursive: true });
    t = await createTestApp(sqlite, {
      config: testConfig(`
fraisier:
  tokens:
    - { name: viewer, token: ${READ}, scopes: [read] }
    - { name: other, token: ${OTHER}, scopes: [admin], fraises: [other] }
fraises:
  web:
    type: api
    environments:
      prod:
        app_path: ${join(dir.path, 'app')}
        commands:
          restart: [node, -e, "0"]
          logs: [node, -e, "console.log('line\\\\nlast ' + process.argv[1])"]
  other:
    type: worker
    environments:
      prod: { target: { provider: kubernetes, namespace: jobs } }
`),
    });
    ({ url } = await t.app.start({ port: 0 }));
  });
  afterAll(async () => {
    await t?.dispose();
    dir?.dispose();
  });

  const as = (token?: string): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

  it('answers the provider output to the read scope; refuses, checks and names what is wrong', async () => {
    expect((await gql(t.app, LOGS, { f: 'web', e: 'prod', n: 3 }, as(READ))).data).toEqual({ logs: 'line\nlast 3' });
    expect((await gql(t.app, '{ logs(fraise: "web", environment: "prod") }', {}, as(READ))).data).toEqual({ logs: 'line\nlast 100' });
    const cases: [Record<string, unknown>, string | undefined, string, string][] = [
      [{ f: 'web', e: 'prod' }, undefined, 'UNAUTHENTICATED', 'authentication required: send Authorization: Bearer <token>'],
      [{ f: 'web', e: 'prod' }, OTHER, 'FORBIDDEN', 'token "other" lacks the read scope on web/prod'],
      [{ f: 'webb', e: 'prod' }, READ, 'NOT_FOUND', 'unknown fraise "webb"; did you mean "web"?'],
      [{ f: 'web', e: 'staging' }, READ, 'NOT_FOUND', 'fraise "web" has no environment "staging" (it has prod)'],
      [{ f: 'web', e: 'prod', n: 0 }, READ, 'BAD_USER_INPUT', 'lines must be between 1 and 10000 (got 0)'],
      [{ f: 'other', e: 'prod' }, OTHER, 'CONFLICT', 'other/prod: target provider "kubernetes" is not available in this Fraisier (available: bare-metal, docker-compose, coolify)'],
    ];
    for (const [variables, token, code, message] of cases) {
      const result = await gql(t.app, LOGS, variables, as(token));
      expect(result.errors?.[0], JSON.stringify(variables)).toMatchObject({ message, extensions: { code } });
    }
  });

  it('the CLI sends --token (or FRAISIER_TOKEN); without one the server refuses: exit 1, one line', async () => {
    const [withFlag, withEnv, without] = await Promise.all([
      runCli(['logs', 'web', 'prod', '-n', '2', '--url', url, '--token', READ]),
      runCli(['logs', 'web', 'prod'], { env: { FRAISIER_URL: url, FRAISIER_TOKEN: READ } }),
      runCli(['logs', 'web', 'prod', '--url', url]),
    ]);
    expect(withFlag).toMatchObject({ code: 0, stdout: 'line\nlast 2\n', stderr: '' });
    expect(withEnv).toMatchObject({ code: 0, stdout: 'line\nlast 100\n' });
    expect(without).toMatchObject({ code: 1, stdout: '', stderr: 'fraisier: authentication required: send Authorization: Bearer <token>\n' });
  });
});
