import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { findDeployment } from '../../src/store/deployment.repository.js';
import { startTestServer } from '../setup/app.js';
import { runCli } from '../setup/cli.js';
import { waitForEnd, waitForStep, waitUntil } from '../setup/deployments.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { createServiceRepo, type ServiceRepo } from '../setup/service-repo.js';
import { CLI_TIMEOUT, lines } from './support.js';

/*
 * `fraisier pause|resume|promote ID`, against a server (--url) and locally on the store the
 * server uses (--config, PostgreSQL): the server runs the deployment either way and hears a
 * local request through NOTIFY. The deployment is a bare-metal one whose first step waits for a
 * gate file the test opens, so it pauses at the boundary before its second step.
 */

const postgres = DIALECTS.find((d) => d.name === 'postgres')!;
const WAIT_FOR = resolve('tests/fixtures/wait-for.mjs');
const TOKEN = 'ops-deploys-0123456789';

describe('pause, resume and promote from the command line', { timeout: CLI_TIMEOUT }, async () => {
  const skip = await postgres.unavailable();
  let repo: ServiceRepo;
  let database: TestDatabase;
  let server: App;
  let url: string;
  let configFile: string;

  const remote = (args: string[]) => runCli([...args, '--url', url], { env: { FRAISIER_TOKEN: TOKEN } });
  const local = (args: string[]) => runCli([...args, '--config', configFile]);
  const status = (id: string, wanted: string) =>
    waitUntil(async () => ((await findDeployment(server.store.db, Number(id)))?.status === wanted ? true : undefined), { what: `deployment ${id} ${wanted}` });
  const deploy = async () => {
    const queued = await remote(['deploy', 'gated', 'one', '--force', '--no-follow', '--json']);
    expect(queued.code).toBe(0);
    return JSON.parse(queued.stdout).deployment.id as string;
  };
  const open = (id: string) => writeFileSync(`${repo.scratch}/gate-${id}`, '');

  beforeAll(async () => {
    if (skip) return;
    repo = createServiceRepo();
    repo.commit('base');
    database = await postgres.createDatabase();
    const yaml = `
fraisier:
  database: ${database.url}
  tokens: [{ name: ops, token: ${TOKEN}, scopes: [read, deploy] }]
fraises:
  gated:
    type: custom
    environments:
      one:
        git_repo: ${repo.path}
        app_path: ${repo.appPath}/one
        steps:
          - { name: wait, command: [node, ${WAIT_FOR}, "${repo.scratch}/gate-{id}"] }
          - { name: talk, command: [node, -e, "console.log('talked')"] }
`;
    configFile = `${repo.scratch}/fraises.yaml`;
    writeFileSync(configFile, yaml);
    ({ app: server, url } = await startTestServer(yaml, database.url));
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
    repo?.dispose();
  });

  it.skipIf(skip)('pauses remotely, shows it, resumes locally: the deployment ends SUCCESS', async () => {
    const id = await deploy();
    await waitForStep(server, id, 'wait');
    const paused = await remote(['pause', id]);
    expect(paused).toMatchObject({
      code: 0,
      stdout: `⟳ Pause requested: Deployment ${id} of gated/one pauses at its next step boundary (follow it with fraisier deployment ${id} --follow)\n`,
      stderr: '',
    });
    open(id);
    await status(id, 'paused');
    // Asked again, locally (local mode acts as "local"): it is paused already.
    expect(await local(['pause', id])).toMatchObject({ code: 0, stdout: `✓ Deployment ${id} of gated/one PAUSED: Paused by ops, until resumed\n` });
    const shown = await remote(['deployment', id]);
    expect(lines(shown.stdout)).toEqual(expect.arrayContaining([`Deployment ${id}: PAUSED`, '  Pause:        Paused by ops (until resumed or promoted)']));
    const json = JSON.parse((await remote(['deployment', id, '--json'])).stdout);
    expect(json).toMatchObject({ id, status: 'PAUSED', pausedUntil: null, pauseMessage: 'Paused by ops', promoted: false });

    const resumed = await local(['resume', id, '--json']);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ id });
    expect((await waitForEnd(server, id)).status).toBe('success');
    const steps = (await server.services.queries.progress(id)).filter((e) => ['paused', 'resumed'].includes(e.step));
    expect(steps.map((e) => `${e.step}: ${e.message?.replace(/ \(.*\)$/, '')}`)).toEqual(['paused: Paused by ops: until resumed', 'resumed: Resumed by local']);
  });

  it.skipIf(skip)('promotes; refuses what does not apply with one line and exit 1, a bad id with exit 2', async () => {
    const id = await deploy();
    await waitForStep(server, id, 'wait');
    expect(await remote(['resume', id])).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `fraisier: deployment ${id} is not paused (IN_PROGRESS) and no pause was asked for it: nothing to resume\n`,
    });
    expect(await remote(['promote', id])).toMatchObject({ code: 0, stdout: `✓ Deployment ${id} of gated/one promoted (IN_PROGRESS): its remaining steps and pauses are skipped\n` });
    open(id);
    expect((await waitForEnd(server, id)).status).toBe('success');
    expect(JSON.parse((await local(['deployment', id, '--json'])).stdout)).toMatchObject({ status: 'SUCCESS', promoted: true });
    const [ended, missing, bad] = await Promise.all([local(['pause', id]), remote(['promote', '999999']), remote(['resume', 'abc'])]);
    expect(ended).toMatchObject({ code: 1, stdout: '', stderr: `fraisier: deployment ${id} already ended (SUCCESS): it can no longer be paused\n` });
    expect(missing).toMatchObject({ code: 1, stderr: 'fraisier: no deployment with id "999999"\n' });
    expect(bad).toMatchObject({ code: 2, stderr: 'fraisier: expected a deployment id such as 42 (got "abc")\n' });
  });

  it.skipIf(skip)('says what each does in its help', async () => {
    const helps = await Promise.all(['pause', 'resume', 'promote'].map((command) => runCli([command, '--help'])));
    expect(helps.map((h) => lines(h.stdout)[0])).toEqual(['Usage: fraisier pause [options] <id>', 'Usage: fraisier resume [options] <id>', 'Usage: fraisier promote [options] <id>']);
    expect(helps[0]!.stdout).toMatch(/pause a running deployment at its next step boundary/);
    expect(helps[2]!.stdout).toMatch(/\nExamples:\n {2}fraisier promote 42\n/);
  });
});
