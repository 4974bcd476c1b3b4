import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Measurement } from './verdict.js';

/*
 * The canary's requests and 5xx answers, read from the proxy's access log. Fraisier documents
 * one log format (docs: "Canary analysis"), which nginx writes with
 *
 *   log_format fraisier_canary '$msec $status "$upstream_addr" "$upstream_status"';
 *   access_log /var/log/nginx/hello-canary.log fraisier_canary;
 *
 * $msec is when the request ended (seconds since the epoch, with milliseconds). $upstream_addr
 * and $upstream_status list every server tried, in order ("10.0.0.1:3001, 10.0.0.2:3002", groups
 * after an internal redirect joined by " : "); nginx moves to the next server only after a
 * failure. Each attempt at the canary counts as one of its requests, and as an error when its
 * status is 5xx (or, without an upstream status, when it was not the last attempt: nginx gave
 * up on it). A log without the upstream status ("-" or the field left out) uses $status for
 * the last attempt.
 */

export const CANARY_LOG_FORMAT = `log_format fraisier_canary '$msec $status "$upstream_addr" "$upstream_status"';`;

export interface LogWindow {
  /** The canary's address as nginx logs it in $upstream_addr ("127.0.0.1:3002"). */
  canary: string;
  /** Read from this byte offset (what the previous window returned as `nextOffset`); default 0. */
  fromOffset?: number;
  /** Only requests that ended at or after this instant (ms since the epoch). */
  since?: number;
  /** Only requests that ended before this instant (ms since the epoch). */
  until?: number;
}

export interface LogCount extends Measurement {
  /** Requests of any server in the window (the canary's share of the traffic is requests / total). */
  total: number;
  /** Lines that are not in the format (counted, never guessed at). */
  malformed: number;
  /** Where the next window starts: after the last complete line read. */
  nextOffset: number;
}

const LINE = /^(\d+(?:\.\d+)?) (\d{3}) "([^"]*)"(?: "([^"]*)")?\s*$/;

/** One request's attempts: each server tried, with its status when the log has it. */
export function attempts(upstreamAddr: string, upstreamStatus: string | undefined): { addr: string; status: number | null }[] {
  const split = (value: string) => value.split(/\s*[,:]\s+|\s+:\s+/).map((part) => part.trim()).filter(Boolean);
  const addrs = split(upstreamAddr);
  const statuses = upstreamStatus === undefined || upstreamStatus === '-' ? [] : split(upstreamStatus);
  return addrs.map((addr, i) => {
    const status = Number(statuses[i]);
    return { addr, status: Number.isInteger(status) ? status : null };
  });
}

/**
 * Counts the canary's requests and errors over a window of the log. A file shorter than
 * `fromOffset` was rotated or truncated: it is read from its start.
 */
export async function countCanary(path: string, window: LogWindow): Promise<LogCount> {
  if (!window.canary) throw new Error('the canary\'s address is needed to find its requests in the access log');
  const size = (await stat(path)).size;
  let offset = window.fromOffset ?? 0;
  if (offset > size) offset = 0;
  const counted: LogCount = { source: 'nginx access log', requests: 0, errors: 0, errorRate: null, total: 0, malformed: 0, nextOffset: offset };
  if (offset === size) return counted;
  // Only complete lines: one nginx is still writing waits for the next window.
  let consumed = offset;
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { start: offset, end: size - 1 }) as AsyncIterable<Buffer>) {
    // `data` starts at byte `consumed` of the file.
    const data: Buffer = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    const last = data.lastIndexOf(0x0a);
    if (last < 0) {
      pending = data;
      continue;
    }
    for (const line of data.subarray(0, last).toString('utf8').split('\n')) countLine(line, window, counted);
    consumed += last + 1;
    pending = data.subarray(last + 1);
  }
  counted.nextOffset = consumed;
  counted.errorRate = counted.requests > 0 ? counted.errors! / counted.requests : null;
  return counted;
}

/**
 * The same count over the log's text read from `window.fromOffset` on (over SSH, where the file is
 * not this process's to open): complete lines only, `nextOffset` after the last of them.
 */
export function countCanaryText(text: string, window: LogWindow): LogCount {
  const offset = window.fromOffset ?? 0;
  const counted: LogCount = { source: 'nginx access log', requests: 0, errors: 0, errorRate: null, total: 0, malformed: 0, nextOffset: offset };
  const last = text.lastIndexOf('\n');
  if (last < 0) return counted;
  const complete = text.slice(0, last);
  for (const line of complete.split('\n')) countLine(line, window, counted);
  counted.nextOffset = offset + Buffer.byteLength(complete) + 1;
  counted.errorRate = counted.requests > 0 ? counted.errors! / counted.requests : null;
  return counted;
}

function countLine(line: string, window: LogWindow, counted: LogCount): void {
  if (line.trim() === '') return;
  const match = LINE.exec(line);
  if (!match) {
    counted.malformed++;
    return;
  }
  const endedAt = Number(match[1]) * 1000;
  if (window.since !== undefined && endedAt < window.since) return;
  if (window.until !== undefined && endedAt >= window.until) return;
  counted.total++;
  const status = Number(match[2]);
  const tried = attempts(match[3]!, match[4]);
  tried.forEach((attempt, i) => {
    if (attempt.addr !== window.canary) return;
    counted.requests++;
    const last = i === tried.length - 1;
    const answered = attempt.status ?? (last ? status : null);
    if (answered === null || answered >= 500) counted.errors!++;
  });
}
