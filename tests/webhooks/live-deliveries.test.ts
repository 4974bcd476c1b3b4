import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { githubPush } from '../setup/github-push.js';

/*
 * webhookReceived: a dashboard sees each delivery once it is recorded, including those that
 * deploy nothing (no deployment event tells of them). What is not recorded (a bad signature) is
 * not sent; a token limited to some fraises, which may not list deliveries, may not watch them.
 * The bus is the same on every store (pg-notify.test.ts covers the relay between instances).
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
const SECRET = 'live-deliveries-secret';
const TOKENS = { reader: 'live-deliveries-reader-0123', team: 'live-deliveries-team-012345' };

const CONFIG = `
fraisier:
  webhook: { rate_limit: false }
  tokens:
    - { name: reader, token: ${TOKENS.reader}, scopes: [read] }
    - { name: team, token: ${TOKENS.team}, scopes: [read], fraises: [hello] }
git:
  provider: github
  github:
    webhook_secret: ${SECRET}
fraises:
  hello:
    type: api
    git: { repository: acme/elsewhere }
    environments:
      production:
        target: { provider: kubernetes, namespace: hello }
`;

const WATCH = 'subscription { webhookReceived { id provider eventType repository branch commitSha commitMessage outcome reason deployment { id } } }';

describe('webhook deliveries, live', () => {
  let t: TestApp;
  let url: string;
  const clients: Client[] = [];
  const client = (token: string) => {
    const c = createClient({
      url: `${url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    t = await createTestApp(sqlite, { config: testConfig(CONFIG) });
    ({ url } = await t.app.start({ port: 0 }));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await t?.dispose();
  });

  it('sends each recorded delivery, as webhookEvents lists it, and nothing for a refused signature', async () => {
    const received: Record<string, unknown>[] = [];
    const errors: unknown[] = [];
    const listening = t.app.bus.listenerCount;
    client(TOKENS.reader).subscribe(
      { query: WATCH },
      { next: (result) => (result.errors ? errors.push(result.errors) : received.push(result.data!.webhookReceived as Record<string, unknown>)), error: (e) => errors.push(e), complete: () => {} },
    );
    await waitUntil(() => t.app.bus.listenerCount === listening + 1, { what: 'the subscription on the bus', intervalMs: 10 });

    const forged = await githubPush(url, 'not-the-secret', { sha: 'f'.repeat(40), message: 'forged' });
    expect(forged.status).toBe(401);
    const response = await githubPush(url, SECRET, { sha: 'a'.repeat(40), message: 'a push no fraise deploys' });
    expect(response.status).toBe(200);

    await waitUntil(() => received.length === 1, { what: 'the delivery', intervalMs: 10 });
    const listed = await gql(t.app, '{ webhookEvents(limit: 1) { id provider eventType repository branch commitSha commitMessage outcome reason deployment { id } } }', {}, {
      authorization: `Bearer ${TOKENS.reader}`,
    });
    expect(listed.errors).toBeUndefined();
    expect(received).toEqual(listed.data!.webhookEvents);
    expect(received[0]).toMatchObject({ repository: 'acme/hello', commitMessage: 'a push no fraise deploys', outcome: 'ignored', deployment: null });
    expect(errors).toEqual([]);
  });

  it('refuses a token limited to some fraises, as webhookEvents does', async () => {
    const refusal = await new Promise<unknown>((resolve) =>
      client(TOKENS.team).subscribe({ query: WATCH }, { next: (result) => resolve(result.errors), error: resolve, complete: () => resolve('completed') }),
    );
    expect(refusal).toMatchObject([{ message: 'a token limited to some fraises cannot list every webhook delivery', extensions: { code: 'FORBIDDEN' } }]);
  });
});
