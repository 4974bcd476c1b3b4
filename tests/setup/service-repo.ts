import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/*
 * A real git repository in a temp directory holding the tiny HTTP service of
 * examples/hello-service, with commits made on demand, and a directory to deploy it to.
 */

const FIXTURE = resolve('examples/hello-service');

export interface ServiceRepo {
  /** The repository (what git_repo points at). */
  path: string;
  /** Where deployments go (app_path). */
  appPath: string;
  /** A scratch directory for gates and markers. */
  scratch: string;
  /** Commits VERSION = version (and UNHEALTHY when not healthy) on main; returns the full SHA. */
  commit(version: string, options?: { healthy?: boolean; files?: Record<string, string> }): string;
  head(): string;
  dispose(): void;
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
      GIT_CONFIG_NOSYSTEM: '1',
    },
  }).trim();
}

/**
 * A git repository (on main) in a temp directory, holding a copy of `fixture`; `commit` writes
 * VERSION and `files`, lets `change` adjust the tree, and commits it all, returning the SHA.
 */
export function fixtureRepo(fixture: string, prefix: string, name: string, change: (path: string, healthy: boolean) => void) {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const path = join(root, name);
  cpSync(fixture, path, { recursive: true });
  git(path, 'init', '--quiet', '--initial-branch=main');
  return {
    root,
    path,
    commit(version: string, options: { healthy?: boolean; files?: Record<string, string> } = {}): string {
      writeFileSync(join(path, 'VERSION'), `${version}\n`);
      change(path, options.healthy !== false);
      for (const [name, content] of Object.entries(options.files ?? {})) writeFileSync(join(path, name), content);
      git(path, 'add', '--all');
      git(path, 'commit', '--quiet', '--allow-empty', '-m', `version ${version}`);
      return git(path, 'rev-parse', 'HEAD');
    },
  };
}

export function createServiceRepo(): ServiceRepo {
  const { root, path, commit } = fixtureRepo(FIXTURE, 'fraisier-repo-', 'hello', (dir, healthy) => {
    if (healthy) rmSync(join(dir, 'UNHEALTHY'), { force: true });
    else writeFileSync(join(dir, 'UNHEALTHY'), 'yes\n');
  });
  return {
    path,
    appPath: join(root, 'app'),
    scratch: root,
    commit,
    head: () => git(path, 'rev-parse', 'HEAD'),
    dispose() {
      // The service started by a deployment keeps running until stopped (one instance per slot under blue-green).
      const shared = join(root, 'app', 'shared');
      const pidFiles = existsSync(shared) ? readdirSync(shared).filter((name) => /^app.*\.pid$/.test(name)) : [];
      for (const pidFile of pidFiles) {
        try {
          execFileSync(join(path, 'bin', 'stop'), { env: { ...process.env, FRAISIER_SHARED_PATH: shared, APP_PID_FILE: pidFile } });
        } catch {
          // nothing to stop
        }
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * A TCP port nobody listens on right now, below the kernel's ephemeral range (32768 and up): the
 * caller binds it a moment later (a service, nginx, sshd), and a port of that range could
 * meanwhile be handed to any other process binding port 0.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

export interface HelloEnvironmentOptions {
  /** The environment's name (default `local`). */
  name?: string;
  /** install.command, as a YAML flow list (default: writes the deployed commit to `installed`). */
  install?: string;
  /** Health check retries, 0.1 s apart (default 30). */
  retries?: number;
  /** More service commands (`logs: [...]`), as YAML flow values by name. */
  commands?: Record<string, string>;
  /** More environment variables, by name. */
  env?: Record<string, string>;
  /** More keys of the environment (YAML, unindented), e.g. an `ssh:` block. */
  more?: string;
  /**
   * The `layout:` key (default `releases`, what most tests look at: releases/<commit> and
   * `current`); null leaves it out, as a Python Fraisier configuration does (then `in_place`).
   */
  layout?: 'releases' | 'in_place' | null;
  /** health_check.watch (its interval 0.2 s), e.g. `3s`. */
  watch?: string;
}

/**
 * The hello service as an environment of a fraise (YAML, indented to sit under
 * `fraises.<name>.environments`): deployed from `repo` on main, its own scripts as the service
 * manager (systemd does not run here), healthy when http://127.0.0.1:`port`/health answers.
 */
export function helloEnvironment(repo: ServiceRepo, port: number, options: HelloEnvironmentOptions = {}): string {
  const install = options.install ?? `[node, -e, "require('node:fs').writeFileSync('installed', process.env.FRAISIER_COMMIT)"]`;
  const entries = (values: Record<string, string> = {}) => Object.entries(values).map(([key, value]) => `\n          ${key}: ${value}`).join('');
  const more = (options.more ?? '').trim().split('\n').filter(Boolean).map((line) => `\n        ${line}`).join('');
  return `      ${options.name ?? 'local'}:
        branch: main
        git_repo: ${repo.path}
        app_path: ${repo.appPath}${options.layout === null ? '' : `\n        layout: ${options.layout ?? 'releases'}`}
        install:
          command: ${install}
        commands:
          restart: [./bin/restart]
          status: [./bin/status]
          stop: [./bin/stop]${entries(options.commands)}
        health_check:
          url: http://127.0.0.1:${port}/health
          timeout: 4s
          retries: ${options.retries ?? 30}
          interval: 0.1s${options.watch ? `\n          watch: ${options.watch}\n          watch_interval: 0.2s` : ''}
        env:
          PORT: "${port}"${entries(options.env)}${more}
`;
}

/** A configuration of one `api` fraise named hello with these environments (helloEnvironment's), its leases short enough for a test to see a dead holder. */
export function helloConfig(environments: string): string {
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
