import type { PathSegment } from './problems.js';
import { DEFAULT_DRAIN_SECONDS, type Fail, normalizeProxy, PROXY_SSH_KEYS, STRATEGY_PROVIDERS } from './proxy.js';
import { type RawStrategy, toSeconds } from './raw-schema.js';
import { CANARY_KEYS, normalizeCanary } from './canary.js';
import { normalizeRolling } from './rolling.js';
import type { EnvironmentConfig, FraiseType, SlotConfig, StrategyConfig } from './types.js';

/*
 * The environment's `strategy:` block, checked against what the rest of the environment says:
 * blue-green (and canary, over the same slots) needs two slots on two ports, a proxy to switch, a
 * health check it can point at one slot, a layout that holds two releases, and a way to start and
 * stop each slot. A canary's own keys (steps, pause, analysis) are canary.ts's; rolling's own
 * checks (its hosts) are in rolling.ts.
 */

export type Problem = (severity: 'error' | 'warning', path: PathSegment[], message: string, key?: string) => void;

const BLUE_GREEN_KEYS = ['slots', 'proxy', 'drain', 'keep_previous'] as const;
const ROLLING_KEYS = ['max_unavailable', 'port'] as const;

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
  if (env.target.config.hosts !== undefined && raw?.type !== 'rolling') {
    report('error', [...path, 'target'], `hosts applies to strategy rolling, which deploys to each host in turn; ${raw?.type ?? 'recreate'} deploys to the target's one host (host:)`, 'hosts');
  }
  if (!raw) return undefined;
  if (raw.type === 'recreate') {
    const ignored = [...BLUE_GREEN_KEYS, ...CANARY_KEYS, ...ROLLING_KEYS].filter((key) => raw[key] !== undefined);
    if (ignored.length) report('warning', at, `${ignored.join(', ')} appl${ignored.length === 1 ? 'ies' : 'y'} to blue-green, canary and rolling: recreate restarts the one service in place and ignores ${ignored.length === 1 ? 'it' : 'them'}`);
    return { type: 'recreate' };
  }
  if (raw.type === 'blue-green') {
    const ignored = CANARY_KEYS.filter((key) => raw[key] !== undefined);
    if (ignored.length) report('warning', at, `${ignored.join(', ')} appl${ignored.length === 1 ? 'ies' : 'y'} to canary: blue-green switches all the traffic at once and ignores ${ignored.length === 1 ? 'it' : 'them'}`);
  }
  const kind = raw.type;

  let ok = true;
  const fail: Fail = (where, message, key) => {
    ok = false;
    report('error', where, message, key);
  };
  if (raw.type === 'rolling') {
    const rolling = normalizeRolling(raw, env, fraiseType, path, fail, report);
    return ok ? rolling : undefined;
  }
  const ignored = ROLLING_KEYS.filter((key) => raw[key] !== undefined);
  if (ignored.length) report('warning', at, `${ignored.join(', ')} appl${ignored.length === 1 ? 'ies' : 'y'} to rolling: ${kind} ignores ${ignored.length === 1 ? 'it' : 'them'}`);
  for (const key of PROXY_SSH_KEYS) {
    if (raw.proxy?.[key] !== undefined) fail([...at, 'proxy'], `${key} applies to rolling, whose proxy may run on a host of its own: ${kind}'s proxy runs on the target's host, beside its slots`, key);
  }
  if (fraiseType !== 'api') fail(at, `${kind} switches HTTP traffic between two slots: it applies to api fraises, not to a ${fraiseType} fraise`, 'type');
  const provider = env.target.provider;
  if (!(STRATEGY_PROVIDERS as readonly string[]).includes(provider)) {
    fail(at, `${kind} runs on ${STRATEGY_PROVIDERS.join(' and ')} targets, not on ${provider}`, 'type');
  }

  const slots: SlotConfig[] = Object.entries(raw.slots ?? {}).map(([name, port]) => ({ name, port }));
  if (slots.length !== 2) {
    fail(at, `${kind} runs two slots, each on its own port: give two, e.g. slots: {blue: 3001, green: 3002}${slots.length ? ` (there ${slots.length === 1 ? 'is one' : `are ${slots.length}`})` : ''}`, raw.slots ? 'slots' : undefined);
  } else if (slots[0]!.port === slots[1]!.port) {
    fail([...at, 'slots'], `slots ${slots[0]!.name} and ${slots[1]!.name} both use port ${slots[0]!.port}: each slot needs its own port`);
  }

  const proxy = normalizeProxy(raw, at, fail, `${kind} switches traffic through a proxy`);
  checkHealth(env, path, at, fail, kind);
  if (provider === 'bare-metal') checkBareMetal(env, path, at, fail, kind);
  const canary = kind === 'canary' ? normalizeCanary(raw, at, fail) : undefined;

  if (!ok || !proxy || slots.length !== 2) return undefined;
  const slotted = {
    slots: [slots[0]!, slots[1]!] as [SlotConfig, SlotConfig],
    proxy,
    drainSeconds: raw.drain !== undefined ? toSeconds(raw.drain) : DEFAULT_DRAIN_SECONDS,
    keepPrevious: raw.keep_previous ?? false,
  };
  if (kind === 'canary') return canary ? { type: 'canary', ...slotted, ...canary } : undefined;
  return { type: 'blue-green', ...slotted };
}

/** Each slot is checked on its own port before it takes traffic: the check must be one that can be pointed at a port. */
function checkHealth(env: EnvironmentConfig, path: PathSegment[], at: PathSegment[], fail: Fail, kind: string): void {
  const health = env.healthCheck;
  const where = [...path, 'health_check'];
  if (!health) {
    fail(at, `${kind} checks the new slot on its own port before any traffic goes to it: add a health_check, e.g. url: "http://127.0.0.1:{port}/health"`);
    return;
  }
  if (health.url !== undefined) {
    if (!health.url.includes('{port}')) {
      fail(where, `${kind} checks each slot on its own port: write {port} in the url (e.g. "http://127.0.0.1:{port}/health"); "${health.url}" would check whichever slot already takes the traffic`, 'url');
    }
    return;
  }
  if (health.port !== undefined) {
    fail(where, `${kind} checks each slot on its own port: leave port out (or write {port} in a url)`, 'port');
  }
}

function checkBareMetal(env: EnvironmentConfig, path: PathSegment[], at: PathSegment[], fail: Fail, kind: string): void {
  const settings = env.target.config as { layout?: string; systemd_service?: string; service_manager?: string; commands?: Record<string, unknown> };
  if (settings.layout === 'in_place') {
    fail(path, `${kind} needs layout: releases: its two slots run two releases at once, and the in_place layout has one tree (app_path itself)`, 'layout');
  }
  const systemd = settings.systemd_service !== undefined && settings.service_manager !== 'none';
  const commands = settings.commands ?? {};
  if (!systemd && (!(commands.restart || commands.start) || !commands.stop)) {
    fail(at, `${kind} starts and stops each slot: set systemd_service (its template unit NAME@SLOT.service runs each slot), or commands.restart and commands.stop (run with FRAISIER_SLOT and FRAISIER_PORT set)`);
  }
}
