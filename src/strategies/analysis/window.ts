import { stat } from 'node:fs/promises';
import type { CanaryAnalysisConfig } from '../../config/types.js';
import type { HostShell } from '../../providers/host.js';
import { countCanary, countCanaryText } from './access-log.js';
import { measurePrometheus } from './prometheus.js';
import type { Measurement } from './verdict.js';

/*
 * A canary step's window: opened when its weights are set, measured as often as the strategy
 * likes, each measure covering everything since the opening. The access log is read on the
 * proxy's host (this process's file when local, `tail` over SSH otherwise) from the byte offset
 * it had at the opening, and counted incrementally; Prometheus is asked over a `{window}` as long
 * as the step has lasted.
 */

export interface CanaryEndpoint {
  slot: string;
  port: number;
  /** host:port, as the proxy logs it in $upstream_addr. */
  upstream: string;
}

export interface AnalysisWindow {
  /** The canary's requests and 5xx share since the window opened. Throws when the source cannot be read. */
  measure(signal?: AbortSignal): Promise<Measurement>;
}

/** `{slot}`, `{port}`, `{upstream}` and `{window}` replaced in a configured query. */
export function fillQuery(query: string, canary: CanaryEndpoint, windowSeconds: number): string {
  return query
    .replaceAll('{slot}', canary.slot)
    .replaceAll('{port}', String(canary.port))
    .replaceAll('{upstream}', canary.upstream)
    .replaceAll('{window}', `${Math.max(1, Math.ceil(windowSeconds))}s`);
}

export async function openWindow(config: CanaryAnalysisConfig, host: HostShell, canary: CanaryEndpoint, now: () => number = Date.now): Promise<AnalysisWindow> {
  const source = config.source;
  if (source.type === 'prometheus') {
    const opened = now();
    return {
      measure: (signal) => {
        const seconds = (now() - opened) / 1000;
        return measurePrometheus(
          { url: source.url, requests: fillQuery(source.requests, canary, seconds), errorRate: fillQuery(source.errorRate, canary, seconds) },
          signal ? { signal } : {},
        );
      },
    };
  }
  const read = host.remote ? remoteReader(host, source.path) : localReader(source.path);
  let offset = await read.size();
  const total: Measurement = { source: 'nginx access log', requests: 0, errors: 0, errorRate: null };
  return {
    async measure() {
      // A log shorter than the offset was rotated or truncated: it is counted again from its start.
      const counted = await read.count(offset, canary.upstream);
      offset = counted.nextOffset;
      total.requests += counted.requests;
      total.errors! += counted.errors ?? 0;
      total.errorRate = total.requests > 0 ? total.errors! / total.requests : null;
      return { ...total };
    },
  };
}

interface LogReader {
  size(): Promise<number>;
  count(fromOffset: number, canary: string): Promise<{ requests: number; errors: number | null; nextOffset: number }>;
}

function localReader(path: string): LogReader {
  return {
    size: async () => {
      try {
        return (await stat(path)).size;
      } catch (error) {
        throw new Error(`the access log ${path} cannot be read: ${(error as Error).message}`);
      }
    },
    count: (fromOffset, canary) => countCanary(path, { canary, fromOffset }),
  };
}

/** Prints the offset read from (0 when the file is now shorter), then the file from there, then a dot (the runner trims). */
const READ_FROM = 'size=$(stat -c %s -- "$1") || exit 1; off=$2; [ "$off" -gt "$size" ] && off=0; printf "%s\\n" "$off"; tail -c +$((off + 1)) -- "$1"; printf .';
const READ_TIMEOUT_MS = 60_000;

function remoteReader(host: HostShell, path: string): LogReader {
  return {
    size: async () => {
      try {
        return Number((await host.run(['stat', '-c', '%s', '--', path], { timeoutMs: READ_TIMEOUT_MS })).stdout.trim());
      } catch (error) {
        throw new Error(`the access log ${path} cannot be read on ${host.description}: ${(error as Error).message}`);
      }
    },
    count: async (fromOffset, canary) => {
      const { stdout } = await host.run(['sh', '-c', READ_FROM, 'fraisier-canary-log', path, String(fromOffset)], { timeoutMs: READ_TIMEOUT_MS });
      const newline = stdout.indexOf('\n');
      const from = Number(stdout.slice(0, newline));
      return countCanaryText(stdout.slice(newline + 1, -1), { canary, fromOffset: from });
    },
  };
}
