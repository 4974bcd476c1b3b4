import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CanaryAnalysisConfig } from '../../src/config/types.js';
import { createRunner } from '../../src/exec/runner.js';
import { type HostShell, localHost } from '../../src/providers/host.js';
import { fillQuery, openWindow } from '../../src/strategies/analysis/window.js';

/*
 * A canary step's window over its two sources: the access log read from the offset it had when
 * the step began (in this process, and through the host's shell as over SSH: `tail` from the
 * offset), counted incrementally, complete lines only, read again from its start once rotated;
 * and Prometheus asked its two queries with the canary's slot, port, address and the step's
 * length filled in, from a server answering the published /api/v1/query format.
 */

const CANARY = { slot: 'green', port: 3002, upstream: '127.0.0.1:3002' };
const line = (status: number, addr: string, upstreamStatus = String(status)) => `${(Date.now() / 1000).toFixed(3)} ${status} "${addr}" "${upstreamStatus}"\n`;

describe('a canary window over the access log', () => {
  let dir: string;
  const local = localHost(createRunner());
  /** This machine's shell, taken for a remote one: the log is read with stat and tail, as over SSH. */
  const remote: HostShell = { ...local, description: 'as-if-remote', remote: true };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fraisier-window-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const [name, host] of [
    ['read in this process', local],
    ['read through the host shell', remote],
  ] as const) {
    it(`counts the canary's requests since it opened, ${name}`, async () => {
      const path = join(dir, `${name.replaceAll(' ', '-')}.log`);
      // Before the step: not counted.
      writeFileSync(path, line(500, CANARY.upstream).repeat(3));
      const config: CanaryAnalysisConfig = { source: { type: 'access_log', path }, maxErrorRate: 0.05, minRequests: 1, intervalSeconds: 1 };
      const window = await openWindow(config, host, CANARY);
      expect(await window.measure()).toEqual({ source: 'nginx access log', requests: 0, errors: 0, errorRate: null });

      appendFileSync(path, line(200, CANARY.upstream) + line(200, '127.0.0.1:3001') + line(502, CANARY.upstream));
      // A line nginx is still writing waits for the next measure.
      appendFileSync(path, `${(Date.now() / 1000).toFixed(3)} 200 "${CANARY.upstream}"`);
      expect(await window.measure()).toEqual({ source: 'nginx access log', requests: 2, errors: 1, errorRate: 0.5 });
      appendFileSync(path, ` "200"\n${line(200, `${CANARY.upstream}, 127.0.0.1:3001`, '502, 200')}`);
      expect(await window.measure()).toEqual({ source: 'nginx access log', requests: 4, errors: 2, errorRate: 0.5 });

      // Rotated: the new file is read from its start, the counts go on.
      writeFileSync(path, line(200, CANARY.upstream));
      expect(await window.measure()).toEqual({ source: 'nginx access log', requests: 5, errors: 2, errorRate: 0.4 });
    });
  }

  it('says which log it cannot read, and where', async () => {
    const path = join(dir, 'missing.log');
    const config: CanaryAnalysisConfig = { source: { type: 'access_log', path }, maxErrorRate: 0.05, minRequests: 1, intervalSeconds: 1 };
    await expect(openWindow(config, local, CANARY)).rejects.toThrow(`the access log ${path} cannot be read: ENOENT`);
    await expect(openWindow(config, remote, CANARY)).rejects.toThrow(`the access log ${path} cannot be read on as-if-remote:`);
  });
});

describe('a canary window over Prometheus', () => {
  let server: Server;
  let url: string;
  const asked: string[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      const query = new URL(request.url!, 'http://x').searchParams.get('query')!;
      asked.push(query);
      const value = query.startsWith('requests') ? '40' : '0.025';
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [Date.now() / 1000, value] }] } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('fills the slot, port, address and the step so far into both queries', async () => {
    let now = 1_000_000;
    const config: CanaryAnalysisConfig = {
      source: { type: 'prometheus', url, requests: 'requests{slot="{slot}",port="{port}"}[{window}]', errorRate: 'errors{upstream="{upstream}"}[{window}]' },
      maxErrorRate: 0.05,
      minRequests: 1,
      intervalSeconds: 1,
    };
    const window = await openWindow(config, localHost(createRunner()), CANARY, () => now);
    now += 42_300;
    expect(await window.measure()).toEqual({ source: 'prometheus', requests: 40, errors: 1, errorRate: 0.025 });
    expect(asked.sort()).toEqual(['errors{upstream="127.0.0.1:3002"}[43s]', 'requests{slot="green",port="3002"}[43s]']);
    expect(fillQuery('x[{window}]', CANARY, 0)).toBe('x[1s]');
  });
});
