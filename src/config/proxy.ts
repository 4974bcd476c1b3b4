import { isAbsolute } from 'node:path';
import type { PathSegment } from './problems.js';
import type { RawStrategy } from './raw-schema.js';
import type { ProxyConfig } from './types.js';

/*
 * A strategy's `proxy:` block (blue-green's and rolling's): nginx, its upstream file rewritten,
 * tested and reloaded, or a command of the user's own.
 */

export type Fail = (where: PathSegment[], message: string, key?: string) => void;

/** The targets that run blue-green slots and rolling hosts: those that keep releases. */
export const STRATEGY_PROVIDERS = ['bare-metal', 'docker-compose'] as const;

export const DEFAULT_DRAIN_SECONDS = 30;
export const DEFAULT_NGINX_TEST = ['nginx', '-t'];
export const DEFAULT_NGINX_RELOAD = ['nginx', '-s', 'reload'];
export const DEFAULT_NGINX_PID_FILE = '/run/nginx.pid';

const NGINX_KEYS = ['upstream_file', 'upstream', 'test', 'reload', 'pid_file'] as const;
/** Where a rolling deployment's proxy runs, over SSH (blue-green's runs beside its slots). */
export const PROXY_SSH_KEYS = ['host', 'user', 'port', 'identity_file', 'known_hosts', 'ssh_options'] as const;

/** The proxy block (`why`: what the strategy needs it for, said when it is missing). */
export function normalizeProxy(raw: RawStrategy, at: PathSegment[], fail: Fail, why: string): ProxyConfig | undefined {
  const proxy = raw.proxy;
  if (!proxy) {
    fail(at, `${why}: add proxy: {type: nginx, upstream_file: /etc/nginx/conf.d/NAME-upstream.conf, upstream: NAME} or {type: command, switch: [...]}`);
    return undefined;
  }
  const where = [...at, 'proxy'];
  if (proxy.type === 'command') {
    for (const key of NGINX_KEYS) if (proxy[key] !== undefined) fail(where, `${key} applies to proxy type nginx; a command proxy runs its switch command only`, key);
    if (!proxy.switch) {
      fail(where, 'a command proxy needs switch: [argv], run with FRAISIER_SLOT, FRAISIER_PORT and FRAISIER_UPSTREAMS set to where traffic goes');
      return undefined;
    }
    return { type: 'command', switch: proxy.switch };
  }
  if (proxy.switch) fail(where, 'switch applies to proxy type command; nginx is switched by rewriting upstream_file, then test and reload', 'switch');
  let ok = true;
  if (!proxy.upstream_file) {
    ok = false;
    fail(where, 'nginx needs upstream_file: the file holding the upstream block, which the site includes (e.g. /etc/nginx/conf.d/hello-upstream.conf)');
  } else if (!isAbsolute(proxy.upstream_file)) {
    ok = false;
    fail(where, `expected an absolute path, got "${proxy.upstream_file}"`, 'upstream_file');
  }
  if (!proxy.upstream) {
    ok = false;
    fail(where, 'nginx needs upstream: the name of the upstream block the site proxies to (proxy_pass http://NAME)');
  }
  if (proxy.pid_file !== undefined && !isAbsolute(proxy.pid_file)) {
    ok = false;
    fail(where, `expected an absolute path, got "${proxy.pid_file}"`, 'pid_file');
  }
  if (!ok) return undefined;
  return {
    type: 'nginx',
    upstreamFile: proxy.upstream_file!,
    upstream: proxy.upstream!,
    test: proxy.test ?? DEFAULT_NGINX_TEST,
    reload: proxy.reload ?? DEFAULT_NGINX_RELOAD,
    pidFile: proxy.pid_file ?? DEFAULT_NGINX_PID_FILE,
  };
}
