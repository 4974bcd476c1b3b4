import { isAbsolute } from 'node:path';
import type { PathSegment } from './problems.js';
import { type RawStrategy, toSeconds } from './raw-schema.js';
import type { EnvironmentConfig, FraiseType, ProxyConfig, SlotConfig, StrategyConfig } from './types.js';

/*
 * The environment's `strategy:` block, checked against what the rest of the environment says:
 * blue-green needs two slots on two ports, a proxy to switch, a health check it can point at
 * one slot, a layout that holds two releases, and a way to start and stop each slot.
 */

type Problem = (severity: 'error' | 'warning', path: PathSegment[], message: string, key?: string) => void;

/** The targets that run slots. */
export const SLOT_PROVIDERS = ['bare-metal', 'docker-compose'] as const;

export const DEFAULT_DRAIN_SECONDS = 30;
export const DEFAULT_NGINX_TEST = ['nginx', '-t'];
export const DEFAULT_NGINX_RELOAD = ['nginx', '-s', 'reload'];
export const DEFAULT_NGINX_PID_FILE = '/run/nginx.pid';

const NGINX_KEYS = ['upstream_file', 'upstream', 'test', 'reload', 'pid_file'] as const;
const BLUE_GREEN_KEYS = ['slots', 'proxy', 'drain', 'keep_previous'] as const;

export function normalizeStrategy(
  raw: RawStrategy | undefined,
  env: EnvironmentConfig,
  fraiseType: FraiseType,
  path: PathSegment[],
  report: Problem,
): StrategyConfig | undefined {
  const at = [...path, 'strategy'];
  if (env.healthCheck?.watch && (fraiseType === 'etl' || fraiseType === 'scheduled' || fraiseType === 'backup')) {
    report('warning', [...path, 'health_check'], `watch keeps checking a service after its deployment: a ${fraiseType} fraise runs no service, so nothing is watched`, 'watch');
  }
  if (!raw) return undefined;
  if (raw.type === 'rolling' || raw.type === 'canary') {
    report('error', at, `strategy "${raw.type}" is not available yet in this version of Fraisier (available: recreate, blue-green)`, 'type');
    return undefined;
  }
  if (raw.type === 'recreate') {
    const ignored = BLUE_GREEN_KEYS.filter((key) => raw[key] !== undefined);
    if (ignored.length) report('warning', at, `${ignored.join(', ')} appl${ignored.length === 1 ? 'ies' : 'y'} to blue-green: recreate restarts the one service in place and ignores ${ignored.length === 1 ? 'it' : 'them'}`);
    return { type: 'recreate' };
  }

  let ok = true;
  const fail = (where: PathSegment[], message: string, key?: string) => {
    ok = false;
    report('error', where, message, key);
  };
  if (fraiseType !== 'api') fail(at, `blue-green switches HTTP traffic between two slots: it applies to api fraises, not to a ${fraiseType} fraise`, 'type');
  const provider = env.target.provider;
  if (!(SLOT_PROVIDERS as readonly string[]).includes(provider)) {
    fail(at, `blue-green runs on ${SLOT_PROVIDERS.join(' and ')} targets, not on ${provider}`, 'type');
  }

  const slots: SlotConfig[] = Object.entries(raw.slots ?? {}).map(([name, port]) => ({ name, port }));
  if (slots.length !== 2) {
    fail(at, `blue-green runs two slots, each on its own port: give two, e.g. slots: {blue: 3001, green: 3002}${slots.length ? ` (there ${slots.length === 1 ? 'is one' : `are ${slots.length}`})` : ''}`, raw.slots ? 'slots' : undefined);
  } else if (slots[0]!.port === slots[1]!.port) {
    fail([...at, 'slots'], `slots ${slots[0]!.name} and ${slots[1]!.name} both use port ${slots[0]!.port}: each slot needs its own port`);
  }

  const proxy = normalizeProxy(raw, at, fail);
  checkHealth(env, path, at, fail);
  if (provider === 'bare-metal') checkBareMetal(env, path, at, fail);

  if (!ok || !proxy || slots.length !== 2) return undefined;
  return {
    type: 'blue-green',
    slots: [slots[0]!, slots[1]!],
    proxy,
    drainSeconds: raw.drain !== undefined ? toSeconds(raw.drain) : DEFAULT_DRAIN_SECONDS,
    keepPrevious: raw.keep_previous ?? false,
  };
}

function normalizeProxy(raw: RawStrategy, at: PathSegment[], fail: (where: PathSegment[], message: string, key?: string) => void): ProxyConfig | undefined {
  const proxy = raw.proxy;
  if (!proxy) {
    fail(at, 'blue-green switches traffic through a proxy: add proxy: {type: nginx, upstream_file: /etc/nginx/conf.d/NAME-upstream.conf, upstream: NAME} or {type: command, switch: [...]}');
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

/** Each slot is checked on its own port before it takes traffic: the check must be one that can be pointed at a port. */
function checkHealth(env: EnvironmentConfig, path: PathSegment[], at: PathSegment[], fail: (where: PathSegment[], message: string, key?: string) => void): void {
  const health = env.healthCheck;
  const where = [...path, 'health_check'];
  if (!health) {
    fail(at, 'blue-green checks the new slot on its own port before any traffic goes to it: add a health_check, e.g. url: "http://127.0.0.1:{port}/health"');
    return;
  }
  if (health.url !== undefined) {
    if (!health.url.includes('{port}')) {
      fail(where, `blue-green checks each slot on its own port: write {port} in the url (e.g. "http://127.0.0.1:{port}/health"); "${health.url}" would check whichever slot already takes the traffic`, 'url');
    }
    return;
  }
  if (health.port !== undefined) {
    fail(where, 'blue-green checks each slot on its own port: leave port out (or write {port} in a url)', 'port');
  }
}

function checkBareMetal(env: EnvironmentConfig, path: PathSegment[], at: PathSegment[], fail: (where: PathSegment[], message: string, key?: string) => void): void {
  const settings = env.target.config as { layout?: string; systemd_service?: string; service_manager?: string; commands?: Record<string, unknown> };
  if (settings.layout === 'in_place') {
    fail(path, 'blue-green needs layout: releases: its two slots run two releases at once, and the in_place layout has one tree (app_path itself)', 'layout');
  }
  const systemd = settings.systemd_service !== undefined && settings.service_manager !== 'none';
  const commands = settings.commands ?? {};
  if (!systemd && (!(commands.restart || commands.start) || !commands.stop)) {
    fail(at, 'blue-green starts and stops each slot: set systemd_service (its template unit NAME@SLOT.service runs each slot), or commands.restart and commands.stop (run with FRAISIER_SLOT and FRAISIER_PORT set)');
  }
}
