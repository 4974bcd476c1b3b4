import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fixtureRepo } from './service-repo.js';

/*
 * The real Docker engine for Compose tests, and a git repository holding the example Compose
 * service (examples/compose-service). No registry is reachable here: the base image is made
 * from this machine's static busybox with `docker import` (about 2 MB, cheap on the vfs driver).
 */

export const BASE_IMAGE = 'fraisier-test/busybox:1';
const BUSYBOX = '/bin/busybox';
const FIXTURE = resolve('examples/compose-service');

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Why the Compose tests cannot run here, or undefined. Under CI they must (.ci/run starts dockerd). */
export function dockerUnavailable(): string | undefined {
  let reason: string | undefined;
  try {
    docker('version', '--format', '{{.Server.Version}}');
    if (!existsSync(BUSYBOX)) reason = `${BUSYBOX} is missing (package busybox-static)`;
    else execFileSync('sh', ['-c', 'docker compose version >/dev/null 2>&1 || docker-compose version >/dev/null 2>&1']);
  } catch (error) {
    reason = `Docker or Compose is not available: ${(error as Error).message.split('\n')[0]}`;
  }
  if (reason && process.env.CI) throw new Error(`${reason} (.ci/run installs docker.io, docker-compose and busybox-static and starts dockerd)`);
  return reason;
}

/** The local base image of the example service (made once per machine). */
export function ensureBaseImage(): string {
  try {
    docker('image', 'inspect', '--format', '{{.Id}}', BASE_IMAGE);
    return BASE_IMAGE;
  } catch {
    // not made yet
  }
  const root = mkdtempSync(join(tmpdir(), 'fraisier-busybox-'));
  try {
    mkdirSync(join(root, 'bin'));
    copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
    chmodSync(join(root, 'bin', 'busybox'), 0o755);
    execFileSync('sh', ['-c', `tar -C "$1" -c . | docker import -c 'ENV PATH=/bin' - "$2" >/dev/null`, 'import', root, BASE_IMAGE]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return BASE_IMAGE;
}

export interface ComposeRepo {
  /** The repository (git_repo). */
  path: string;
  /** Where releases go (app_path). */
  appPath: string;
  scratch: string;
  /**
   * Commits VERSION = version. `healthy: false` removes the service's /health; `files` adds or
   * replaces files (relative to the repository).
   */
  commit(version: string, options?: { healthy?: boolean; files?: Record<string, string> }): string;
  dispose(): void;
}

export function createComposeRepo(): ComposeRepo {
  const { root, path, commit } = fixtureRepo(FIXTURE, 'fraisier-compose-', 'service', (dir, healthy) => {
    if (healthy) writeFileSync(join(dir, 'www', 'health'), 'ok\n');
    else rmSync(join(dir, 'www', 'health'), { force: true });
  });
  return {
    path,
    appPath: join(root, 'app'),
    scratch: root,
    commit,
    dispose() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Removes what a Compose project left in the engine: containers, networks, images Fraisier tagged. */
export function removeProject(project: string): void {
  const lines = (text: string) => text.split('\n').filter(Boolean);
  const containers = lines(docker('ps', '--all', '--quiet', '--filter', `label=com.docker.compose.project=${project}`));
  if (containers.length) docker('rm', '--force', '--volumes', ...containers);
  const networks = lines(docker('network', 'ls', '--quiet', '--filter', `label=com.docker.compose.project=${project}`));
  if (networks.length) docker('network', 'rm', ...networks);
  const images = lines(docker('image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', `fraisier/${project}-*`));
  if (images.length) docker('image', 'rm', '--force', ...images);
}

/** The images Fraisier tagged for a project's releases. */
export function projectImages(project: string): string[] {
  return docker('image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', `fraisier/${project}-*`).split('\n').filter(Boolean).sort();
}
