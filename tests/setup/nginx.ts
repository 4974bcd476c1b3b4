import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CANARY_LOG_FORMAT } from '../../src/strategies/analysis/access-log.js';
import { waitUntil } from './deployments.js';
import { freePort } from './service-repo.js';

/*
 * Debian's nginx run by the test, unprivileged, in a directory of its own (`nginx -p DIR -c
 * FILE`, master in the foreground): a site on a free port proxying to the upstream block of
 * `upstream.conf`, which the traffic proxy under test rewrites. `test` and `reload` are the
 * commands a strategy's proxy configuration runs against this nginx.
 */

export const NGINX = '/usr/sbin/nginx';

export interface TestNginx {
  dir: string;
  /** Where the site listens (127.0.0.1). */
  port: number;
  url: string;
  upstreamFile: string;
  pidFile: string;
  /** The access log in the fraisier_canary format (written when asked for: `accessLog`). */
  accessLog: string;
  test: string[];
  reload: string[];
  /** The `proxy:` block of a strategy for this nginx (YAML flow mapping). */
  proxyYaml(upstream?: string): string;
  errorLog(): string;
  /** Stops nginx, its directory kept. */
  halt(): Promise<void>;
  stop(): Promise<void>;
}

/** Why nginx cannot run here, or undefined. Under CI it must. */
export function nginxUnavailable(): string | undefined {
  if (existsSync(NGINX)) return undefined;
  if (process.env.CI) throw new Error(`${NGINX} is missing (apt-get install nginx-light)`);
  return `${NGINX} is not installed`;
}

/**
 * An nginx whose upstream `upstream` (default hello) starts with one server, 127.0.0.1:`initialPort`;
 * `accessLog`: it logs every request in the format canary analysis reads (the README's).
 */
export async function startNginx(options: { upstream?: string; initialPort: number; accessLog?: boolean }): Promise<TestNginx> {
  const name = options.upstream ?? 'hello';
  const dir = mkdtempSync(join(tmpdir(), 'fraisier-nginx-'));
  mkdirSync(join(dir, 'temp'));
  const port = await freePort();
  const upstreamFile = join(dir, 'upstream.conf');
  const pidFile = join(dir, 'nginx.pid');
  const conf = join(dir, 'nginx.conf');
  const accessLog = join(dir, 'access.log');
  writeFileSync(upstreamFile, `upstream ${name} {\n    server 127.0.0.1:${options.initialPort};\n}\n`);
  writeFileSync(
    conf,
    [
      `pid ${pidFile};`,
      `error_log ${join(dir, 'error.log')} notice;`,
      'worker_processes 2;',
      'events { worker_connections 1024; }',
      'http {',
      ...(options.accessLog ? [`    ${CANARY_LOG_FORMAT}`, `    access_log ${accessLog} fraisier_canary;`] : ['    access_log off;']),
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `    ${kind}_temp_path ${join(dir, 'temp', kind)};`),
      `    include ${upstreamFile};`,
      '    server {',
      `        listen 127.0.0.1:${port};`,
      '        location / {',
      `            proxy_pass http://${name};`,
      '        }',
      '    }',
      '}',
      '',
    ].join('\n'),
  );
  const base = [NGINX, '-p', dir, '-c', conf, '-e', join(dir, 'error.log')];
  const master: ChildProcess = spawn(base[0]!, [...base.slice(1), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  master.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => master.once('exit', () => resolve()));
  await waitUntil(
    async () => {
      if (master.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
      return fetch(`http://127.0.0.1:${port}/`).then(
        () => true,
        () => false,
      );
    },
    { what: 'nginx to listen', timeoutMs: 20_000 },
  );
  const test = [...base, '-t', '-q'];
  const reload = [...base, '-s', 'reload'];
  const halt = async () => {
    // Its workers, of every generation, are its children: a fast shutdown (TERM) ends them with it.
    if (master.exitCode === null) {
      master.kill('SIGTERM');
      await exited;
    }
  };
  return {
    dir,
    port,
    url: `http://127.0.0.1:${port}`,
    upstreamFile,
    pidFile,
    accessLog,
    test,
    reload,
    proxyYaml: (upstream = name) =>
      `{type: nginx, upstream_file: ${upstreamFile}, upstream: ${upstream}, pid_file: ${pidFile}, test: ${JSON.stringify(test)}, reload: ${JSON.stringify(reload)}}`,
    errorLog: () => (existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''),
    halt,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
