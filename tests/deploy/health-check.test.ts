import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthCheckConfig } from '../../src/config/types.js';
import { checkHealth, healthUrl } from '../../src/deploy/health-check.js';
import { createRunner } from '../../src/exec/runner.js';
import type { HostShell } from '../../src/providers/host.js';
import { freePort } from '../setup/service-repo.js';

/* Health checks against real servers on port 0: HTTP status, TCP connect, retries, timeouts. */

describe('health checks', () => {
  let server: Server;
  let port: number;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((request, response) => {
      hits++;
      if (request.url === '/flaky' && hits % 3 !== 0) response.writeHead(503).end();
      else if (request.url === '/down') response.writeHead(500).end();
      else if (request.url === '/slow') setTimeout(() => response.writeHead(200).end(), 2_000);
      else if (request.url === '/slow-down') setTimeout(() => response.writeHead(500).end(), 100);
      else response.writeHead(200).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const http = (path: string, extra: Partial<HealthCheckConfig> = {}): HealthCheckConfig => ({
    type: 'http',
    url: `http://127.0.0.1:${port}${path}`,
    timeoutSeconds: 5,
    retries: 5,
    intervalSeconds: 0.01,
    ...extra,
  });

  it('passes on a status below 400', async () => {
    expect(await checkHealth(http('/ok'))).toEqual({ ok: true, attempts: 1, message: 'HTTP 200' });
  });

  it('retries until the service answers', async () => {
    hits = 0;
    const attempts: string[] = [];
    const result = await checkHealth(http('/flaky'), { onAttempt: (n, message) => attempts.push(`${n}: ${message}`) });
    expect(result).toEqual({ ok: true, attempts: 3, message: 'HTTP 200' });
    expect(attempts).toEqual(['1: HTTP 503', '2: HTTP 503']);
  });

  it('fails after its retries with the last answer', async () => {
    expect(await checkHealth(http('/down', { retries: 3 }))).toEqual({ ok: false, attempts: 3, message: 'HTTP 500' });
    expect(await checkHealth(http('/ok', { expectStatus: 204, retries: 1 }))).toEqual({ ok: false, attempts: 1, message: 'HTTP 200 (expected 204)' });
  });

  it('gives up at its overall timeout', async () => {
    const result = await checkHealth(http('/slow', { timeoutSeconds: 0.5, retries: 10 }));
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/^no answer from http:\/\/127\.0\.0\.1:\d+\/slow within 0\.5s$/);
  });

  it('reports the service\'s last answer when the overall timeout falls during a wait, not a last attempt cut short', async () => {
    // 500 after 0.1 s; the second attempt would have about 0.05 s left of the 0.45 s.
    const result = await checkHealth(http('/slow-down', { timeoutSeconds: 0.45, retries: 10, intervalSeconds: 0.3 }));
    expect(result).toMatchObject({ ok: false, message: 'HTTP 500' });
  });

  it('says why a closed port fails', async () => {
    const closed = await freePort();
    const result = await checkHealth({ type: 'http', url: `http://127.0.0.1:${closed}/health`, timeoutSeconds: 1, retries: 1, intervalSeconds: 0.01 });
    expect(result).toEqual({ ok: false, attempts: 1, message: `http://127.0.0.1:${closed}/health: ECONNREFUSED` });
  });

  it('checks TCP by connecting', async () => {
    const tcp = createTcpServer((socket) => socket.end());
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const open = (tcp.address() as { port: number }).port;
    try {
      expect(await checkHealth({ type: 'tcp', port: open, timeoutSeconds: 2, retries: 1, intervalSeconds: 0.01 })).toEqual({ ok: true, attempts: 1, message: `TCP 127.0.0.1:${open} open` });
      const closed = await freePort();
      expect((await checkHealth({ type: 'tcp', port: closed, timeoutSeconds: 2, retries: 1, intervalSeconds: 0.01 })).message).toBe(`127.0.0.1:${closed}: ECONNREFUSED`);
    } finally {
      tcp.close();
    }
  });

  it('checks a loopback URL of a remote host on that host (with curl)', async () => {
    const runner = createRunner();
    const commands: string[][] = [];
    // The "remote" host is this machine; what matters is that the probe runs through it.
    const host: HostShell = { description: 'deploy@remote', remote: true, run: (argv, options) => (commands.push([...argv]), runner.run(argv, options)) };
    expect(await checkHealth(http('/ok'), { host })).toEqual({ ok: true, attempts: 1, message: 'HTTP 200' });
    expect(commands[0]).toEqual(['curl', '--silent', '--output', '/dev/null', '--write-out', '%{http_code}', '--max-time', '5', '--', `http://127.0.0.1:${port}/ok`]);
  });

  it('builds the URL from path and port when no URL is given', () => {
    expect(healthUrl({ type: 'http', path: '/health', port: 8000, timeoutSeconds: 1, retries: 1, intervalSeconds: 1 }, 'prod.example.com')).toBe('http://prod.example.com:8000/health');
  });
});
