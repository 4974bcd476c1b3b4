import { isLoopbackUrl } from '../deploy/health-check.js';
import type { PathSegment } from './problems.js';
import { DEFAULT_DRAIN_SECONDS, type Fail, normalizeProxy, PROXY_SSH_KEYS, STRATEGY_PROVIDERS } from './proxy.js';
import { type RawStrategy, toSeconds } from './raw-schema.js';
import type { Problem } from './strategy.js';
import { type RawRollingHost, rollingHosts } from './target-schemas.js';
import type { EnvironmentConfig, FraiseType, RollingHost, RollingStrategy, SshTarget } from './types.js';

/*
 * `strategy: {type: rolling}`: the target's `hosts`, each deployed in turn while the proxy sends
 * its requests to the others. Checked here: every host reachable by a name of its own and at an
 * upstream address of its own, a batch size that leaves a host serving, a proxy (without one a
 * host cannot be taken out), a health check that can be pointed at one host, a layout that keeps
 * the release a failed host goes back to, and a service to restart.
 */

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SSH_KEYS = ['user', 'port', 'identity_file', 'known_hosts', 'ssh_options'] as const;

interface TargetSettings {
  host?: string;
  user?: string;
  port?: number;
  identity_file?: string;
  known_hosts?: string;
  ssh_options?: string[];
  app_path?: string;
  layout?: string;
  systemd_service?: string;
  service_manager?: string;
  commands?: Record<string, unknown>;
  hosts?: (string | RawRollingHost)[];
}

export function normalizeRolling(raw: RawStrategy, env: EnvironmentConfig, fraiseType: FraiseType, path: PathSegment[], fail: Fail, report: Problem): RollingStrategy | undefined {
  const at = [...path, 'strategy'];
  if (fraiseType !== 'api') fail(at, `rolling takes each host out of the proxy's upstream while it restarts: it applies to api fraises, not to a ${fraiseType} fraise`, 'type');
  const provider = env.target.provider;
  if (!(STRATEGY_PROVIDERS as readonly string[]).includes(provider)) fail(at, `rolling runs on ${STRATEGY_PROVIDERS.join(' and ')} targets, not on ${provider}`, 'type');
  const ignored = (['slots', 'keep_previous'] as const).filter((key) => raw[key] !== undefined);
  if (ignored.length) report('warning', at, `${ignored.join(', ')} appl${ignored.length === 1 ? 'ies' : 'y'} to blue-green: rolling ignores ${ignored.length === 1 ? 'it' : 'them'}`);

  const settings = env.target.config as TargetSettings;
  const hosts = normalizeHosts(settings, env, raw, [...path, 'target'], at, fail);
  const proxy = normalizeProxy(raw, at, fail, 'rolling takes each host out of the upstream while it restarts, which only a proxy can do');
  const proxyHost = normalizeProxyHost(raw, settings, [...at, 'proxy'], fail);
  const maxUnavailable = hosts ? normalizeMaxUnavailable(raw, hosts.length, at, fail) : undefined;
  checkHealth(env, path, at, fail);
  if (!env.repository) fail(at, 'rolling deploys one commit to every host and switches a failed host back to the release it ran: it needs the repository (git_repo, or the fraise\'s git.repository)');
  if (provider === 'bare-metal') checkBareMetal(settings, path, at, fail);
  if (!hosts || !proxy || maxUnavailable === undefined) return undefined;
  return {
    type: 'rolling',
    hosts,
    maxUnavailable,
    proxy,
    ...(proxyHost ? { proxyHost } : {}),
    drainSeconds: raw.drain !== undefined ? toSeconds(raw.drain) : DEFAULT_DRAIN_SECONDS,
  };
}

function normalizeHosts(settings: TargetSettings, env: EnvironmentConfig, raw: RawStrategy, target: PathSegment[], at: PathSegment[], fail: Fail): RollingHost[] | undefined {
  const entries = settings.hosts;
  if (!entries) {
    fail(at, 'rolling deploys to several hosts in turn: list them under target.hosts, e.g. hosts: [{host: web1, upstream: "10.0.0.5:3000"}, {host: web2, upstream: "10.0.0.6:3000"}]');
    return undefined;
  }
  // Entries the target's schema refused are reported there already.
  if (!rollingHosts.safeParse(entries).success) return undefined;
  if (settings.host !== undefined) fail(target, 'host and hosts both given: a rolling deployment goes to the hosts listed in hosts (move this one there)', 'host');
  const hosts: RollingHost[] = [];
  let ok = true;
  entries.forEach((entry, index) => {
    const where = [...target, 'hosts', index];
    const written = typeof entry === 'string' ? { host: entry } : entry;
    const name = written.name ?? written.host;
    if (!HOST_NAME.test(name)) {
      ok = false;
      fail(where, `"${name}" cannot name a host (letters, digits, ".", "_" or "-", at most 64 characters): give it a name`, written.name ? 'name' : undefined);
    }
    const upstream = parseUpstream(written.upstream, written.host, raw.port);
    if (typeof upstream === 'string') {
      ok = false;
      fail(where, `${name}: ${upstream}`, written.upstream !== undefined ? 'upstream' : undefined);
    }
    if (!written.app_path && !env.appPath) {
      ok = false;
      fail(where, `${name} has no app_path, and neither has the target: where should its releases go?`);
    }
    const ssh: SshTarget = { host: written.host };
    for (const key of SSH_KEYS) {
      const value = written[key] ?? settings[key];
      if (value !== undefined) Object.assign(ssh, { [key]: value });
    }
    if (typeof upstream !== 'string') hosts.push({ name, ssh, ...(written.app_path ? { appPath: written.app_path } : {}), upstream });
  });
  const list = [...target, 'hosts'];
  const twice = (key: (h: RollingHost) => string, message: (a: RollingHost, b: RollingHost) => string) => {
    const seen = new Map<string, RollingHost>();
    for (const host of hosts) {
      const first = seen.get(key(host));
      if (first) {
        ok = false;
        fail(list, message(first, host));
      } else seen.set(key(host), host);
    }
  };
  twice((h) => h.name, (a) => `two hosts are named "${a.name}": give each a name of its own (name:)`);
  twice((h) => upstreamText(h.upstream), (a, b) => `${a.name} and ${b.name} are both at ${upstreamText(a.upstream)} for the proxy: it could not send the requests of one and not the other`);
  twice(
    (h) => `${h.ssh.user ?? ''}@${h.ssh.host}:${h.ssh.port ?? ''}\u0000${h.appPath ?? env.appPath ?? ''}`,
    (a, b) => `${a.name} and ${b.name} would deploy to the same app_path on the same host: give each its own app_path`,
  );
  return ok ? hosts : undefined;
}

