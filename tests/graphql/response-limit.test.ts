import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { BASIC_CONFIG, createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';
import { recordLongDeployment } from '../setup/long-deployment.js';

/*
 * An answer over `fraisier.response_limit` is replaced by one error saying so (its size and the
 * limit), over HTTP and over graphql-ws: never sent, never cut into invalid JSON.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

describe('the response size limit', () => {
  let t: TestApp;
  let url: string;
  let id: string;
  const tooBig = () => `{ deployment(id: "${id}") { progress { sequence message } } }`;
  const REFUSAL = /^the answer would be 20\d,\d{3} bytes, over the limit of 65,536 bytes \(fraisier\.response_limit\): select fewer fields or aliases, or ask for smaller pages with "limit"$/;

  beforeAll(async () => {
    t = await createTestApp(sqlite, { config: testConfig(`fraisier:\n  response_limit: 64KiB\n${BASIC_CONFIG}`) });
    // 100 lines of 2,000 characters: about 200 KB of JSON.
    id = await recordLongDeployment(t.app.store.db, { fraise: 'my_api', environment: 'production', lines: 100, messageLength: 2_000 });
    ({ url } = await t.app.start({ port: 0 }));
  });
  afterAll(() => t.dispose());

  it('refuses an answer over the limit with an error naming both sizes, and answers a smaller page', async () => {
    const refused = await gql(t.app, tooBig());
    expect(refused.data).toBeUndefined();
    expect(refused.errors).toHaveLength(1);
    expect(refused.errors![0]).toMatchObject({ message: expect.stringMatching(REFUSAL), extensions: { code: 'BAD_USER_INPUT', maxBytes: 65_536 } });

    const page = await gql(t.app, `{ deployment(id: "${id}") { progress(limit: 20) { sequence } } }`);
    expect(page.errors).toBeUndefined();
    expect(page.data.deployment.progress).toHaveLength(20);
  });

  it('sends the refusal over HTTP as a small, whole JSON answer', async () => {
    const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: tooBig() }) });
    const body = await response.text();
    expect(body.length).toBeLessThan(1_000);
    expect(JSON.parse(body).errors[0].message).toMatch(REFUSAL);
  });

  it('refuses it over graphql-ws too', async () => {
    const client = createClient({ url: `${url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const result = await new Promise<{ data?: unknown; errors?: { message: string }[] }>((resolve, reject) => {
        client.subscribe({ query: tooBig() }, { next: (value) => resolve(value as never), error: reject, complete: () => {} });
      });
      expect(result.data).toBeUndefined();
      expect(result.errors?.[0]?.message).toMatch(REFUSAL);
    } finally {
      await client.dispose();
    }
  });
});
