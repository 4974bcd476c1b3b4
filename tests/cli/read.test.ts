import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type App, createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { createStore } from '../../src/store/store.js';
import { insertWebhookEventOnce, linkWebhookEventDeployment } from '../../src/store/webhook-event.repository.js';
import { runCli } from '../setup/cli.js';
import { waitForEnd } from '../setup/deployments.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { freePort } from '../setup/service-repo.js';
import { ANSI, CLI_TIMEOUT, inBothModes, lines, workdir, type Workdir } from './support.js';

/*
 * The read commands and cancel, in local mode (the configuration file and its SQLite store)
 * and in remote mode (a server sharing that store), with the same output. The history was
 * recorded three days ago (injected clock), so relative times read the same in both runs.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
const DAY = 86_400_000;

function config(dir: string, databaseUrl: string): string {
  return `
fraisier:
  database: ${databaseUrl}
fraises:
  shop:
    type: custom
    description: The shop
    environments:
      production:
        branch: main
        app_path: ${join(dir, 'shop-production')}
        steps:
          - { name: work, command: [node, -e, "0"] }
        commands:
          logs: [node, -e, "for (let i = 1; i <= Number(process.argv[1]); i++) console.log('shop line ' + i)"]
      staging:
        branch: staging
        app_path: ${join(dir, 'shop-staging')}
        steps:
          - { name: work, command: [node, -e, "console.error('boom'); process.exit(3)"] }
  api:
    type: api
    description: Public API
    environments:
      production:
        target: { provider: bare-metal, host: api.example.com, app_path: /srv/api, systemd_service: api }
      eu:
        target: { provider: scaleway, region: fr-par }
  backups:
    type: scheduled
    description: Database backup jobs
    environments:
      production:
        app_path: ${join(dir, 'backups')}
        jobs:
          daily_backup: { schedule: "0 2 * * *", script_path: backup.sh }
          sync_to_s3: { schedule: "0 */6 * * *", script_path: sync.sh, depends_on: [daily_backup] }
