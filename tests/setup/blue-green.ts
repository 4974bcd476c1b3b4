import { expect } from 'vitest';
import { gql, type TestApp } from './app.js';
import { waitForEnd } from './deployments.js';
import type { TestNginx } from './nginx.js';
import { freePort, type ServiceRepo } from './service-repo.js';

/* The hello service deployed blue-green behind a test nginx (tests/strategies). */

/** Two distinct free ports, for the slots blue and green. */
export async function slotPorts(): Promise<[number, number]> {
  const blue = await freePort();
  let green = await freePort();
  while (green === blue) green = await freePort();
  return [blue, green];
}

export function blueGreenConfig(repo: ServiceRepo, nginx: TestNginx, ports: [number, number], options: { watch?: string; keepPrevious?: boolean } = {}): string {
  return slotsConfig(repo, `type: blue-green
          slots: {blue: ${ports[0]}, green: ${ports[1]}}
          proxy: ${nginx.proxyYaml()}
          drain: 10s
          keep_previous: ${options.keepPrevious ?? false}`, options.watch);
}

/**
 * The same service as a canary: `steps`, `pause` (a duration or until_promoted) and, with
 * `analysis`, its error rate read from the test nginx's access log (started with `accessLog`).
 */
export function canaryConfig(repo: ServiceRepo, nginx: TestNginx, ports: [number, number], options: { steps?: string; pause: string; analysis?: { minRequests: number; interval: string } }): string {
  const analysis = options.analysis
    ? `\n          analysis: {source: access_log, path: ${nginx.accessLog}, max_error_rate: 0.05, min_requests: ${options.analysis.minRequests}, interval: ${options.analysis.interval}}`
    : '';
  return slotsConfig(repo, `type: canary
          slots: {blue: ${ports[0]}, green: ${ports[1]}}
          proxy: ${nginx.proxyYaml()}
          steps: ${options.steps ?? '[10, 50, 100]'}
          pause: ${options.pause}${analysis}
          drain: 10s`);
}

function slotsConfig(repo: ServiceRepo, strategy: string, watch?: string): string {
  return `
fraisier:
  lease: { ttl: 5s, heartbeat: 1s }
  poll_interval: 1s
fraises:
  hello:
    type: api
    environments:
      local:
        branch: main
        git_repo: ${repo.path}
        app_path: ${repo.appPath}
        layout: releases
        install:
          command: [node, -e, "require('node:fs').writeFileSync('installed', process.env.FRAISIER_COMMIT)"]
        commands:
          restart: [./bin/restart]
          status: [./bin/status]
          stop: [./bin/stop]
        health_check:
          url: "http://127.0.0.1:{port}/health"
          timeout: 4s
          retries: 30
          interval: 0.1s${watch ? `\n          watch: ${watch}\n          watch_interval: 0.2s` : ''}
        strategy:
          ${strategy}
`;
}

/** Deploys (or rolls back to) `commit` and waits for the end. */
export async function deploy(t: TestApp, commit: string | null, kind: 'deploy' | 'rollback' = 'deploy') {
  const mutation =
    kind === 'deploy'
      ? `mutation($c: String) { deploy(fraise: "hello", environment: "local", commit: $c) { success message deployment { id } } }`
      : `mutation($c: String) { rollback(fraise: "hello", environment: "local", toVersion: $c) { success message deployment { id } } }`;
  const result = await gql(t.app, mutation, { c: commit });
  expect(result.errors).toBeUndefined();
  const answer = result.data[kind];
  expect(answer.success, answer.message).toBe(true);
  return waitForEnd(t.app, answer.deployment.id, 120_000);
}

