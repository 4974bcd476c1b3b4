import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNginx, type TestNginx } from '../tests/setup/nginx.js';
import { createServiceRepo, freePort } from '../tests/setup/service-repo.js';
import { type Child, startFraisier } from './lib/processes.js';
import type { Row } from './lib/report.js';
import { SteadyLoad, type LoadSummary } from './lib/steady-load.js';

/*
 * Requests lost while deploying under load: Debian's nginx in front of the hello service, a
 * steady 100 requests per second through it (half on kept-alive connections, half on new
 * ones), while `fraisier serve` (a process of its own) deploys new commits one after the
 * other. Blue-green (two slots, the traffic switched by nginx) against the same deployments
 * done by recreate (the one instance restarted in place), measured in the same run. Bar
 * (issue 19): not one request failed under blue-green.
 */

const DEPLOYS = 5;
const RATE = 100;

export async function benchBlueGreen(workDir: string): Promise<{ rows: Row[]; notes: string[] }> {
  const repo = createServiceRepo();
  const nginxes: TestNginx[] = [];
  let server: Child | undefined;
  const recreateApp = join(repo.scratch, 'app-recreate');
  try {
    const [blue, green, single] = await distinctPorts(3);
    const blueGreen = await startNginx({ initialPort: blue });
    const recreate = await startNginx({ initialPort: single });
    nginxes.push(blueGreen, recreate);
    const config = join(workDir, 'bluegreen.yaml');
    writeFileSync(config, configYaml(repo.path, repo.appPath, recreateApp, blueGreen, [blue, green], single));
    server = await startFraisier(['--config', config, '--database', `sqlite:${join(workDir, 'bluegreen.db')}`], { cwd: workDir });
    const url = server.url;

    const first = repo.commit('0');
    for (const env of ['bluegreen', 'recreate']) await deployAndWait(url, env, first);

    const results: Record<string, { summary: LoadSummary; seconds: number; statuses: string[] }> = {};
    for (const [env, nginx] of [['bluegreen', blueGreen], ['recreate', recreate]] as const) {
      const load = new SteadyLoad(`${nginx.url}/version`, { ratePerSecond: RATE, clients: 8 });
      const started = performance.now();
      load.start();
      const statuses: string[] = [];
      for (let i = 1; i <= DEPLOYS; i++) statuses.push(await deployAndWait(url, env, repo.commit(`${env}-${i}`)));
      // The last switch's stragglers answered.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await load.stop();
      results[env] = { summary: load.summary(), seconds: (performance.now() - started) / 1000, statuses };
    }
    const bg = results.bluegreen!;
    const rc = results.recreate!;
    const failures = (s: LoadSummary) => (s.failed ? ` (${Object.entries(s.failures).map(([k, v]) => `${k}: ${v}`).join(', ')})` : '');
    const deployments = (statuses: string[]) => statuses.every((s) => s === 'success') ? `${statuses.length} successful` : statuses.join(', ');
    return {
      rows: [
        {
          bench: 'blue-green (bare metal, nginx)',
          measure: `requests failed during ${DEPLOYS} deployments at ${RATE} req/s`,
          value: `${bg.summary.failed} of ${bg.summary.total.toLocaleString('en')}${failures(bg.summary)}`,
          reference: `recreate: ${rc.summary.failed} of ${rc.summary.total.toLocaleString('en')} failed${failures(rc.summary)}`,
          ratio: '-',
          bar: '0 failed',
          pass: bg.summary.failed === 0 && bg.statuses.every((s) => s === 'success'),
        },
      ],
      notes: [
        `blue-green: ${DEPLOYS} deployments (${deployments(bg.statuses)}) in ${bg.seconds.toFixed(1)} s, each: start in the idle slot, health check, switch (nginx -t, reload, new workers seen), 1 s watch window, drain, old slot stopped; ${bg.summary.retried} request${bg.summary.retried === 1 ? '' : 's'} sent again on a new connection after nginx closed the kept-alive one unanswered at a reload (as browsers do; not counted as failed); recreate: the same ${DEPLOYS} deployments (${deployments(rc.statuses)}) restarting the one instance in place, in ${rc.seconds.toFixed(1)} s, ${rc.summary.retried} sent again`,
      ],
    };
  } finally {
    await server?.stop();
    for (const nginx of nginxes) await nginx.stop();
    try {
      execFileSync(join(repo.path, 'bin', 'stop'), { env: { ...process.env, FRAISIER_SHARED_PATH: join(recreateApp, 'shared') } });
    } catch {
      // not running
    }
    repo.dispose();
  }
}

async function distinctPorts(count: 3): Promise<[number, number, number]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  const [a, b, c] = [...ports];
  return [a!, b!, c!];
}

function configYaml(repo: string, appPath: string, recreateApp: string, nginx: TestNginx, [blue, green]: [number, number], single: number): string {
  const common = (app: string) => `        branch: main
        git_repo: ${repo}
        app_path: ${app}
        layout: releases
        commands: {restart: [./bin/restart], status: [./bin/status], stop: [./bin/stop]}`;
  return `fraises:
  hello:
    type: api
    environments:
      bluegreen:
${common(appPath)}
        health_check: {url: "http://127.0.0.1:{port}/health", timeout: 5s, retries: 50, interval: 0.1s, watch: 1s, watch_interval: 0.2s}
        strategy:
          type: blue-green
          slots: {blue: ${blue}, green: ${green}}
          proxy: ${nginx.proxyYaml()}
          drain: 10s
      recreate:
${common(recreateApp)}
        env: {PORT: "${single}"}
        health_check: {url: "http://127.0.0.1:${single}/health", timeout: 5s, retries: 50, interval: 0.1s}
`;
}

async function graphql<T>(url: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: T; errors?: unknown };
  if (!body.data) throw new Error(`GraphQL error: ${JSON.stringify(body.errors).slice(0, 500)}`);
  return body.data;
}

/** Deploys `commit` to hello/`env` and waits for its end; resolves with its status. */
async function deployAndWait(url: string, env: string, commit: string): Promise<string> {
  const { deploy } = await graphql<{ deploy: { success: boolean; message: string; deployment: { id: string } | null } }>(
    url,
    'mutation($e: String!, $c: String) { deploy(fraise: "hello", environment: $e, commit: $c) { success message deployment { id } } }',
    { e: env, c: commit },
  );
  if (!deploy.deployment) throw new Error(`deploy was refused: ${deploy.message}`);
  for (;;) {
    const { deployment } = await graphql<{ deployment: { status: string; errorMessage: string | null } }>(url, 'query($id: ID!) { deployment(id: $id) { status errorMessage } }', { id: deploy.deployment.id });
    if (!['PENDING', 'IN_PROGRESS'].includes(deployment.status)) return deployment.status === 'SUCCESS' ? 'success' : `${deployment.status}: ${deployment.errorMessage}`;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
