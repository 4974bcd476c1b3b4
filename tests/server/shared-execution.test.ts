import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Deployment } from '../../src/model.js';
import { BASIC_CONFIG, createTestApp, type TestApp, testConfig } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';

/*
 * Many subscribers of the same operation: each event's selection is executed once and shared,
 * not once per subscriber (the fan-out cost of a thousand dashboards); yet each subscriber only
 * receives what its token may read, and an unexpected error reaches none of them in detail.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
const STAGING = 'staging-only-token-0123456789';
const EVERYTHING = 'read-everything-token-0123456789';

describe('subscription results', () => {
  let t: TestApp;
  let url: string;
  const clients: Client[] = [];
  const client = (token?: string) => {
    const c = createClient({
      url: `${url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      ...(token ? { connectionParams: { token } } : {}),
    });
    clients.push(c);
    return c;
  };
  /** Waits (at most 20 s) for `condition`. */
  const until = async (condition: () => boolean) => {
    const deadline = Date.now() + 20_000;
    while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  };

  beforeAll(async () => {
    t = await createTestApp(sqlite, {
      config: testConfig(`
fraisier:
  tokens:
    - { name: staging-viewer, token: ${STAGING}, scopes: [read], environments: [staging] }
    - { name: viewer, token: ${EVERYTHING}, scopes: [read] }
${BASIC_CONFIG}`),
    });
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
    const listening = t.app.bus.listenerCount;
    for (let i = 0; i < 50; i++) {
      const mine: unknown[] = [];
      received.push(mine);
      client(EVERYTHING).subscribe(
        { query: 'subscription { deploymentCompleted { id status progress { sequence } } }' },
        { next: (r) => mine.push(r.data), error: () => {}, complete: () => {} },
      );
    }
    await until(() => t.app.bus.listenerCount >= listening + 50);
    const event = { id: '424242', fraise: 'my_api', environment: 'staging', status: 'success' } as Deployment;
    t.app.bus.publish({ type: 'completed', deployment: event });
    await until(() => received.every((r) => r.length > 0));
    expect(received.every((r) => JSON.stringify(r) === JSON.stringify([{ deploymentCompleted: { id: '424242', status: 'SUCCESS', progress: [] } }]))).toBe(true);
    expect(progressCalls).toBe(1);
    t.app.services.queries.progress = original;
  });

  it('reach only the subscribers whose token may read them, from the same operation', async () => {
    const query = 'subscription { deploymentCompleted { id environment } }';
    const staging: unknown[] = [];
    const everything: unknown[] = [];
    const listening = t.app.bus.listenerCount;
    client(STAGING).subscribe({ query }, { next: (r) => staging.push(r.data), error: () => {}, complete: () => {} });
    client(EVERYTHING).subscribe({ query }, { next: (r) => everything.push(r.data), error: () => {}, complete: () => {} });
    await until(() => t.app.bus.listenerCount >= listening + 2);
    t.app.bus.publish({ type: 'completed', deployment: { id: '1', fraise: 'my_api', environment: 'production', status: 'success' } as Deployment });
    t.app.bus.publish({ type: 'completed', deployment: { id: '2', fraise: 'my_api', environment: 'staging', status: 'success' } as Deployment });
    await until(() => everything.length === 2 && staging.length > 0);
    expect(everything).toEqual([{ deploymentCompleted: { id: '1', environment: 'production' } }, { deploymentCompleted: { id: '2', environment: 'staging' } }]);
    expect(staging).toEqual([{ deploymentCompleted: { id: '2', environment: 'staging' } }]);
  });

  it('stop for a subscriber that completes, and go on for the others', async () => {
    const query = 'subscription { deploymentCompleted { id } }';
    const leaving: unknown[] = [];
    const staying: unknown[] = [];
    const listening = t.app.bus.listenerCount;
    const leave = client(EVERYTHING).subscribe({ query }, { next: (r) => leaving.push(r.data), error: () => {}, complete: () => {} });
    client(EVERYTHING).subscribe({ query }, { next: (r) => staying.push(r.data), error: () => {}, complete: () => {} });
    await until(() => t.app.bus.listenerCount >= listening + 2);
    leave();
    await until(() => t.app.bus.listenerCount === listening + 1);
    expect(t.app.bus.listenerCount).toBe(listening + 1);
    t.app.bus.publish({ type: 'completed', deployment: { id: '9', fraise: 'my_api', environment: 'staging', status: 'success' } as Deployment });
    await until(() => staying.length > 0);
    expect(staying).toEqual([{ deploymentCompleted: { id: '9' } }]);
    expect(leaving).toEqual([]);
  });

  it('say "Unexpected error." when a resolver fails, and nothing of the failure', async () => {
    const original = t.app.services.queries.progress;
    t.app.services.queries.progress = () => Promise.reject(new Error('cannot open /srv/secret/path'));
    const received: { data?: unknown; errors?: readonly { message: string; extensions?: unknown }[] }[] = [];
    const listening = t.app.bus.listenerCount;
    for (let i = 0; i < 3; i++) {
      client(EVERYTHING).subscribe(
        { query: 'subscription { deploymentCompleted { id progress { sequence } } }' },
        { next: (r) => received.push(r as never), error: () => {}, complete: () => {} },
      );
    }
    await until(() => t.app.bus.listenerCount >= listening + 3);
    t.app.bus.publish({ type: 'completed', deployment: { id: '7', fraise: 'my_api', environment: 'staging', status: 'success' } as Deployment });
    await until(() => received.length === 3);
    t.app.services.queries.progress = original;
    expect(received).toHaveLength(3);
    for (const result of received) {
      expect(result.errors?.[0]).toMatchObject({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      expect(JSON.stringify(result)).not.toContain('secret');
    }
  });
});
