import { isAbsolute } from 'node:path';
import type { PathSegment } from './problems.js';
import { type RawStrategy, toSeconds } from './raw-schema.js';
import type { CanaryAnalysisConfig, CanarySource } from './types.js';

/*
 * A canary's own keys: the weights it goes through, how long each is held, and what judges each
 * step. Its slots, proxy and health check are blue-green's (strategy.ts checks them for both).
 */

type Fail = (where: PathSegment[], message: string, key?: string) => void;

/** The keys only a canary acts on (a warning elsewhere). */
export const CANARY_KEYS = ['steps', 'pause', 'analysis'] as const;

export const DEFAULT_CANARY_PAUSE_SECONDS = 60;
export const DEFAULT_MAX_ERROR_RATE = 0.05;
export const DEFAULT_MIN_REQUESTS = 20;
export const DEFAULT_ANALYSIS_INTERVAL_SECONDS = 10;

const ACCESS_LOG_KEYS = ['path', 'format'] as const;
const PROMETHEUS_KEYS = ['url', 'requests', 'error_rate'] as const;

export interface CanaryKeys {
  steps: number[];
  pauseSeconds: number | null;
  analysis?: CanaryAnalysisConfig;
}

export function normalizeCanary(raw: RawStrategy, at: PathSegment[], fail: Fail): CanaryKeys | undefined {
  let ok = true;
  const refuse: Fail = (where, message, key) => {
    ok = false;
    fail(where, message, key);
  };
  const steps = raw.steps ?? [];
  if (raw.steps === undefined) {
    refuse(at, 'a canary needs steps: the new release\'s share of the requests at each step, e.g. steps: [10, 50, 100]');
  } else if (steps.length === 0) {
    refuse([...at, 'steps'], 'give at least one step, the last 100, e.g. [10, 50, 100]');
  } else {
    let previous = 0;
    steps.forEach((weight, i) => {
      if (!Number.isInteger(weight) || weight < 1 || weight > 100) return refuse([...at, 'steps', i], `expected a whole percentage of the requests, 1 to 100; got ${weight}`);
      if (weight <= previous) refuse([...at, 'steps', i], `steps must increase: ${weight} comes after ${previous}`);
      previous = Math.max(previous, weight);
    });
    const last = steps.at(-1)!;
    if (ok && last !== 100) refuse([...at, 'steps'], `the last step must be 100 (all the requests on the new release); it is ${last}`);
  }
  const pauseSeconds = raw.pause === undefined ? DEFAULT_CANARY_PAUSE_SECONDS : raw.pause === null || raw.pause === 'until_promoted' ? null : toSeconds(raw.pause);
  const analysis = raw.analysis ? normalizeAnalysis(raw.analysis, [...at, 'analysis'], refuse) : undefined;
  if (!ok) return undefined;
  return { steps, pauseSeconds, ...(analysis ? { analysis } : {}) };
}

function normalizeAnalysis(raw: NonNullable<RawStrategy['analysis']>, at: PathSegment[], fail: Fail): CanaryAnalysisConfig | undefined {
  let ok = true;
  const refuse: Fail = (where, message, key) => {
    ok = false;
    fail(where, message, key);
  };
  let source: CanarySource | undefined;
  if (raw.source === 'access_log') {
    for (const key of PROMETHEUS_KEYS) if (raw[key] !== undefined) refuse(at, `${key} applies to source prometheus; an access_log analysis reads path`, key);
    if (!raw.path) refuse(at, 'an access_log analysis needs path: the log nginx writes with the fraisier_canary format (see the README, "Canary analysis")');
    else if (!isAbsolute(raw.path)) refuse(at, `expected an absolute path, got "${raw.path}"`, 'path');
    else source = { type: 'access_log', path: raw.path };
  } else {
    for (const key of ACCESS_LOG_KEYS) if (raw[key] !== undefined) refuse(at, `${key} applies to source access_log; a prometheus analysis runs its two queries`, key);
    const missing = PROMETHEUS_KEYS.filter((key) => !raw[key]);
    if (missing.length) {
      refuse(at, `a prometheus analysis needs ${missing.join(', ')}: the server's URL, and PromQL for the canary's requests and its 5xx share over {window} (e.g. sum(increase(http_requests_total{slot="{slot}"}[{window}])))`);
    } else if (!isHttpUrl(raw.url!)) {
      refuse(at, `expected an http(s) URL such as http://prometheus:9090, got "${raw.url}"`, 'url');
    } else {
      source = { type: 'prometheus', url: raw.url!, requests: raw.requests!, errorRate: raw.error_rate! };
    }
  }
  const maxErrorRate = raw.max_error_rate ?? DEFAULT_MAX_ERROR_RATE;
  if (!(maxErrorRate >= 0 && maxErrorRate <= 1)) refuse(at, `expected a share from 0 to 1 (0.05 for 5%); got ${maxErrorRate}`, 'max_error_rate');
  const minRequests = raw.min_requests ?? DEFAULT_MIN_REQUESTS;
  if (!Number.isInteger(minRequests) || minRequests < 1) refuse(at, `expected a whole number of requests, 1 or more (fewer say nothing: the step waits for a person); got ${minRequests}`, 'min_requests');
  const intervalSeconds = raw.interval !== undefined ? toSeconds(raw.interval) : DEFAULT_ANALYSIS_INTERVAL_SECONDS;
  if (intervalSeconds <= 0) refuse(at, 'expected a duration above 0, e.g. "10s"', 'interval');
  if (!ok || !source) return undefined;
  return { source, maxErrorRate, minRequests, intervalSeconds };
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
