import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { findDeployment } from '../../src/store/deployment.repository.js';
import { startTestServer } from '../setup/app.js';
import { runCli } from '../setup/cli.js';
import { waitForEnd, waitUntil } from '../setup/deployments.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { createServiceRepo, type ServiceRepo } from '../setup/service-repo.js';
import { CLI_TIMEOUT, lines } from './support.js';

/*
 * `fraisier approve|reject ID`, `fraisier history --waiting` and the gates `fraisier deployment ID`
 * shows, against a real server (--url, with tokens) whose production environment needs alice's
 * approval: a deployment waits, is listed with what it waits for, is approved by alice and runs
 * to SUCCESS; another is rejected and ends CANCELLED with the reason. The deploy token may not
 * decide, nor the local mode (it acts as "local", not an approver).
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
const TOKENS = { deployer: 'gates-deployer-0123456789', alice: 'gates-alice-approver-0123' };

describe('approve, reject and what waits, from the command line', { timeout: CLI_TIMEOUT }, () => {
  let repo: ServiceRepo;
  let database: TestDatabase;
  let server: App;
  let url: string;
  let configFile: string;

  const as = (who: keyof typeof TOKENS) => (args: string[]) => runCli([...args, '--url', url], { env: { FRAISIER_TOKEN: TOKENS[who] } });
  const alice = as('alice');
  const deployer = as('deployer');
  const local = (args: string[]) => runCli([...args, '--config', configFile]);
  const status = (id: string, wanted: string) =>
    waitUntil(async () => ((await findDeployment(server.store.db, Number(id)))?.status === wanted ? true : undefined), { what: `deployment ${id} ${wanted}` });
  /** Deploys a new commit to production (or `environment`) as the deploy token; resolves once it waits. */
  const waitingDeployment = async (version: string, environment = 'production') => {
    repo.commit(version);
    const queued = await deployer(['deploy', 'gated', environment, '--no-follow', '--json']);
    expect(queued.code, queued.stderr).toBe(0);
    const id = JSON.parse(queued.stdout).deployment.id as string;
    await status(id, 'waiting');
    return id;
  };

  beforeAll(async () => {
    repo = createServiceRepo();
    repo.commit('base');
    database = await sqlite.createDatabase();
    const yaml = `
fraisier:
  database: ${database.url}
  poll_interval: 1s
  tokens:
    - { name: deployer, token: ${TOKENS.deployer}, scopes: [deploy] }
    - { name: alice, token: ${TOKENS.alice}, scopes: [approve] }
fraises:
  gated:
    type: custom
    environments:
      production:
        git_repo: ${repo.path}
        app_path: ${repo.appPath}/production
        steps:
          - { name: talk, command: [node, -e, "console.log('talked')"] }
        protection:
          approvals: { required: 1, approvers: [alice] }
      staging:
        git_repo: ${repo.path}
        app_path: ${repo.appPath}/staging
        steps:
          - { name: talk, command: [node, -e, "console.log('talked')"] }
        protection:
          approvals: { required: 1 }
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

  it('lists a waiting deployment with what it waits for; alice approves it and it runs to SUCCESS', async () => {
    const id = await waitingDeployment('one');

    const waiting = await alice(['history', '--waiting']);
    expect(waiting.code, waiting.stderr).toBe(0);
    const [head, ...gates] = lines(waiting.stdout);
    expect(head).toMatch(new RegExp(`^${id}  gated/production  \\S+ → [0-9a-f]{7}  requested (just now|\\d+s ago) by deployer; gates evaluated again in (23h|1d) \\(\\S+Z\\)$`));
    expect(gates).toEqual(['    ✗ approvals  0 of 1 approval']);
    const json = JSON.parse((await alice(['history', '--waiting', '--output', 'json'])).stdout);
    expect(json).toEqual([
      expect.objectContaining({ id, status: 'WAITING', gates: [{ kind: 'APPROVALS', satisfied: false, message: '0 of 1 approval', approvals: [] }] }),
    ]);
    // The other statuses are not listed, and --waiting does not mix with another --status.
    expect(await alice(['history', '--waiting', '--status', 'success'])).toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'fraisier: --waiting and --status SUCCESS ask for two statuses: give one\n',
    });

    const shown = lines((await alice(['deployment', id])).stdout);
    expect(shown[0]).toBe(`Deployment ${id}: WAITING`);
    expect(shown).not.toContain(expect.stringMatching(/^ {2}Started:/));
    expect(shown.slice(-2)).toEqual(['  Gates:', '    ✗ approvals  0 of 1 approval']);

    // Who may not decide: the deploy token (no approve scope), the local mode (not an approver).
    expect(await deployer(['approve', id])).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^fraisier: .*deployer.* approve scope.*\n$/) });
    expect(await local(['approve', id])).toMatchObject({ code: 1, stdout: '', stderr: `fraisier: cannot approve deployment ${id}: local is not among the approvers here (alice)\n` });
    expect((await findDeployment(server.store.db, Number(id)))?.status).toBe('waiting');

    const approved = await alice(['approve', id, '--comment', 'checked the migration']);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(
      new RegExp(`^✓ Deployment ${id} of gated/production approved \\(approved: 1 of 1 approval \\(alice\\)\\): it starts \\((WAITING|PENDING|IN_PROGRESS); follow it with fraisier deployment ${id} --follow\\)\n$`),
    );
    expect((await waitForEnd(server, id)).status).toBe('success');

    const done = lines((await alice(['deployment', id])).stdout);
    expect(done[0]).toBe(`Deployment ${id}: SUCCESS`);
    expect(done.slice(-3)).toEqual([
      '  Gates:',
      '    ✓ approvals  approved: 1 of 1 approval (alice)',
      expect.stringMatching(/^ {8}approved by alice (just now|\d+s ago) \(\d{4}-\d\d-\d\dT[\d:.]+Z\): checked the migration$/),
    ]);
    const record = JSON.parse((await alice(['deployment', id, '-o', 'json'])).stdout);
    expect(record.gates).toEqual([
      { kind: 'APPROVALS', satisfied: true, message: 'approved: 1 of 1 approval (alice)', approvals: [{ by: 'alice', decision: 'APPROVE', at: expect.any(String), comment: 'checked the migration' }] },
    ]);
    expect(await alice(['history', '--waiting'])).toMatchObject({ code: 0, stdout: 'No deployment is waiting.\n' });
    // Decided once: approving again is refused, one line, exit 1.
    expect(await alice(['approve', id])).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^fraisier: .+\n$/) });
  });

  it('reject needs a reason; rejected, the deployment ends CANCELLED with it', async () => {
    const id = await waitingDeployment('two');
    for (const args of [['reject', id], ['reject', id, '--reason', '  ']]) {
      expect(await alice(args)).toMatchObject({
        code: 2,
        stdout: '',
        stderr: `fraisier: reject needs --reason: say why deployment ${id} is rejected (it is recorded and shown in its history)\n`,
      });
    }
    expect((await findDeployment(server.store.db, Number(id)))?.status).toBe('waiting');

    const rejected = await alice(['reject', id, '--reason', 'not during the sale']);
    expect(rejected).toMatchObject({ code: 0, stdout: `✓ Deployment ${id} of gated/production rejected: CANCELLED (rejected by alice: not during the sale)\n`, stderr: '' });
    const shown = lines((await alice(['deployment', id])).stdout);
    expect(shown[0]).toBe(`Deployment ${id}: CANCELLED`);
    expect(shown).toContain('  Error:        rejected by alice: not during the sale');
    expect(shown.slice(-3)).toEqual([
      '  Gates:',
      '    ✗ approvals  rejected by alice: not during the sale',
      expect.stringMatching(/^ {8}rejected by alice (just now|\d+s ago) \(.+\): not during the sale$/),
    ]);
    // Ended: nothing left to decide.
    expect(await alice(['reject', id, '--reason', 'again', '--json'])).toMatchObject({ code: 1, stdout: '' });
    expect(await alice(['approve', 'abc'])).toMatchObject({ code: 2, stderr: 'fraisier: expected a deployment id such as 42 (got "abc")\n' });
  });

  it('approves locally where any approver will do: the CLI decides as "local", the server runs it', async () => {
    const id = await waitingDeployment('three', 'staging');
    const approved = await local(['approve', id, '--comment', 'from the console', '--json']);
    expect(approved.code, approved.stderr).toBe(0);
    expect(JSON.parse(approved.stdout)).toMatchObject({ id, fraise: 'gated', environment: 'staging' });
    // The server hears of it at its next look at the queue (SQLite: no NOTIFY between processes).
    expect((await waitForEnd(server, id)).status).toBe('success');
    const shown = lines((await alice(['deployment', id])).stdout);
    expect(shown.slice(-1)[0]).toMatch(/^ {8}approved by local .+: from the console$/);
  });

  it('says what each does in its help', async () => {
    const [approve, reject, history] = await Promise.all([runCli(['approve', '--help']), runCli(['reject', '--help']), runCli(['history', '--help'])]);
    expect(lines(approve.stdout)[0]).toBe('Usage: fraisier approve [options] <id>');
    expect(approve.stdout).toMatch(/-m, --comment <text>/);
    expect(lines(reject.stdout)[0]).toBe('Usage: fraisier reject [options] <id>');
    expect(reject.stdout).toMatch(/-r, --reason <text> +why \(required\)/);
    expect(history.stdout).toMatch(/--waiting +only the deployments WAITING on a gate/);
  });
});
