import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Deployment } from '../../src/model.js';
import { createTestApp, type TestApp } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';

/*
 * Many subscribers of the same operation: each event's selection is executed once and shared,
 * not once per subscriber (the fan-out cost of a thousand dashboards).
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

describe('subscription results', () => {
  let t: TestApp;
  let url: string;
  const clients: Client[] = [];
  beforeAll(async () => {
    t = await createTestApp(sqlite);
    ({ url } = await t.app.start({ port: 0 }));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await t.dispose();
  });

  it('are computed once per event for all the subscribers of one operation', async () => {
    let progressCalls = 0;
    const original = t.app.services.queries.progress.bind(t.app.services.queries);
    t.app.services.queries.progress = (...args) => {
      progressCalls++;
      return original(...args);
    };
    const received: unknown[][] = [];
    for (let i = 0; i < 50; i++) {
      const client = createClient({ url: `${url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
      clients.push(client);
      const mine: unknown[] = [];
      received.push(mine);
      client.subscribe({ query: 'subscription { deploymentCompleted { id status progress { sequence } } }' }, { next: (r) => mine.push(r.data), error: () => {}, complete: () => {} });
    }
    const deadline = Date.now() + 20_000;
    while (t.app.bus.listenerCount < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const event = { id: '424242', status: 'success' } as Deployment;
    t.app.bus.publish({ type: 'completed', deployment: event });
    while (received.some((r) => r.length === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(received.every((r) => JSON.stringify(r) === JSON.stringify([{ deploymentCompleted: { id: '424242', status: 'SUCCESS', progress: [] } }]))).toBe(true);
    expect(progressCalls).toBe(1);
  });
});
