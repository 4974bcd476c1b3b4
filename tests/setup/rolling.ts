import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { gql, type TestApp } from './app.js';
import { waitForEnd } from './deployments.js';
import type { TestNginx } from './nginx.js';
import { freePort, type ServiceRepo } from './service-repo.js';
import type { TestSshd } from './sshd.js';

/*
 * The hello service rolled over three "hosts" behind a test nginx (tests/strategies): three SSH
 * hosts that all reach the one sshd on 127.0.0.1, each with an app_path and a service port of its
 * own, so that each runs its own instance and the proxy tells them apart.
 */

export interface TestHost {
  name: string;
  appPath: string;
  port: number;
}

/** `count` hosts named `web1`...: each its own directory under the repo's scratch space and its own port (none of `taken`). */
export async function testHosts(repo: ServiceRepo, environment: string, count = 3, taken: number[] = []): Promise<TestHost[]> {
  const hosts: TestHost[] = [];
  for (let i = 1; i <= count; i++) {
    let port = await freePort();
    while (taken.includes(port) || hosts.some((h) => h.port === port)) port = await freePort();
    hosts.push({ name: `web${i}`, appPath: join(repo.scratch, `${environment}-web${i}`), port });
  }
  return hosts;
}

/** One environment of the hello fraise (YAML under `environments:`), rolled over `hosts`; `watch`: health_check.watch (a check every 0.2 s). */
export function rollingEnvironment(name: string, repo: ServiceRepo, sshd: TestSshd, nginx: TestNginx, hosts: TestHost[], maxUnavailable: string, options: { watch?: string } = {}): string {
  return `      ${name}:
        branch: main
        git_repo: ${repo.path}
        install:
          command: [node, -e, "require('node:fs').writeFileSync('installed', process.env.FRAISIER_HOST + ' ' + process.env.FRAISIER_PORT)"]
        env:
          PATH: "${process.env.PATH}"
        health_check:
          url: "http://{host}:{port}/health"
          timeout: 4s
          retries: 30
          interval: 0.1s
${options.watch ? `          watch: ${options.watch}\n          watch_interval: 0.2s\n` : ''}        target:
          provider: bare-metal
          layout: releases
          user: ${sshd.user}
          port: ${sshd.port}
          identity_file: ${sshd.identityFile}
          known_hosts: ${sshd.knownHosts}
          commands: {restart: [./bin/restart], status: [./bin/status], stop: [./bin/stop]}
          hosts:
${hosts.map((h) => `            - {name: ${h.name}, host: 127.0.0.1, app_path: ${h.appPath}, upstream: "127.0.0.1:${h.port}"}`).join('\n')}
        strategy:
          type: rolling
          max_unavailable: ${maxUnavailable}
          proxy: ${nginx.proxyYaml()}
          drain: 5s
`;
}

export function rollingConfig(environments: string): string {
  return `
fraisier:
  lease: { ttl: 5s, heartbeat: 1s }
  poll_interval: 1s
fraises:
  hello:
    type: api
    environments:
${environments}`;
}

/** Deploys `commit` to hello/`environment` and waits for the end. */
export async function deployTo(t: TestApp, environment: string, commit: string) {
  const result = await gql(t.app, `mutation($e: String!, $c: String) { deploy(fraise: "hello", environment: $e, commit: $c) { success message deployment { id } } }`, {
    e: environment,
    c: commit,
  });
  expect(result.errors).toBeUndefined();
  expect(result.data.deploy.success, result.data.deploy.message).toBe(true);
  return waitForEnd(t.app, result.data.deploy.deployment.id, 180_000);
}

/** What each host's own instance answers (not through nginx). */
export async function hostVersions(hosts: TestHost[]): Promise<Record<string, string>> {
  const answers = await Promise.all(hosts.map(async (h) => [h.name, await (await fetch(`http://127.0.0.1:${h.port}/version`)).text()] as const));
  return Object.fromEntries(answers);
}

/** The pid of a host's instance (its restarts change it). */
export function hostPid(host: TestHost): string | null {
  const file = join(host.appPath, 'shared', 'app.pid');
  return existsSync(file) ? readFileSync(file, 'utf8') : null;
}

/** Stops every host's instance (the deployments leave them running). */
export function stopHosts(repo: ServiceRepo, hosts: TestHost[]): void {
  for (const host of hosts) {
    if (!hostPid(host)) continue;
    try {
      execFileSync(join(repo.path, 'bin', 'stop'), { env: { ...process.env, FRAISIER_SHARED_PATH: join(host.appPath, 'shared') } });
    } catch {
      // not running
    }
  }
}
