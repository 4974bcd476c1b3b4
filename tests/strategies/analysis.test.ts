import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attempts, CANARY_LOG_FORMAT, countCanary } from '../../src/strategies/analysis/access-log.js';
import { instantQuery, measurePrometheus } from '../../src/strategies/analysis/prometheus.js';
import { judge } from '../../src/strategies/analysis/verdict.js';
import { waitUntil } from '../setup/deployments.js';
import { freePort } from '../setup/service-repo.js';

/*
 * Canary analysis from its two sources: the access log a real nginx writes in the format
 * Fraisier documents, in front of a stable and a canary server (round robin, so the canary gets
 * every other request), and a server answering Prometheus's published /api/v1/query format.
 * The verdict is three-valued: fail over max_error_rate, inconclusive under min_requests or
 * without a figure, pass otherwise.
 */

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => existsSync(path));
const thresholds = { maxErrorRate: 0.05, minRequests: 10 };

/** An HTTP server on a free port answering `answer(path)`; `close` frees it. */
async function serve(answer: (path: string) => number): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    const status = answer(request.url ?? '/');
    response.writeHead(status, { 'content-type': 'text/plain' }).end(String(status));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

const close = (server: Server | undefined) => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));

describe.skipIf(!NGINX && !process.env.CI)('canary analysis from a real nginx access log', () => {
  let dir: string;
  let nginx: ChildProcess;
  let stable: { server: Server; port: number };
  let canary: { server: Server; port: number } | undefined;
  let canaryFails = true;
  let canaryPort: number;
  let url: string;
  const log = () => join(dir, 'canary.log');
  const lineCount = () => (existsSync(log()) ? readFileSync(log(), 'utf8').split('\n').filter(Boolean).length : 0);
  /** Sends `count` requests one after the other, then waits until nginx logged them all. */
  const send = async (count: number) => {
    const before = lineCount();
    for (let i = 0; i < count; i++) await (await fetch(url)).text();
    await waitUntil(() => lineCount() >= before + count, { what: `${count} more lines in the access log` });
  };

  beforeAll(async () => {
    if (!NGINX) throw new Error('nginx is needed (apt-get install nginx): under CI this test must run');
    dir = mkdtempSync(join(tmpdir(), 'fraisier-analysis-'));
    mkdirSync(join(dir, 'temp'));
    stable = await serve(() => 200);
    canary = await serve(() => (canaryFails ? 500 : 200));
    canaryPort = canary.port;
    const port = await freePort();
    url = `http://127.0.0.1:${port}/`;
    writeFileSync(
      join(dir, 'nginx.conf'),
      `
worker_processes 1;
error_log ${dir}/error.log;
pid ${dir}/nginx.pid;
events { worker_connections 64; }
http {
  client_body_temp_path ${dir}/temp/body;
  proxy_temp_path ${dir}/temp/proxy;
  fastcgi_temp_path ${dir}/temp/fastcgi;
  uwsgi_temp_path ${dir}/temp/uwsgi;
  scgi_temp_path ${dir}/temp/scgi;
  ${CANARY_LOG_FORMAT}
  upstream app {
    server 127.0.0.1:${stable.port};
    server 127.0.0.1:${canary.port};
  }
  server {
    listen 127.0.0.1:${port};
    access_log ${dir}/canary.log fraisier_canary;
    location / { proxy_pass http://app; }
  }
}
`,
    );
    nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
    await waitUntil(
      async () =>
        fetch(url).then(
          (r) => r.text().then(() => true),
          () => false,
        ),
      { what: 'nginx to listen' },
    );
    // The probes above are logged too: the windows below start after them.
  });
  afterAll(async () => {
    nginx?.kill('SIGTERM');
    await close(stable?.server);
    await close(canary?.server);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fails a canary answering 500s, passes it healthy in the next window, and is inconclusive on too few requests', async () => {
    const start = (await countCanary(log(), { canary: `127.0.0.1:${canaryPort}` })).nextOffset;
    await send(40);
    const failing = await countCanary(log(), { canary: `127.0.0.1:${canaryPort}`, fromOffset: start });
    // Round robin over two servers: every other request is the canary's, and each was a 500.
    expect(failing).toMatchObject({ total: 40, requests: 20, errors: 20, errorRate: 1, malformed: 0 });
    expect(judge(failing, thresholds)).toMatchObject({
      verdict: 'fail',
      reason: 'canary analysis failed (nginx access log): 20 requests, 100% 5xx (20), over the max 5%',
    });

    canaryFails = false;
    const since = Date.now();
    await send(20);
    const healthy = await countCanary(log(), { canary: `127.0.0.1:${canaryPort}`, fromOffset: failing.nextOffset });
    expect(healthy).toMatchObject({ total: 20, requests: 10, errors: 0, errorRate: 0 });
    expect(judge(healthy, thresholds)).toMatchObject({ verdict: 'pass', reason: 'canary analysis passed (nginx access log): 10 requests, 0% 5xx (0), within the max 5%' });
    // The same window by time instead of by offset.
    expect(await countCanary(log(), { canary: `127.0.0.1:${canaryPort}`, since })).toMatchObject({ total: 20, requests: 10, errors: 0 });

    await send(4);
    const few = await countCanary(log(), { canary: `127.0.0.1:${canaryPort}`, fromOffset: healthy.nextOffset });
    expect(few).toMatchObject({ total: 4, requests: 2, errors: 0 });
    expect(judge(few, thresholds)).toMatchObject({ verdict: 'inconclusive', reason: 'canary analysis inconclusive (nginx access log): 2 requests, 0% 5xx (0), fewer than the 10 needed' });
    // Nothing new: no figure, inconclusive; silence never passes.
    const none = await countCanary(log(), { canary: `127.0.0.1:${canaryPort}`, fromOffset: few.nextOffset });
    expect(none).toMatchObject({ total: 0, requests: 0, errorRate: null, nextOffset: few.nextOffset });
    expect(judge(none, thresholds).verdict).toBe('inconclusive');
  });

  it('counts an attempt nginx gave up on (the canary down) as a canary error, though the client got a 200', async () => {
    await close(canary!.server);
    canary = undefined;
    const from = (await countCanary(log(), { canary: `127.0.0.1:${canaryPort}` })).nextOffset;
    await send(6);
    const lines = readFileSync(log(), 'utf8').split('\n').filter(Boolean).slice(-6);
    // The real lines: the refused canary, then the stable server that answered.
    expect(lines.some((line) => line.includes(`"127.0.0.1:${canaryPort}, 127.0.0.1:${stable.port}" "502, 200"`))).toBe(true);
    const counted = await countCanary(log(), { canary: `127.0.0.1:${canaryPort}`, fromOffset: from });
    expect(counted.total).toBe(6);
    expect(counted.requests).toBeGreaterThanOrEqual(1);
    expect(counted.errors).toBe(counted.requests);
  });

  it('reads only complete lines, skips lines in another format, and starts over after a rotation', async () => {
    const other = join(dir, 'other.log');
    writeFileSync(other, `1700000000.123 500 "127.0.0.1:9" "500"\nnot a line of ours\n1700000001.000 200 "127.0.0.1:9" "200"\n1700000002.000 500 "127.0.0.1:9`);
    const first = await countCanary(other, { canary: '127.0.0.1:9' });
    expect(first).toMatchObject({ total: 2, requests: 2, errors: 1, malformed: 1 });
    expect(first.nextOffset).toBe(readFileSync(other, 'utf8').lastIndexOf('\n') + 1);
    writeFileSync(other, `1700000003.000 200 "127.0.0.1:9" "-"\n`);
    expect(await countCanary(other, { canary: '127.0.0.1:9', fromOffset: first.nextOffset })).toMatchObject({ total: 1, requests: 1, errors: 0 });
    await expect(countCanary(join(dir, 'missing.log'), { canary: '127.0.0.1:9' })).rejects.toThrow(/ENOENT/);
  });
});