`;
}

describe('read commands and cancel, locally and against a server', { timeout: CLI_TIMEOUT }, () => {
  let dir: Workdir;
  let database: TestDatabase;
  let configFile: string;
  let server: App;
  let url: string;
  const ids: Record<string, string> = {};

  const local = (args: string[]) => runCli([...args, '--config', configFile]);
  const remote = (args: string[]) => runCli([...args, '--url', url]);
  /** Runs the command in both modes at once: they must answer the same. */
  const both = inBothModes(local, remote);

  beforeAll(async () => {
    dir = workdir();
    database = await sqlite.createDatabase();
    const yaml = config(dir.path, database.url);
    configFile = dir.file('fraises.yaml', yaml);
    const parsed = parseConfig(yaml, { env: {} }).config;
    const logger = pino({ level: 'silent' });

    // Three days ago, a process ran three deployments, and two more were queued.
    const past = createApp({ config: parsed, logger, store: createStore(database.url), now: () => new Date(Date.now() - 3 * DAY) });
    await past.startWorkers();
    const open = { kind: 'open' } as const;
    const run = async (environment: string, commit: string) => {
      const result = await past.services.deployments.deploy(open, { fraise: 'shop', environment, commit, force: true, trigger: 'manual' });
      return waitForEnd(past, result.deployment!.id);
    };
    ids.first = (await run('production', 'aaaaaaa1')).id;
    ids.failed = (await run('staging', 'bbbbbbb2')).id;
    ids.second = (await run('production', 'ccccccc3')).id;
    await past.stop();
    // The logs command runs in the release directory (app_path/current).
    mkdirSync(join(dir.path, 'shop-production', 'current'), { recursive: true });
    const queue = createApp({ config: parsed, logger, store: createStore(database.url), now: () => new Date(Date.now() - 3 * DAY) });
    await queue.init();
    ids.pendingA = (await queue.services.deployments.deploy(open, { fraise: 'shop', environment: 'production', commit: 'ddddddd4', force: true }))
      .deployment!.id;
    ids.pendingB = (await queue.services.deployments.deploy(open, { fraise: 'shop', environment: 'staging', commit: 'eeeeeee5', force: true }))
      .deployment!.id;
    const receivedAt = new Date(Date.now() - 3 * DAY).toISOString();
    const delivery = { received_at: receivedAt, event_type: 'push', repository: 'acme/shop', ref: 'refs/heads/main', tag: null, before_sha: null, sender: 'octocat', commit_author: 'Octo Cat', source_ip: '127.0.0.1', payload: null };
    const accepted = await insertWebhookEventOnce(queue.store.db, {
      ...delivery,
      provider: 'github',
      delivery_id: 'd-1',
      branch: 'main',
      commit_sha: 'aaaaaaa1aaaaaaa1aaaaaaa1aaaaaaa1aaaaaaa1',
      commit_message: 'Add the cart\u001b[31m page',
      outcome: 'accepted',
      reason: 'queued 1 deployment',
      processed: 1,
    });
    await linkWebhookEventDeployment(queue.store.db, accepted!, Number(ids.first));
    await insertWebhookEventOnce(queue.store.db, {
      ...delivery,
      provider: 'gitlab',
      delivery_id: 'd-2',
      branch: 'main',
      commit_sha: null,
      commit_message: null,
      outcome: 'refused',
      // Pushed text shown in the table: a terminal escape in it must not reach the terminal raw.
      reason: 'invalid\u001b[31m signature',
      processed: 0,
    });
    await queue.stop();

    // The server: same store, runs nothing itself (the queued deployments stay queued).
    server = createApp({ config: parsed, logger, store: createStore(database.url), accept: () => false, scheduler: false });
    ({ url } = await server.start({ port: 0 }));
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
    dir?.dispose();
  });

  it('list: the tree, --flat and --json', async () => {
    const tree = await both(['list']);
    expect(tree.code).toBe(0);
    expect(tree.stdout).toBe(
      [
        'Fraisier - Fraise Registry',
        '├── shop (custom) - The shop',
        '│   ├── production → bare-metal',
        '│   └── staging → bare-metal',
        '├── api (api) - Public API',
        '│   ├── production → bare-metal (api.example.com)',
        '│   └── eu → scaleway (fr-par)',
        '└── backups (scheduled) - Database backup jobs',
        '    └── production → bare-metal',
        '        ├── daily_backup (0 2 * * *)',
        '        └── sync_to_s3 (0 */6 * * *)',
        '',
      ].join('\n'),
    );
    const flat = await both(['list', '--flat']);
    expect(lines(flat.stdout)[0]).toMatch(/^FRAISE +TYPE +ENVIRONMENT +TARGET +BRANCH +JOBS +DESCRIPTION$/);
    expect(lines(flat.stdout)).toHaveLength(6);
    const json = JSON.parse((await both(['list', '--json'])).stdout);
    expect(json.map((f: { name: string; type: string }) => `${f.name}:${f.type}`)).toEqual(['shop:CUSTOM', 'api:API', 'backups:SCHEDULED']);
    expect(json[0].environments[0]).toMatchObject({ name: 'production', branch: 'main', status: 'HEALTHY', target: { provider: 'bare-metal' } });
    expect(json[2].environments[0].jobs[1]).toEqual({ name: 'sync_to_s3', description: null, schedule: '0 */6 * * *', systemdTimer: null, dependsOn: ['daily_backup'] });
    expect(tree.stdout + flat.stdout).not.toMatch(ANSI);
  });

  it('status and status-all', async () => {
    const status = await both(['status', 'shop', 'production']);
    expect(status.code).toBe(0);
    expect(lines(status.stdout)).toEqual([
      'shop/production: HEALTHY',
      '  Version:         ccccccc3',
      expect.stringMatching(/^ {2}Last deployed: {3}3d ago \(\d{4}-\d\d-\d\dT.*Z\)$/),
      '  Target:          bare-metal',
      '  Branch:          main',
      `  Last deployment: #${ids.pendingA} PENDING 3d ago`,
    ]);
    const json = JSON.parse((await both(['status', 'shop', 'staging', '--json'])).stdout);
    expect(json).toMatchObject({ fraise: 'shop', environment: 'staging', status: 'UNKNOWN', currentVersion: null, lastDeployment: { id: ids.pendingB, status: 'PENDING' } });

    const all = await both(['status-all']);
    expect(lines(all.stdout).map((l) => l.split(/ {2,}/).slice(0, 4).join('|'))).toEqual([
      'FRAISE|ENVIRONMENT|STATUS|VERSION',
      'shop|production|HEALTHY|ccccccc3',
      'shop|staging|UNKNOWN|-',
      'api|production|UNKNOWN|-',
      'api|eu|UNKNOWN|-',
      'backups|production|UNKNOWN|-',
    ]);
    const production = JSON.parse((await local(['status-all', '--environment', 'production', '--json'])).stdout);
    expect(production.map((r: { fraise: string }) => r.fraise)).toEqual(['shop', 'api', 'backups']);
    const typo = await both(['status-all', '--environment', 'productoin']);
    expect(typo).toMatchObject({ code: 1, stdout: '', stderr: 'fraisier: no fraise has an environment "productoin"; did you mean "production"?\n' });
    const unknown = await both(['status', 'shopp', 'production']);
    expect(unknown).toMatchObject({ code: 1, stdout: '', stderr: 'fraisier: unknown fraise "shopp"; did you mean "shop"?\n' });
  });

  it('history with its filters, paging and --json', async () => {
    const history = await both(['history']);
    expect(history.code).toBe(0);
    const rows = lines(history.stdout);
    expect(rows[0]).toMatch(/^ID +FRAISE +ENVIRONMENT +STATUS +VERSION +TRIGGER +STARTED +DURATION +ERROR$/);
    expect(rows.slice(1).map((r) => r.trim().split(/ {2,}/).slice(0, 5))).toEqual([
      [ids.pendingB, 'shop', 'staging', 'PENDING', '- → eeeeeee5'],
      [ids.pendingA, 'shop', 'production', 'PENDING', '- → ddddddd4'],
      [ids.second, 'shop', 'production', 'SUCCESS', 'aaaaaaa1 → ccccccc3'],
      [ids.failed, 'shop', 'staging', 'FAILED', '- → bbbbbbb2'],
      [ids.first, 'shop', 'production', 'SUCCESS', '- → aaaaaaa1'],
    ]);
    expect(rows[4]).toMatch(/manual +3d ago +\d+\.\ds +run:work failed: node exited with code 3: boom$|manual +3d ago +\d+\.\ds +work failed/);

    const json = JSON.parse((await both(['history', '--fraise', 'shop', '--environment', 'production', '--limit', '2', '--json'])).stdout);
    expect(json.map((d: { id: string; status: string }) => [d.id, d.status])).toEqual([
      [ids.pendingA, 'PENDING'],
      [ids.second, 'SUCCESS'],
    ]);
    expect(json[1]).toMatchObject({ fraise: 'shop', environment: 'production', triggeredBy: 'MANUAL', requestedBy: 'local', oldVersion: 'aaaaaaa1', newVersion: 'ccccccc3' });
    expect(json[1].startedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const failed = JSON.parse((await both(['history', '--status', 'failed', '--since', '7d', '--json'])).stdout);
    expect(failed.map((d: { id: string }) => d.id)).toEqual([ids.failed]);
    expect(await both(['history', '--since', '24h'])).toMatchObject({ code: 0, stdout: 'No deployments.\n' });
    const badSince = await local(['history', '--since', 'yesterday']);
    expect(badSince).toMatchObject({ code: 2, stderr: 'fraisier: --since: expected a span such as 24h or 7d, or a date such as 2026-01-31 (got "yesterday")\n' });
  });

  it('--output json|yaml|table: the same data as --json, in YAML, or the table; contradictions refused', async () => {
    const asJson = await both(['history', '--limit', '3', '--json']);
    const output = await both(['history', '--limit', '3', '--output', 'json']);
    expect(output.stdout).toBe(asJson.stdout);
    const yaml = await both(['history', '--limit', '3', '-o', 'yaml']);
    expect(yaml.code).toBe(0);
    expect(yaml.stdout).toMatch(/^- id: "?\d+"?\n {2}fraise: shop\n/);
    expect(parseYaml(yaml.stdout)).toEqual(JSON.parse(asJson.stdout));
    expect(parseYaml((await both(['status', 'shop', 'production', '--output', 'yaml'])).stdout)).toMatchObject({ fraise: 'shop', currentVersion: 'ccccccc3' });
    expect((await both(['history', '--limit', '3', '--output', 'table'])).stdout).toBe((await local(['history', '--limit', '3'])).stdout);
    const both_ = await local(['history', '--json', '--output', 'yaml']);
    expect(both_).toMatchObject({ code: 2, stdout: '', stderr: 'fraisier: --json and --output yaml ask for two formats: give one\n' });
    const unknown = await local(['history', '--output', 'xml']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Allowed choices are json, yaml, table');
  });

  it('deployment ID: one deployment; --follow streams its recorded steps and exits by its status', async () => {
    const failed = await both(['deployment', ids.failed!]);
    expect(failed.code).toBe(0);
    expect(lines(failed.stdout)).toEqual([
      `Deployment ${ids.failed}: FAILED`,
      '  Fraise:       shop',
      '  Environment:  staging',
      '  Target:       bare-metal',
      '  Commit:       bbbbbbb2',
      '  Branch:       staging',
      '  Triggered by: MANUAL (local)',
      expect.stringMatching(/^ {2}Requested: {4}3d ago \(\d{4}-.*Z\)$/),
      expect.stringMatching(/^ {2}Started: {6}3d ago \(/),
      expect.stringMatching(/^ {2}Completed: {4}3d ago \(/),
      expect.stringMatching(/^ {2}Duration: {5}\d/),
      expect.stringMatching(/^ {2}Error: {8}.*boom|^ {2}Error: {8}.*work failed/),
    ]);
    const yaml = parseYaml((await both(['deployment', ids.second!, '-o', 'yaml'])).stdout);
    expect(yaml).toMatchObject({ id: ids.second, status: 'SUCCESS', oldVersion: 'aaaaaaa1', newVersion: 'ccccccc3' });

    const followFailed = await both(['deployment', ids.failed!, '--follow']);
    expect(followFailed.code).toBe(1);
    expect(followFailed.stdout).toMatch(/⟳ .*\n[\s\S]*✗ Deployment failed/);
    const followGood = await both(['deployment', ids.second!, '--follow', '--json']);
    expect(followGood.code).toBe(0);
    const followed = JSON.parse(followGood.stdout);
    expect(followed).toMatchObject({ id: ids.second, status: 'SUCCESS' });
    expect(followed.progress.map((e: { step: string }) => e.step)).toContain('done');

    expect(await both(['deployment', '99999'])).toMatchObject({ code: 1, stdout: '' });
    expect(await local(['deployment', 'abc'])).toMatchObject({ code: 2, stderr: 'fraisier: expected a deployment id such as 42 (got "abc")\n' });
  });

  it('stats and webhooks', async () => {
    const stats = JSON.parse((await both(['stats', '--fraise', 'shop', '--days', '7', '--json'])).stdout);
    expect(stats).toMatchObject({ total: 3, successful: 2, failed: 1, rolledBack: 0 });
    expect(stats.successRate).toBeCloseTo(66.67, 1);
    const text = await both(['stats', '--fraise', 'shop', '--days', '7']);
    expect(lines(text.stdout).slice(0, 6)).toEqual([
      'Deployments over the last 7 days (shop)',
      '  Total:           3',
      '  Successful:      2',
      '  Failed:          1',
      '  Rolled back:     0',
      '  Success rate:    66.7%',
    ]);
    // DORA's four keys, as the JSON has them.
    const dora = lines(text.stdout).slice(7);
    expect(dora.map((line) => line.split(':')[0]!.trim())).toEqual(['Deploys / day', 'Lead time', 'Change fail', 'Time to restore']);
    expect(dora[0]).toBe(`  Deploys / day:   ${stats.deploymentFrequency.toFixed(2)}`);
    expect(dora[2]).toBe(`  Change fail:     ${stats.changeFailureRate === null ? '-' : `${stats.changeFailureRate.toFixed(1)}%`}`);
    expect(JSON.parse((await remote(['stats', '--days', '1', '--json'])).stdout)).toMatchObject({ total: 0 });

    const webhooks = await both(['webhooks']);
    const rows = lines(webhooks.stdout);
    expect(rows[0]).toMatch(/^ID +RECEIVED +PROVIDER +EVENT +REF +COMMIT +OUTCOME +RESULT$/);
    expect(rows[1]).toMatch(/^ 2 +3d ago +gitlab +push +main +- +refused +invalid \[31m signature$/); // the escape itself dropped
    expect(rows[2]).toMatch(new RegExp(`^ 1 +3d ago +github +push +main +aaaaaaa1aaaa +accepted +deployment #${ids.first} shop/production SUCCESS$`));
    const json = JSON.parse((await both(['webhooks', '--limit', '1', '--json'])).stdout);
    expect(json).toEqual([expect.objectContaining({ id: '2', provider: 'GITLAB', providerName: 'gitlab', outcome: 'refused', deployment: null })]);
    const accepted = JSON.parse((await local(['webhooks', '--json'])).stdout)[1];
    expect(accepted).toMatchObject({ commitMessage: 'Add the cart\u001b[31m page', deployment: { id: ids.first, status: 'SUCCESS' } });
    expect(webhooks.stdout).not.toMatch(ANSI); // what came with the push is never sent to the terminal raw
  });

  it('notifications, none configured here: the same answer in both modes', async () => {
    expect(await both(['notifications'])).toMatchObject({ code: 0, stdout: 'No notifications.\n' });
    expect(JSON.parse((await both(['notifications', '--deployment', ids.first!, '--status', 'pending', '--json'])).stdout)).toEqual([]);
    expect(await local(['notifications', '--status', 'SENT'])).toMatchObject({ code: 2, stderr: 'fraisier: --status: expected one of PENDING, DELIVERED, FAILED, DISABLED, DROPPED (got "SENT")\n' });
  });

  it('logs through the target provider', async () => {
    const result = await both(['logs', 'shop', 'production', '-n', '3']);
    expect(result).toMatchObject({ code: 0, stdout: 'shop line 1\nshop line 2\nshop line 3\n', stderr: '' });
    const none = await both(['logs', 'api', 'eu']);
    expect(none).toMatchObject({ code: 1, stdout: '' });
    expect(none.stderr).toBe('fraisier: api/eu: target provider "scaleway" is not available in this Fraisier (available: bare-metal, docker-compose, coolify)\n');
  });

  it('cancel: a queued deployment ends CANCELLED; one that already ended is refused', async () => {
    const [l, r] = await Promise.all([local(['cancel', ids.pendingA!]), remote(['cancel', ids.pendingB!, '--json'])]);
    expect(l).toMatchObject({ code: 0, stdout: `✓ Deployment ${ids.pendingA} of shop/production CANCELLED\n` });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: ids.pendingB, status: 'CANCELLED', errorMessage: 'cancelled by local before it started' });
    const again = await both(['cancel', ids.pendingA!]);
    expect(again).toMatchObject({ code: 1, stdout: '', stderr: `fraisier: deployment ${ids.pendingA} already ended (CANCELLED)\n` });
    expect(await both(['cancel', '999'])).toMatchObject({ code: 1, stderr: 'fraisier: no deployment with id "999"\n' });
  });

  it('exit 3 when the server or the store cannot be reached, 2 for a bad URL', async () => {
    const port = await freePort();
    const [server, store, bad] = await Promise.all([
      runCli(['history', '--url', `http://127.0.0.1:${port}`]),
      runCli(['history', '--config', configFile, '--database', `postgres://nobody@127.0.0.1:${port}/none`]),
      runCli(['list', '--url', 'ftp://example.com']),
    ]);
    expect(server).toMatchObject({ code: 3, stdout: '', stderr: `fraisier: cannot reach the server http://127.0.0.1:${port}: connection refused\n` });
    expect(store.code).toBe(3);
    expect(store.stderr).toMatch(new RegExp(`^fraisier: cannot reach the store postgres://nobody@127\\.0\\.0\\.1:${port}/none: .*ECONNREFUSED.*\\n$`));
    expect(bad).toMatchObject({ code: 2, stderr: 'fraisier: --url: expected an http:// or https:// URL (got "ftp://example.com")\n' });
  });
});
