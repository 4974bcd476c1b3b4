import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GitProvider } from '../../src/webhooks/provider.js';
import { registerGitProvider } from '../../src/webhooks/registry.js';
import { gql } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';
import { deliver, eventRows, startWebhookApp, TOKENS, type WebhookTestApp, WEBHOOK_CONFIG } from './support.js';

/*
 * A provider Fraisier does not ship, registered on one app: docs/extending.md's example, verbatim in
 * substance. Its deliveries go through the same path as the built-ins' (verify before any
 * write, routing, idempotency) and are stored as custom:<name>.
 */

const FORGE_SECRET = 'forge-secret';

/** docs/extending.md's example provider. */
const forge: GitProvider = {
  name: 'forge',
  secrets: [FORGE_SECRET],
  detect: (headers) => headers['x-forge-event'] !== undefined,
  describe: (headers) => ({
    event: headers['x-forge-event'] ?? null,
    deliveryId: headers['x-forge-delivery'] ?? null,
    signature: headers['x-forge-signature'] ?? null,
  }),
  verify({ body, signature, secrets }) {
    const given = Buffer.from(signature ?? '', 'hex');
    for (const secret of secrets) {
      const expected = createHmac('sha256', secret).update(body).digest();
      if (given.length === expected.length && timingSafeEqual(given, expected)) return { valid: true, secret };
    }
    return { valid: false, reason: 'X-Forge-Signature does not match the body' };
  },
  parse({ json, event }) {
    const push = json() as { ref?: string; after?: string; before?: string; repository?: string; pusher?: string; message?: string; author?: string };
    return {
      kind: event === 'push' ? 'push' : 'other',
      ref: push.ref ?? null,
      after: push.after ?? null,
      before: push.before ?? null,
      commitMessage: push.message ?? null,
      commitAuthor: push.author ?? null,
      repository: push.repository ? { fullName: push.repository, urls: [] } : null,
      sender: push.pusher ?? null,
    };
  },
};

const CONFIG = `${WEBHOOK_CONFIG.replace('fraises:\n', `fraises:
  forged:
    type: api
    git:
      provider: forge
      repository: team/forged
    environments:
      production:
        branch: main
        target: { provider: kubernetes, namespace: forged }
`)}`;

const push = JSON.stringify({ ref: 'refs/heads/main', after: 'c'.repeat(40), before: 'b'.repeat(40), repository: 'team/forged', pusher: 'smith', message: 'Ship it', author: 'Smith' });
const signed = (body: string, secret = FORGE_SECRET) => createHmac('sha256', secret).update(body).digest('hex');

for (const dialect of DIALECTS) {
  describe(`a registered Git provider on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: WebhookTestApp;
    beforeAll(async () => {
      if (skip) return;
      t = await startWebhookApp(dialect, CONFIG);
      registerGitProvider(t.app.gitProviders, forge);
    });
    afterAll(async () => {
      if (!skip) await t.dispose();
    });

    it.skipIf(skip)('is reached at /webhook/<name> and by detection, stored as custom:<name>', async () => {
      const headers = { 'content-type': 'application/json', 'x-forge-event': 'push', 'x-forge-signature': signed(push) };
      const named = await deliver(t.url, '/webhook/forge', push, { ...headers, 'x-forge-delivery': 'forge-1' });
      expect(named.status).toBe(202);
      expect(named.json.deployments).toMatchObject([{ fraise: 'forged', environment: 'production', status: 'PENDING', gitCommit: 'c'.repeat(40) }]);
      // Another commit: the same one again would be a replay, and queue nothing.
      const next = push.replace('c'.repeat(40), 'd'.repeat(40));
      const detected = await deliver(t.url, '/webhook', next, { ...headers, 'x-forge-signature': signed(next), 'x-forge-delivery': 'forge-2' });
      expect(detected.status).toBe(202);
      const rows = (await eventRows(t.app)).filter((r) => r.delivery_id?.startsWith('forge-'));
      expect(rows.map((r) => [r.provider, r.delivery_id, r.sender, r.commit_message])).toEqual([
        ['custom:forge', 'forge-1', 'smith', 'Ship it'],
        ['custom:forge', 'forge-2', 'smith', 'Ship it'],
      ]);
      const redelivered = await deliver(t.url, '/webhook/forge', push, { ...headers, 'x-forge-delivery': 'forge-1' });
      expect(redelivered.json.duplicate).toBe(true);
    });

    it.skipIf(skip)('refuses what it does not verify, writing nothing', async () => {
      const before = (await eventRows(t.app)).length;
      const refused = await deliver(t.url, '/webhook/forge', push, { 'x-forge-event': 'push', 'x-forge-signature': signed(push, 'wrong') });
      expect(refused.status).toBe(401);
      expect(refused.json).toEqual({ accepted: false, code: 'INVALID_SIGNATURE', message: 'X-Forge-Signature does not match the body' });
      expect((await eventRows(t.app)).length).toBe(before);
    });

    it.skipIf(skip)('is CUSTOM over GraphQL, by its providerName', async () => {
      const gqlPush = push.replace('c'.repeat(40), 'e'.repeat(40));
      const deploy = { authorization: `Bearer ${TOKENS.deploy}` };
      const processed = await gql(
        t.app,
        `mutation ($payload: String!, $signature: String) {
          processWebhook(provider: CUSTOM, providerName: "forge", payload: $payload, signature: $signature, event: "push", deliveryId: "forge-gql") {
            accepted event { provider providerName } deployments { fraise }
          }
        }`,
        // A commit of its own: one already queued would queue nothing.
        { payload: gqlPush, signature: signed(gqlPush) },
        deploy,
      );
      expect(processed.errors).toBeUndefined();
      expect(processed.data.processWebhook).toEqual({ accepted: true, event: { provider: 'CUSTOM', providerName: 'custom:forge' }, deployments: [{ fraise: 'forged' }] });
      const unknown = await gql(t.app, 'mutation { processWebhook(provider: CUSTOM, providerName: "nope", payload: "{}") { accepted } }', {}, deploy);
      expect(unknown.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringMatching(/^unknown webhook provider "custom:nope"/) });
    });
  });
}
