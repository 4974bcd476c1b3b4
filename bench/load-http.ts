// The load generator of the HTTP benchmarks, in a process of its own: N keep-alive connections,
// one request in flight on each, for D seconds; a header can carry a unique value per request
// (delivery ids).
//
// Not autocannon: a request that changes per send goes through its setupRequest hook, which
// rebuilds the whole request (7.6 KB of body included) each time. Measured on the 2-core bench
// machine: 74 µs of generator CPU per request with the hook against 25 µs without, so the
// generator, not the bare reference server, set the reference figure (12,000 req/s where the
// server answers 36,000), and the ratio looked three times better than it was. Here the request
// is three prebuilt buffers (head, the unique header line, body) written at once: the same
// requests reach the reference and Fraisier, and the generator costs little on either.
import { connect, type Socket } from 'node:net';
import { readInput } from './lib/processes.js';
import { percentile } from './lib/stats.js';

interface Input {
  url: string;
  path: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  connections: number;
  seconds: number;
  /** This header gets `<prefix>-<n>`, n unique per request. */
  uniqueHeader?: { name: string; prefix: string };
  /** Report the unique header values of the requests answered 2xx (the delivery ids). */
  collectDeliveryIds?: boolean;
}

/** A request without an answer after this long counts as a timeout, and its connection is replaced. */
const TIMEOUT_MS = 10_000;
/** After the run, answers still on their way are awaited this long (they count, outside the rate). */
const DRAIN_MS = 10_000;

const input = await readInput<Input>();
const target = new URL(input.url);
const body = Buffer.from(input.body ?? '', 'utf8');
const head = Buffer.from(
  [
    `${input.method} ${input.path} HTTP/1.1`,
    `host: ${target.host}`,
    'connection: keep-alive',
    ...Object.entries(input.headers).map(([name, value]) => `${name}: ${value}`),
    ...(input.method === 'POST' || body.length ? [`content-length: ${body.length}`] : []),
    '',
  ].join('\r\n'),
  'latin1',
);

let counter = 0;
const latencies: number[] = [];
const statusCodes: Record<string, number> = {};
const acknowledged: string[] = [];
let ok = 0;
let non2xx = 0;
let errors = 0;
let timeouts = 0;
let inWindow = 0;
let sending = true;
/** Each connection's timeout check, run once a second (cheaper than a timer per request). */
const overdue = new Set<() => void>();
setInterval(() => overdue.forEach((check) => check()), 1000).unref();
const started = performance.now();
const endAt = started + input.seconds * 1000;

/** One connection: sends a request, reads its answer, sends the next, until the run ends. */
function client(): Promise<void> {
  return new Promise((resolve) => {
    let socket: Socket;
    let buffered: Buffer = Buffer.alloc(0);
    let sentAt = 0;
    let unique = '';
    let inFlight = false;
    /** Answer being read: its status and where its body ends in `buffered` (-1 while the head is incomplete). */
    let status = 0;
    let end = -1;
    let closeAfter = false;

    const open = () => {
      buffered = Buffer.alloc(0);
      end = -1;
      socket = connect({ host: target.hostname, port: Number(target.port), noDelay: true }, send);
      socket.on('data', onData);
      socket.on('error', () => {});
      socket.on('close', onClose);
    };
    // The request, rebuilt in place: head, unique header line, body (one write per request).
    const request = Buffer.allocUnsafe(head.length + 512 + body.length);
    head.copy(request);
    const send = () => {
      if (!sending) return finish();
      inFlight = true;
      unique = input.uniqueHeader ? `${input.uniqueHeader.prefix}-${++counter}` : '';
      const line = input.uniqueHeader ? `${input.uniqueHeader.name}: ${unique}\r\n\r\n` : '\r\n';
      let length = head.length + request.write(line, head.length, 'latin1');
      length += body.copy(request, length);
      sentAt = performance.now();
      socket.write(request.subarray(0, length));
    };
    const onData = (chunk: Buffer) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      if (end < 0) {
        const headEnd = buffered.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        // "HTTP/1.1 202 ...": the status is bytes 9 to 11.
        status = (buffered[9]! - 48) * 100 + (buffered[10]! - 48) * 10 + (buffered[11]! - 48);
        const length = contentLength(buffered, headEnd);
        if (length < 0) {
          // Every server measured here frames its answers with content-length.
          errors++;
          socket.destroy();
          return;
        }
        closeAfter = headerAt(buffered, headEnd, 'connection: close') >= 0;
        end = headEnd + 4 + length;
      }
      if (buffered.length < end) return;
      buffered = buffered.subarray(end);
      end = -1;
      record();
      if (closeAfter) socket.destroy();
      else send();
    };
    const record = () => {
      inFlight = false;
      const now = performance.now();
      latencies.push(now - sentAt);
      if (now <= endAt) inWindow++;
      statusCodes[status] = (statusCodes[status] ?? 0) + 1;
      if (status >= 200 && status < 300) {
        ok++;
        if (input.collectDeliveryIds && unique) acknowledged.push(unique);
      } else non2xx++;
    };
    const onClose = () => {
      if (inFlight) {
        errors++;
        inFlight = false;
      }
      if (sending) open();
      else finish();
    };
    overdue.add(() => {
      if (!inFlight || performance.now() - sentAt < TIMEOUT_MS) return;
      timeouts++;
      inFlight = false;
      socket.destroy();
    });
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      socket.removeListener('close', onClose);
      socket.destroy();
      resolve();
    };
    open();
  });
}

/** Where `line` (lower case, as node:http writes header names) starts in the head, or -1. */
function headerAt(buffer: Buffer, headEnd: number, line: string): number {
  const at = buffer.indexOf(`\r\n${line}`, 0, 'latin1');
  return at >= 0 && at < headEnd ? at : -1;
}

function contentLength(buffer: Buffer, headEnd: number): number {
  const at = headerAt(buffer, headEnd, 'content-length:');
  if (at < 0) {
    const head = buffer.toString('latin1', 0, headEnd);
    const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    return match ? Number(match[1]) : -1;
  }
  let value = 0;
  let i = at + 17;
  while (buffer[i] === 32) i++;
  for (; buffer[i]! >= 48 && buffer[i]! <= 57; i++) value = value * 10 + buffer[i]! - 48;
  return value;
}

const clients = Array.from({ length: input.connections }, () => client());
await new Promise((resolve) => setTimeout(resolve, Math.max(0, endAt - performance.now())));
sending = false;
await Promise.race([Promise.all(clients), new Promise((resolve) => setTimeout(resolve, DRAIN_MS).unref())]);

latencies.sort((a, b) => a - b);
const answer = JSON.stringify({
  rps: inWindow / input.seconds,
  total: latencies.length,
  p50: percentile(latencies, 50),
  p99: percentile(latencies, 99),
  ok,
  non2xx,
  errors,
  timeouts,
  ...(input.collectDeliveryIds ? { acknowledged } : {}),
  statusCodes,
});
// Connections still waiting past the drain are not waited for; the answer is flushed first.
process.stdout.write(`${answer}\n`, () => process.exit(0));
