import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASIC_CONFIG, createTestApp, type TestApp, testConfig } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';

/*
 * 500 clients that dribble their headers or their body do not stop others from being served,
 * and are cut off by the header and request timeouts instead of holding sockets forever.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

describe('slow clients', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp(sqlite, { config: testConfig(`fraisier:\n  http: { headers_timeout: 1s, request_timeout: 2s }\n${BASIC_CONFIG}`) });
    ({ port } = await t.app.start({ port: 0 }));
  });
  afterAll(() => t.dispose());

  function slowClient(kind: 'headers' | 'body'): { socket: Socket; closed: Promise<void> } {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.on('error', () => {});
    socket.setNoDelay(true);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.once('connect', () => {
      socket.write(kind === 'headers' ? 'POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n' : 'POST /webhook/github HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{');
      const drip = setInterval(() => {
        if (socket.destroyed) return clearInterval(drip);
        socket.write(kind === 'headers' ? 'X-Slow: a\r\n' : ' ');
      }, 200);
      socket.once('close', () => clearInterval(drip));
    });
    return { socket, closed };
  }

  it('keeps answering others while 500 clients dribble, and cuts the slow ones off', async () => {
    const clients = [...Array.from({ length: 250 }, () => slowClient('headers')), ...Array.from({ length: 250 }, () => slowClient('body'))];
    // Others are served meanwhile.
    for (let i = 0; i < 10; i++) {
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
      const query = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ fraises { name } }' }),
      });
      expect((await query.json()).data.fraises).toHaveLength(2);
    }
    // The timeouts close every one of them (1s for headers, 2s for a whole request).
    const started = Date.now();
    await Promise.all(clients.map((c) => c.closed));
    expect(Date.now() - started).toBeLessThan(15_000);
    for (const c of clients) c.socket.destroy();
  });
});
