// The load generator of the HTTP benchmarks, in a process of its own: N keep-alive connections,
// one request in flight on each, for D seconds; a header can carry a unique value per request
// (delivery ids).
//
// Not autocannon: a request that changes per send goes through its setupRequest hook, which
// rebuilds the whole request (7.6 KB of body included) each time. Measured on the 2-core bench
// machine: 74 µs of generator CPU per request with the hook against 25 µs without, so the
// generator, not the bare reference server, set the reference figure (12,000 req/s where the
// server answers 36,000), and the ratio looked three times better than it was. Here each
// connection rewrites only the unique header line of its request buffer (lib/http-client.ts):
// the same requests reach the reference and Fraisier, and the generator costs little on either.
import { createHmac } from 'node:crypto';
import { KeepAliveConnection, requestHead } from './lib/http-client.js';
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
  /**
   * Each request pushes a commit of its own, so that each one queues a deployment: request n
   * writes commit n over every occurrence of `after` in the body and commit n - 1 over every
   * occurrence of `before` (the branch moves on one commit per request), then signs the body
   * into `signatureHeader` (`sha256=<hex HMAC>`). Commit n is `prefix` (24 hex digits) and n in
   * 16 hex digits; n counts on from `first` (a server's runs continue one chain).
   */
  commits?: { after: string; before: string; prefix: string; first: number; secret: string; signatureHeader: string };
}

/** A request without an answer after this long counts as a timeout, and its connection is replaced. */
const TIMEOUT_MS = 10_000;
/** After the run, answers still on their way are awaited this long (they count, outside the rate). */
const DRAIN_MS = 10_000;

const input = await readInput<Input>();
const target = new URL(input.url);
const body = Buffer.from(input.body ?? '', 'utf8');
const head = requestHead(target, input.method, input.path, input.headers, body.length);

let counter = 0;
/** The next commit of the chain (input.commits). */
let commitNumber = input.commits?.first ?? 0;
const commitId = (n: number) => `${input.commits!.prefix}${n.toString(16).padStart(16, '0')}`;
/** Where `after` and `before` stand in the body. */
const offsets = (needle: string | undefined) => {
  const found: number[] = [];
  if (!needle) return found;
  for (let at = body.indexOf(needle); at >= 0; at = body.indexOf(needle, at + needle.length)) found.push(at);
  return found;
};
const afterAt = offsets(input.commits?.after);
const beforeAt = offsets(input.commits?.before);
if (input.commits && (input.commits.after.length !== 40 || input.commits.before.length !== 40 || afterAt.length === 0 || beforeAt.length === 0)) {
  throw new Error('commits: after and before must be 40-digit ids found in the body');
}
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
async function client(): Promise<void> {
  const connection = new KeepAliveConnection(target);
  // The request, rebuilt in place: head, unique header line, body (one write per request).
  const request = Buffer.allocUnsafe(head.length + 512 + body.length);
  head.copy(request);
  // This connection's copy of the body, its commit ids rewritten per request.
  const own = Buffer.from(body);
  let sentAt = 0;
  let timedOut = false;
  overdue.add(() => {
    if (sentAt && performance.now() - sentAt >= TIMEOUT_MS) {
      timedOut = true;
      connection.destroy('timeout');
    }
  });
  while (sending) {
    const unique = input.uniqueHeader ? `${input.uniqueHeader.prefix}-${++counter}` : '';
    let line = input.uniqueHeader ? `${input.uniqueHeader.name}: ${unique}\r\n\r\n` : '\r\n';
    if (input.commits) {
      const n = commitNumber++;
      const after = commitId(n);
      const before = commitId(n - 1);
      for (const at of afterAt) own.write(after, at, 'latin1');
      for (const at of beforeAt) own.write(before, at, 'latin1');
      line = `${input.commits.signatureHeader}: sha256=${createHmac('sha256', input.commits.secret).update(own).digest('hex')}\r\n${line}`;
    }
    let length = head.length + request.write(line, head.length, 'latin1');
    length += own.copy(request, length);
    sentAt = performance.now();
    let status: number;
    try {
      ({ status } = await connection.send(request.subarray(0, length)));
    } catch {
      if (timedOut) timeouts++;
      else errors++;
      timedOut = false;
      sentAt = 0;
      continue;
    }
    const now = performance.now();
    latencies.push(now - sentAt);
    sentAt = 0;
    if (now <= endAt) inWindow++;
    statusCodes[status] = (statusCodes[status] ?? 0) + 1;
    if (status >= 200 && status < 300) {
      ok++;
      if (input.collectDeliveryIds && unique) acknowledged.push(unique);
    } else non2xx++;
  }
  connection.destroy();
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
  ...(input.commits ? { nextCommit: commitNumber } : {}),
  statusCodes,
});
// Connections still waiting past the drain are not waited for; the answer is flushed first.
process.stdout.write(`${answer}\n`, () => process.exit(0));
