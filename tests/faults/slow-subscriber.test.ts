import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';

/*
 * A subscriber that stops reading does not hold the others up: it is dropped once what waits
 * for it passes the cap, the others receive everything in order, memory stays bounded.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
const LINES = 20_000; // 20 MB: more than the kernel buffers of a loopback connection absorb
const CHATTY = `for (let i = 1; i <= ${LINES}; i++) console.log(String(i).padStart(6, '0') + ' ' + 'x'.repeat(1000))`;

describe('a subscriber that stops reading', () => {
  let t: TestApp;
  let wsUrl: string;
  beforeAll(async () => {
    t = await createTestApp(sqlite, {
      config: testConfig(`
fraisier:
  websocket: { max_buffered: 1MiB, stall_timeout: 2s }
fraises:
  chatty:
    type: custom
    environments:
      local:
        app_path: /tmp
        steps:
          - { name: talk, command: [node, -e, "${CHATTY}"] }
`),
    });
    const { url } = await t.app.start({ port: 0 });
    wsUrl = `${url.replace('http', 'ws')}/graphql`;
  });
  afterAll(() => t.dispose());

  it('is dropped while the others get every event', { timeout: 120_000 }, async () => {
    const queued = await gql(t.app, 'mutation { deploy(fraise: "chatty", environment: "local") { deployment { id } } }');
    const id = queued.data.deploy.deployment.id as string;
    const query = `subscription { deploymentProgress(deploymentId: "${id}") { sequence message } }`;

    // The stalled one: subscribes, then its socket stops reading.
    const stalled = new WebSocket(wsUrl, 'graphql-transport-ws');
    let stalledMessages = 0;
    let stalledCompleted = false;
    const stalledClosed = new Promise<number>((resolve) => stalled.once('close', (code) => resolve(code)));
    stalled.on('error', () => {});
    await new Promise<void>((resolve) => stalled.once('open', () => resolve()));
    stalled.send(JSON.stringify({ type: 'connection_init' }));
    await new Promise<void>((resolve) => stalled.once('message', () => resolve()));
    stalled.on('message', (data) => {
      stalledMessages++;
      if (String(data).includes('"type":"complete"')) stalledCompleted = true;
    });
    stalled.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
    await new Promise<void>((resolve) => stalled.once('message', () => resolve()));
    const stalledSocket = (stalled as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    stalledSocket.pause();

    const rssBefore = process.memoryUsage().rss;
    const healthy = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    const sequences: number[] = [];
    await within(
      60_000,
      'the healthy subscriber did not get to the end of the stream',
      new Promise<void>((resolve, reject) =>
        healthy.subscribe({ query }, { next: (r) => sequences.push((r.data as any).deploymentProgress.sequence), error: reject, complete: resolve }),
      ),
    );
    await healthy.dispose();
    expect((await waitForEnd(t.app, id)).status).toBe('success');
    expect(sequences.length).toBeGreaterThan(LINES);
    expect(sequences).toEqual(sequences.map((_, i) => i + 1));
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(300 * 1024 * 1024);

    // The server dropped it: nothing listens for it any more, and once it reads again it finds
    // its connection gone, having received part of the stream and never its end.
    expect(t.app.bus.progressListenerCount(id)).toBe(0);
    stalledSocket.resume();
    expect(await within(15_000, `the stalled subscriber was never dropped (it got ${stalledMessages} messages)`, stalledClosed)).toBe(1006);
    expect(stalledCompleted).toBe(false);
    expect(stalledMessages).toBeLessThan(sequences.length);
  });
});

/** `promise`, or a failure saying what did not happen within `ms`. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms))),
  ]);
}
