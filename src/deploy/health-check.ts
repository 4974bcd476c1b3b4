import { connect } from 'node:net';
import type { HealthCheckConfig } from '../config/types.js';
import type { HostShell } from '../providers/host.js';

/*
 * Is the service up? HTTP: a status below 400 (or the expected one); TCP: a connection. Retried
 * with exponential backoff until `retries` attempts or the overall timeout, whichever comes
 * first. A URL on a loopback address of a remote host is checked on that host (with curl),
 * since that is where 127.0.0.1 means the service.
 */

export interface HealthProbeResult {
  ok: boolean;
  attempts: number;
  message: string;
}

export interface HealthCheckOptions {
  signal?: AbortSignal;
  /** Called after each failed attempt (for progress messages). */
  onAttempt?: (attempt: number, message: string) => void;
  /** The host the service runs on, when its URL is relative or loopback. */
  host?: HostShell;
  /** Host name to put in a URL built from `path`/`port` (default 127.0.0.1). */
  defaultHost?: string;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** An attempt with less time than this left would only report the deadline, not the service. */
const MIN_ATTEMPT_MS = 250;

export async function checkHealth(config: HealthCheckConfig, options: HealthCheckOptions = {}): Promise<HealthProbeResult> {
  const sleep = options.sleep ?? abortableSleep;
  const deadline = Date.now() + config.timeoutSeconds * 1000;
  const attempts = Math.max(1, config.retries);
  let delay = Math.max(0.05, config.intervalSeconds) * 1000;
  let last = 'not checked';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (options.signal?.aborted) return { ok: false, attempts: attempt - 1, message: 'cancelled' };
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    const perAttempt = Math.min(remaining, 10_000);
    const result = await probe(config, perAttempt, options);
    last = result.message;
    if (result.ok) return { ok: true, attempts: attempt, message: last };
    options.onAttempt?.(attempt, last);
    if (attempt === attempts) break;
    const wait = Math.min(delay, deadline - Date.now());
    // No waiting into a window too short to try in: the answer already had stays the reason.
    if (wait <= 0 || deadline - Date.now() - wait < MIN_ATTEMPT_MS) break;
    await sleep(wait, options.signal);
    delay = Math.min(delay * 2, 5_000);
  }
  return { ok: false, attempts, message: last };
}

/** The URL an HTTP check requests. */
export function healthUrl(config: HealthCheckConfig, defaultHost = '127.0.0.1'): string {
  if (config.url) return config.url;
  const host = config.host ?? defaultHost;
  const port = config.port ?? 80;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}${config.path ?? '/'}`;
}

interface Probe {
  ok: boolean;
  message: string;
}

const failed = (message: string): Probe => ({ ok: false, message });

async function probe(config: HealthCheckConfig, timeoutMs: number, options: HealthCheckOptions): Promise<Probe> {
  if (config.type === 'tcp') {
    const host = config.host ?? options.defaultHost ?? '127.0.0.1';
    if (!config.port) return failed('a TCP health check needs a port');
    return tcpProbe(host, config.port, timeoutMs);
  }
  const url = healthUrl(config, options.defaultHost);
  if (options.host?.remote && isLoopbackUrl(url)) return remoteHttpProbe(options.host, url, timeoutMs, config.expectStatus, options.signal);
  return httpProbe(url, timeoutMs, config.expectStatus, options.signal);
}

async function httpProbe(url: string, timeoutMs: number, expect: number | undefined, signal?: AbortSignal): Promise<Probe> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(url, {
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      redirect: 'manual',
      headers: { 'user-agent': 'fraisier-health-check' },
    });
    await response.body?.cancel();
    return judge(response.status, expect);
  } catch (error) {
    if (timeout.aborted) return failed(`no answer from ${url} within ${Math.round(timeoutMs / 100) / 10}s`);
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return failed(`${url}: ${cause ?? (error as Error).message}`);
  }
}

async function remoteHttpProbe(host: HostShell, url: string, timeoutMs: number, expect: number | undefined, signal?: AbortSignal): Promise<Probe> {
  try {
    const result = await host.run(['curl', '--silent', '--output', '/dev/null', '--write-out', '%{http_code}', '--max-time', String(Math.ceil(timeoutMs / 1000)), '--', url], {
      timeoutMs: timeoutMs + 5_000,
      ...(signal ? { signal } : {}),
    });
    const status = Number(result.stdout.trim());
    return status ? judge(status, expect) : failed(`${url}: no answer (on ${host.description})`);
  } catch (error) {
    return failed(`${url} (on ${host.description}): ${(error as Error).message}`);
  }
}

function judge(status: number, expect: number | undefined): Probe {
  const ok = expect !== undefined ? status === expect : status < 400;
  return { ok, message: `HTTP ${status}${ok ? '' : expect !== undefined ? ` (expected ${expect})` : ''}` };
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<Probe> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(failed(`no TCP connection to ${host}:${port} within ${Math.round(timeoutMs / 1000)}s`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: true, message: `TCP ${host}:${port} open` });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(failed(`${host}:${port}: ${error.code ?? error.message}`));
    });
  });
}

/** Whether `url` names this machine (127.x, ::1, localhost): on a remote host, that host. */
export function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '[::1]' || host === '::1' || host.startsWith('127.');
  } catch {
    return false;
  }
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
