import { execFileSync } from 'node:child_process';
import { type ComposeRepo, ensureBaseImage } from './docker.js';

/* The busybox service of tests/setup/docker.ts run in two Compose slots (tests/strategies/compose-*). */

/** Each slot's project publishes its port from ${FRAISIER_PORT}. */
export const SLOT_COMPOSE_FILE = `services:
  web:
    build:
      context: .
      args:
        BASE: \${BASE_IMAGE:-busybox:1.36}
    ports:
      - "127.0.0.1:\${FRAISIER_PORT}:8080"
    init: true
`;

/** How many containers of a Compose project run. */
export function runningContainers(project: string): number {
  return execFileSync('docker', ['ps', '--quiet', '--filter', `label=com.docker.compose.project=${project}`], { encoding: 'utf8' }).split('\n').filter(Boolean).length;
}

/** One api fraise on the docker-compose target `project`, its `strategy:` block's lines given. */
export function composeSlotsConfig(repo: ComposeRepo, project: string, strategy: string): string {
  return `
fraisier:
  lease: { ttl: 10s, heartbeat: 2s }
  poll_interval: 1s
fraises:
  hello:
    type: api
    environments:
      local:
        branch: main
        git_repo: ${repo.path}
        app_path: ${repo.appPath}
        target: { provider: docker-compose, project: ${project} }
        health_check: { url: "http://127.0.0.1:{port}/health", timeout: 20s, retries: 60, interval: 0.2s }
        strategy:
          ${strategy}
        env:
          BASE_IMAGE: ${ensureBaseImage()}
`;
}