describe('the attempts of one logged request', () => {
  it('pairs each server tried with its status, across groups of an internal redirect', () => {
    expect(attempts('10.0.0.1:3001, 10.0.0.2:3002 : 10.0.0.3:3003', '502, 504 : 200')).toEqual([
      { addr: '10.0.0.1:3001', status: 502 },
      { addr: '10.0.0.2:3002', status: 504 },
      { addr: '10.0.0.3:3003', status: 200 },
    ]);
    expect(attempts('[::1]:3001', '-')).toEqual([{ addr: '[::1]:3001', status: null }]);
  });
});

describe('canary analysis from Prometheus', () => {
  let server: Server;
  let base: string;
  const asked: URLSearchParams[] = [];
  const sample = (value: string) => ({ metric: {}, value: [1_700_000_000.781, value] });
  /** What Prometheus answers each query (its published /api/v1/query format). */
  const answers: Record<string, [number, unknown]> = {
    'sum(increase(http_requests_total{slot="canary"}[1m]))': [200, { status: 'success', data: { resultType: 'vector', result: [sample('120')] } }],
    'canary_error_rate_bad': [200, { status: 'success', data: { resultType: 'vector', result: [{ metric: { slot: 'canary' }, value: [1_700_000_000, '0.25'] }] } }],
    'canary_error_rate_good': [200, { status: 'success', data: { resultType: 'scalar', result: [1_700_000_000, '0.01'] } }],
    'canary_requests_few': [200, { status: 'success', data: { resultType: 'scalar', result: [1_700_000_000, '3'] } }],
    'canary_error_rate_nan': [200, { status: 'success', data: { resultType: 'vector', result: [sample('NaN')] } }],
    'canary_nothing': [200, { status: 'success', data: { resultType: 'vector', result: [] } }],
    'by_instance': [200, { status: 'success', data: { resultType: 'vector', result: [{ metric: { instance: 'a' }, value: [1, '1'] }, { metric: { instance: 'b' }, value: [1, '2'] }] } }],
    'rate(': [400, { status: 'error', errorType: 'bad_data', error: '1:6: parse error: unclosed left parenthesis' }],
  };

  beforeAll(async () => {
    server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      if (url.pathname !== '/prom/api/v1/query') return void response.writeHead(404).end('404 page not found');
      asked.push(url.searchParams);
      const [status, body] = answers[url.searchParams.get('query') ?? ''] ?? [200, { status: 'success', data: { resultType: 'vector', result: [] } }];
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}/prom`;
  });
  afterAll(() => close(server));

  const requests = 'sum(increase(http_requests_total{slot="canary"}[1m]))';

  it('fails, passes and is inconclusive on what the queries give', async () => {
    const failing = await measurePrometheus({ url: base, requests, errorRate: 'canary_error_rate_bad' }, { time: new Date(1_700_000_000_000) });
    expect(failing).toEqual({ source: 'prometheus', requests: 120, errorRate: 0.25, errors: 30 });
    expect(judge(failing, thresholds)).toMatchObject({ verdict: 'fail', reason: 'canary analysis failed (prometheus): 120 requests, 25% 5xx (30), over the max 5%' });
    expect(asked.at(-1)!.get('time')).toBe('1700000000');

    const passing = await measurePrometheus({ url: `${base}/`, requests, errorRate: 'canary_error_rate_good' });
    expect(judge(passing, thresholds)).toMatchObject({ verdict: 'pass', requests: 120, errorRate: 0.01 });

    const few = await measurePrometheus({ url: base, requests: 'canary_requests_few', errorRate: 'canary_error_rate_bad' });
    expect(judge(few, thresholds)).toMatchObject({ verdict: 'inconclusive', requests: 3 });
    // No traffic at all makes NaN and empty answers: no figure is never a pass.
    const nan = await measurePrometheus({ url: base, requests, errorRate: 'canary_error_rate_nan' });
    expect(judge(nan, thresholds)).toMatchObject({ verdict: 'inconclusive', errorRate: null, reason: 'canary analysis inconclusive (prometheus): 120 requests, no error rate' });
    const nothing = await measurePrometheus({ url: base, requests: 'canary_nothing', errorRate: 'canary_nothing' });
    expect(judge(nothing, thresholds)).toMatchObject({ verdict: 'inconclusive', requests: 0 });
  });

  it('says what went wrong: a refused query, several series, an unreachable server', async () => {
    await expect(instantQuery({ url: base }, 'rate(')).rejects.toThrow('Prometheus refused "rate(" (HTTP 400, bad_data): 1:6: parse error: unclosed left parenthesis');
    await expect(instantQuery({ url: base }, 'by_instance')).rejects.toThrow('"by_instance" gave 2 series ({"instance":"a"}, {"instance":"b"}): aggregate it to one, e.g. with sum(...)');
    await expect(instantQuery({ url: `${base}/nowhere` }, 'up')).rejects.toThrow(/answered "up" with HTTP 404 and no JSON/);
    const port = await freePort();
    await expect(instantQuery({ url: `http://127.0.0.1:${port}` }, 'up')).rejects.toThrow(`Prometheus at http://127.0.0.1:${port} could not be asked "up": fetch failed`);
  });

  it('refuses thresholds that mean nothing', () => {
    const measured = { source: 'prometheus', requests: 10, errors: 0, errorRate: 0 };
    expect(() => judge(measured, { maxErrorRate: 5, minRequests: 10 })).toThrow('max_error_rate must be a share from 0 to 1 (0.05 for 5%); got 5');
    expect(() => judge(measured, { maxErrorRate: 0.05, minRequests: 0 })).toThrow('min_requests must be a whole number ≥ 1; got 0');
  });
});