/** ADDRESS:PORT, [IPv6]:PORT or ADDRESS (then strategy.port), else the SSH host and strategy.port; a string says what is missing. */
function parseUpstream(written: string | undefined, host: string, port: number | undefined): { host: string; port: number } | string {
  const match = written === undefined ? [written, host, undefined, undefined] : /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(written);
  if (!match) return `"${written}" is not ADDRESS:PORT`;
  const address = match[1] ?? match[2]!;
  const resolved = match[3] !== undefined ? Number(match[3]) : port;
  if (resolved === undefined) {
    return 'where does the proxy reach its service? give upstream: ADDRESS:PORT, or strategy.port (the port the service listens on, on every host)';
  }
  if (resolved < 1 || resolved > 65535) return `port ${resolved} in upstream "${written}" is not a port (1 to 65535)`;
  return { host: address, port: resolved };
}

export function upstreamText(upstream: { host: string; port: number }): string {
  return `${upstream.host.includes(':') ? `[${upstream.host}]` : upstream.host}:${upstream.port}`;
}

/** proxy.host and its SSH settings (the target's filling in the rest); none: this machine. */
function normalizeProxyHost(raw: RawStrategy, settings: TargetSettings, where: PathSegment[], fail: Fail): SshTarget | undefined {
  const proxy = raw.proxy;
  if (!proxy) return undefined;
  if (proxy.host === undefined) {
    for (const key of PROXY_SSH_KEYS) {
      if (proxy[key] !== undefined) fail(where, `${key} applies with proxy.host (the host the proxy runs on, over SSH); without host the proxy runs on this machine`, key);
    }
    return undefined;
  }
  const ssh: SshTarget = { host: proxy.host };
  for (const key of SSH_KEYS) {
    const value = proxy[key] ?? settings[key];
    if (value !== undefined) Object.assign(ssh, { [key]: value });
  }
  return ssh;
}

/** A number of hosts, or a share of them rounded down (at least 1); at least one host keeps serving. */
function normalizeMaxUnavailable(raw: RawStrategy, hosts: number, at: PathSegment[], fail: Fail): number | undefined {
  const written = raw.max_unavailable ?? 1;
  // The epsilon: 3 × 67% is 2.01, but 4 × 50% is 2 exactly whatever the float says.
  const count = typeof written === 'number' ? written : Math.max(1, Math.floor((hosts * Number(written.slice(0, -1))) / 100 + 1e-9));
  if (hosts === 1 && count > 1) {
    fail(at, `max_unavailable ${JSON.stringify(written)}: there is one host, so it is 1`, 'max_unavailable');
    return undefined;
  }
  if (hosts > 1 && count >= hosts) {
    fail(at, `max_unavailable ${JSON.stringify(written)} would take ${count === hosts ? `all ${hosts}` : `${count} of the ${hosts}`} hosts out at once, leaving none to take the requests: at most ${hosts - 1}`, 'max_unavailable');
    return undefined;
  }
  return count;
}

/** Each host is checked on its own before it goes back into the upstream. */
function checkHealth(env: EnvironmentConfig, path: PathSegment[], at: PathSegment[], fail: Fail): void {
  const health = env.healthCheck;
  if (!health) {
    fail(at, 'rolling checks each host before it goes back into the upstream: add a health_check, e.g. url: "http://{host}:{port}/health" ({host}:{port}: where the proxy reaches the host)');
    return;
  }
  const url = health.url;
  if (url !== undefined && !url.includes('{host}') && !url.includes('{port}') && !isLoopbackUrl(url)) {
    fail(
      [...path, 'health_check'],
      `rolling checks each host on its own: write {host} and {port} in the url (where the proxy reaches the host, e.g. "http://{host}:{port}/health"), or a loopback url (asked on each host, over SSH); "${url}" would check whatever answers there`,
      'url',
    );
  }
}

function checkBareMetal(settings: TargetSettings, path: PathSegment[], at: PathSegment[], fail: Fail): void {
  if (settings.layout === 'in_place') {
    fail(path, 'rolling needs layout: releases: a host that fails goes back to the release it ran, which the in_place layout does not keep', 'layout');
  }
  const systemd = settings.systemd_service !== undefined && settings.service_manager !== 'none';
  if (!systemd && !settings.commands?.restart) {
    fail(at, 'rolling restarts the service on each host: set systemd_service, or commands.restart (run with FRAISIER_HOST and FRAISIER_PORT set)');
  }
}
