import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyConfig } from '../../src/config/types.js';
import { createRunner } from '../../src/exec/runner.js';
import { type HostShell, localHost, sshHost } from '../../src/providers/host.js';
import { renderUpstream } from '../../src/strategies/proxy/nginx.js';
import { createProxy, type TrafficProxy, type Upstream } from '../../src/strategies/proxy/proxy.js';
import { nginxUnavailable, startNginx, type TestNginx } from '../setup/nginx.js';
import { sshdUnavailable, startSshd, type TestSshd } from '../setup/sshd.js';

/*
 * The nginx traffic proxy against Debian's nginx: the upstream file rewritten atomically, tested,
 * reloaded and seen applied; a file nginx refuses is put back and never reloaded; one step back.
 */

function backend(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((_request, response) => response.end(name));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

const answer = async (nginx: TestNginx) => (await fetch(`${nginx.url}/`)).text();

describe.skipIf(nginxUnavailable())('the nginx traffic proxy', () => {
  let nginx: TestNginx;
  let a: { server: Server; port: number };
  let b: { server: Server; port: number };
  const logs: string[] = [];
  const upstream = (slot: string, port: number, weight = 100): Upstream => ({ slot, host: '127.0.0.1', port, weight, version: `${slot}0123456789abcdef` });
  const proxyFor = (nginx: TestNginx, host: HostShell, name = 'hello'): TrafficProxy => {
    const config: ProxyConfig = { type: 'nginx', upstreamFile: nginx.upstreamFile, upstream: name, test: nginx.test, reload: nginx.reload, pidFile: nginx.pidFile };
    return createProxy(config, { host, env: {}, log: async (m) => void logs.push(m), serving: null, target: 'hello/test' });
  };

  beforeAll(async () => {
    a = await backend('a');
    b = await backend('b');
    nginx = await startNginx({ initialPort: a.port });
  });
  afterAll(async () => {
    await nginx?.stop();
    a?.server.close();
    b?.server.close();
  });

  it('renders an upstream block with weights, leaving out the slots that take nothing', () => {
    expect(renderUpstream('hello', [upstream('blue', 3001, 90), upstream('green', 3002, 10), { ...upstream('red', 3003, 0), version: null }], 'hello/prod')).toBe(
      [
        '# Written by Fraisier for hello/prod at each switch of traffic: change fraises.yaml, not this file.',
        '# blue (port 3001): blue01234567, 90% of the requests',
        '# green (port 3002): green0123456, 10% of the requests',
        '# red (port 3003): no version, 0% of the requests',
        'upstream hello {',
        '    server 127.0.0.1:3001 weight=90;',
        '    server 127.0.0.1:3002 weight=10;',
        '}',
        '',
      ].join('\n'),
    );
    expect(() => renderUpstream('hello', [upstream('blue', 3001, 0)], 'hello/prod')).toThrow('upstream hello would have no server: every weight is 0');
  });

  it('switches the traffic, then back one step', async () => {
    expect(await answer(nginx)).toBe('a');
    const before = readFileSync(nginx.upstreamFile, 'utf8');
    const proxy = proxyFor(nginx, localHost(createRunner()));
    await proxy.apply([upstream('green', b.port)]);
    // Seen applied: every request from now on reaches b.
    expect(await answer(nginx)).toBe('b');
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toBe(renderUpstream('hello', [upstream('green', b.port)], 'hello/test'));
    expect(await proxy.drain(10_000)).toBe('drained');
    await proxy.revert();
    expect(await answer(nginx)).toBe('a');
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toBe(before);
  });

  it('puts the file back and reloads nothing when nginx -t refuses it', async () => {
    const before = readFileSync(nginx.upstreamFile, 'utf8');
    // The site proxies to "hello": an upstream named otherwise leaves it undefined.
    const proxy = proxyFor(nginx, localHost(createRunner()), 'other');
    await expect(proxy.apply([upstream('green', b.port)])).rejects.toThrow(/refused the new upstream file \(.*upstream\.conf is as it was\): .*host not found in upstream "hello"/);
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toBe(before);
    expect(await answer(nginx)).toBe('a');
  });

  describe.skipIf(sshdUnavailable())('over SSH', () => {
    let sshd: TestSshd;
    beforeAll(async () => {
      sshd = await startSshd();
    });
    afterAll(async () => sshd?.stop());

    it('switches through the same commands on the host', async () => {
      const host = sshHost(createRunner(), { host: sshd.host, port: sshd.port, user: sshd.user, identityFile: sshd.identityFile, knownHosts: sshd.knownHosts });
      const proxy = proxyFor(nginx, host);
      await proxy.apply([upstream('green', b.port)]);
      expect(await answer(nginx)).toBe('b');
      await proxy.revert();
      expect(await answer(nginx)).toBe('a');
    });
  });

  it('fails, the file as it was, when the reload cannot reach nginx', async () => {
    const before = readFileSync(nginx.upstreamFile, 'utf8');
    const proxy = proxyFor(nginx, localHost(createRunner()));
    await nginx.halt();
    await expect(proxy.apply([upstream('green', b.port)])).rejects.toThrow(/-s reload failed \(.*upstream\.conf is as it was\): .*nginx\.pid/);
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toBe(before);
  });
});
