import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd, waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { HoldProvider } from '../setup/hold-provider.js';
import { json } from '../setup/notifications.js';
import { type Receiver, startReceiver } from '../setup/receiver.js';

/*
 * Notifications through the real app: the dispatcher writes them with a deployment's start, its
 * wait for approval (a hold without an end) and its end, the app's sender delivers them at once,
 * and the notifications query shows each with its attempts. A service that echoes the
 * destination's secret in an error leaves no trace of it in the answer, the store or the logs.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
const HOOK_TOKEN = 'HoOkToKeN-0123456789abcdef';
const SLACK_TOKEN = 'sLaCkToKeN-0123456789abcdef';
const TOKENS = { admin: 'admin-reads-0123456789', other: 'other-reads-0123456789' };

const NOTIFICATIONS = `query($id: ID, $status: NotificationStatus) {
  notifications(deploymentId: $id, status: $status) {
    id eventId event fraise environment deployment { id status } destination { type target path } status attemptCount lastError
    attempts { attempt outcome statusCode error retryAt }
  }
}`;

describe('notifications through the app', () => {
  let receiver: Receiver;
  let t: TestApp;
  const provider = new HoldProvider();
  const logs: string[] = [];
  const q = (query: string, variables: Record<string, unknown> = {}, who: keyof typeof TOKENS = 'admin') => gql(t.app, query, variables, { authorization: `Bearer ${TOKENS[who]}` });

  beforeAll(async () => {
    receiver = await startReceiver();
    const config = testConfig(
      `
fraisier:
  public_url: https://deploy.example.com
  tokens:
    - { name: admin, token: ${TOKENS.admin}, scopes: [admin] }
    - { name: other, token: ${TOKENS.other}, scopes: [read], fraises: [other] }
notifications:
  retry_initial: 0.05s
  retry_max: 0.2s
  on_started: [{ type: webhook, url: "\${HOOK_URL}" }]
  on_approval: [{ type: webhook, url: "\${HOOK_URL}" }]
  on_success: [{ type: webhook, url: "\${HOOK_URL}" }]
  on_failure:
    - { type: webhook, url: "\${HOOK_URL}" }
    - { type: slack, webhook_url: "${receiver.url}/services/T1/B1/${SLACK_TOKEN}" }
fraises:
  canary:
    type: api
    environments:
      prod:
        target: { provider: test-hold }
  other:
    type: api
    environments:
      prod:
        target: { provider: test-hold }
`,
      { HOOK_URL: `${receiver.url}/hooks/${HOOK_TOKEN}` },
    );
    t = await createTestApp(sqlite, { config, logger: createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(line) } }) });
    t.app.providers.register(provider);
    await t.app.startWorkers();
  });
  afterAll(async () => {
    await t?.dispose();
    await receiver?.close();
  });

  const hooks = () => receiver.to(`/hooks/${HOOK_TOKEN}`).map((r) => ({ id: r.headers['webhook-id'], body: json(r.body) }));

  it('tells of the start, the wait for approval and the success, in that order, each once', async () => {
    provider.script = async (ctx) => {
      await ctx.control.hold('Canary at 50%: promote to go on', null);
    };
    const deployed = await q('mutation { deploy(fraise: "canary", environment: "prod", commit: "b2c3d4e", force: true) { deployment { id } } }');
    const id = deployed.data.deploy.deployment.id as string;
    await waitUntil(() => hooks().some((h) => h.body.type === 'deployment.approval'), { what: 'the approval notification' });
    const approval = hooks().find((h) => h.body.type === 'deployment.approval')!;
    expect(approval.body.data).toMatchObject({ deployment_id: id, status: 'paused', message: 'Canary at 50%: promote to go on', url: `https://deploy.example.com/#/deployments/${id}` });
    expect((await q('mutation($id: ID!) { promoteDeployment(id: $id) { id } }', { id })).errors).toBeUndefined();
    expect((await waitForEnd(t.app, id)).status).toBe('success');
    await waitUntil(() => hooks().some((h) => h.body.type === 'deployment.success'), { what: 'the success notification' });
    expect(hooks().map((h) => [h.id, h.body.type])).toEqual([
      [`d${id}.started.1`, 'deployment.started'],
      [expect.stringMatching(new RegExp(`^d${id}\\.approval\\.\\d+\\.1$`)), 'deployment.approval'],
      [`d${id}.success`, 'deployment.success'],
    ]);

    const data = await waitUntil(async () => {
      const answer = (await q(NOTIFICATIONS, { id })).data;
      return answer.notifications.every((n: { status: string }) => n.status !== 'PENDING') ? answer : undefined;
    }, { what: 'every notification settled' });
    expect(data.notifications.map((n: { event: string; status: string; attemptCount: number }) => [n.event, n.status, n.attemptCount])).toEqual([
      ['SUCCESS', 'DELIVERED', 1],
      ['APPROVAL', 'DELIVERED', 1],
      ['STARTED', 'DELIVERED', 1],
    ]);
    expect(data.notifications[0]).toMatchObject({
      deployment: { id, status: 'SUCCESS' },
      destination: { type: 'webhook', target: `POST ${receiver.url}/********`, path: 'notifications.on_success[0]' },
      attempts: [{ attempt: 1, outcome: 'DELIVERED', statusCode: 200, error: null, retryAt: null }],
    });
  });

  it('keeps an echoed secret out of the answer, the store and the logs; a limited token sees only its fraises', async () => {
    receiver.script(`/services/T1/B1/${SLACK_TOKEN}`, [{ status: 400, body: `invalid_payload for /services/T1/B1/${SLACK_TOKEN}` }]);
    // The failure's first try is refused (its start, sent before, is not).
    let refused = false;
    receiver.fallback = (request) => {
      if (refused || !request.body.includes('"deployment.failure"')) return { status: 200 };
      refused = true;
      return { status: 500, body: `cannot deliver to ${receiver.url}/hooks/${HOOK_TOKEN}` };
    };
    provider.script = async () => {
      throw new Error('the new release does not answer');
    };
    const deployed = await q('mutation { deploy(fraise: "canary", environment: "prod", commit: "c3d4e5f", force: true) { deployment { id } } }');
    const id = deployed.data.deploy.deployment.id as string;
    expect((await waitForEnd(t.app, id)).status).toBe('failed');
    const settled = async () => {
      const { data } = await q(NOTIFICATIONS, { id, status: null });
      const failure = data.notifications.filter((n: { event: string }) => n.event === 'FAILURE');
      return failure.length === 2 && failure.every((n: { status: string }) => n.status !== 'PENDING') ? data : undefined;
    };
    const data = await waitUntil(settled, { what: 'the failure notifications settled' });
    const byType = Object.fromEntries(data.notifications.filter((n: { event: string }) => n.event === 'FAILURE').map((n: { destination: { type: string } }) => [n.destination.type, n]));
    expect(byType.slack).toMatchObject({ status: 'FAILED', attemptCount: 1, lastError: 'Slack refused it with 400: invalid_payload for /services/T1/B1/********' });
    expect(byType.webhook.attempts.map((a: { outcome: string; statusCode: number }) => [a.outcome, a.statusCode])).toEqual([
      ['RETRY', 500],
      ['DELIVERED', 200],
    ]);
    // The webhook's URL is a secret as a whole (a token may be anywhere in it).
    expect(byType.webhook.attempts[0].error).toBe('the endpoint answered 500: cannot deliver to ********');

    const everything = JSON.stringify((await q(NOTIFICATIONS, {})).data);
    const store = JSON.stringify([
      await t.app.store.db.selectFrom('tb_notification').selectAll().execute(),
      await t.app.store.db.selectFrom('tb_notification_attempt').selectAll().execute(),
    ]);
    for (const secret of [HOOK_TOKEN, SLACK_TOKEN]) {
      expect(everything).not.toContain(secret);
      expect(store).not.toContain(secret);
      expect(logs.join('\n')).not.toContain(secret);
    }
    // Logged all the same: what happened, by destination type and masked target.
    expect(logs.some((line) => line.includes('"msg":"notification failed"') && line.includes('"destination":"slack '))).toBe(true);

    expect((await q(NOTIFICATIONS, {}, 'other')).data.notifications).toEqual([]);
    const hidden = await q(NOTIFICATIONS, { id }, 'other');
    expect(hidden.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});
