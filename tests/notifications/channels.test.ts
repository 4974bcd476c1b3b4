import { createHmac } from 'node:crypto';
import { verify } from '@octokit/webhooks-methods';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { json, openOutboxRig, type OutboxRig, T0 } from '../setup/notifications.js';
import { type Receiver, startReceiver } from '../setup/receiver.js';

/*
 * Each channel against a local stand-in for its service: the request has the shape of the
 * service's published API, the failures the service documents are read as it says (500 and a
 * timeout retried with backoff, 429 retried after Retry-After or Discord's retry_after, 400
 * given up at once, Slack's 404 and a webhook's 410 disabling the destination), and every attempt
 * is recorded. The clock is the test's: a retry is due when the test moves time on. Backoff
 * draws 0.5 of its ceiling: 2.5 s after the first failure (initial 5 s), 5 s after the second,
 * 10 s after the third.
 */

const SLACK_TOKEN = 'XoXbSeCrEtT0k3nS1ack';
const DISCORD_TOKEN = 'd1sc0rdT0k3n-VeRySeCrEt';
const TEAMS_SIG = 'TeAmSsIgNaTuReSeCrEt';
const ROUTING_KEY = 'R0ut1ngK3yR0ut1ngK3yR0ut1ngK3y00';
const WHSEC = `whsec_${Buffer.from('a-24-byte-or-longer-signing-key!').toString('base64')}`;
const PLAIN_SECRET = 'plain-rotating-secret';
const SECRETS = [SLACK_TOKEN, DISCORD_TOKEN, TEAMS_SIG, ROUTING_KEY, WHSEC, PLAIN_SECRET, 'S3cr3tBearer'];

function config(url: string): string {
  return `
fraisier:
  public_url: https://deploy.example.com
notifications:
  timeout: 2s
  give_up_after: 1h
  on_failure:
    - { type: slack, webhook_url: "${url}/slack/T01/B02/${SLACK_TOKEN}" }
    - { type: discord, webhook_url: "${url}/discord/api/webhooks/123/${DISCORD_TOKEN}", username: Fraisier }
    - { type: teams, webhook_url: "${url}/teams/workflows/run?sig=${TEAMS_SIG}", mention_on_failure: "@oncall" }
    - { type: pagerduty, routing_key: "${ROUTING_KEY}", api_url: "${url}/pagerduty/v2/enqueue" }
    - type: webhook
      url: "${url}/hooks/deploys"
      method: PUT
      headers: { Authorization: "Bearer S3cr3tBearer", X-Team: core }
      secret: ["${WHSEC}", "${PLAIN_SECRET}"]
fraises:
  api:
    type: api
    environments:
      production: { target: { provider: bare-metal, app_path: /srv/api } }
      staging:
        target: { provider: bare-metal, app_path: /srv/api-staging }
        notifications:
          inherit: false
          on_failure:
            - { type: slack, webhook_url: "${url}/slack/T01/B03/gone${SLACK_TOKEN}" }
            - { type: webhook, url: "${url}/hooks/moved" }
            - { type: discord, webhook_url: "${url}/discord/api/webhooks/9/deleted${DISCORD_TOKEN}" }
          on_success:
            - { type: webhook, url: "${url}/hooks/retired" }
`;
}

describe('notification channels', () => {
  let receiver: Receiver;
  let rig: OutboxRig;

  beforeAll(async () => {
    receiver = await startReceiver();
    rig = await openOutboxRig(config(receiver.url));
  });
  afterAll(async () => {
    await rig?.dispose();
    await receiver?.close();
  });
  afterEach(() => {
    // Whatever happened, no secret was ever logged.
    const logs = rig.logs.join('\n');
    for (const secret of SECRETS) expect(logs).not.toContain(secret);
  });

  it('retries 500, 429 with Retry-After and a timeout, then delivers, to each service in its own shape', async () => {
    receiver.script(`/slack/T01/B02/${SLACK_TOKEN}`, [{ status: 500, body: 'rollup_error' }, { status: 429, headers: { 'retry-after': '7' }, body: 'rate_limited' }, 'hang', { status: 200, body: 'ok' }]);
    receiver.script(`/discord/api/webhooks/123/${DISCORD_TOKEN}`, [
      { status: 429, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'You are being rate limited.', retry_after: 1.5, global: false }) },
      { status: 200, headers: { 'content-type': 'application/json' }, body: '{"id":"1"}' },
    ]);
    receiver.script('/teams/workflows/run', ['hang', { status: 202 }]);
    receiver.script('/pagerduty/v2/enqueue', [{ status: 500 }, { status: 202, headers: { 'content-type': 'application/json' }, body: '{"status":"success","message":"Event processed","dedup_key":"fraisier/api/production"}' }]);
    receiver.script('/hooks/deploys', [{ status: 503 }, { status: 200 }]);

    // Long, and outside ASCII: limits in bytes (Teams) are reached before limits in characters.
    const error = `health check failed: GET http://127.0.0.1:3000/health answered 503\n${'é'.repeat(10_000)}`;
    const id = await rig.deployment({ status: 'failed', errorMessage: error });
    // t0: every first attempt. Slack 500, Discord 429 (1.5 s), Teams times out, PagerDuty 500, webhook 503.
    expect(await rig.runDue()).toBe(5);
    rig.advance(1_500); // Discord's retry_after
    expect(await rig.runDue()).toBe(1);
    rig.advance(1_000); // 2.5 s: the others' backoff
    expect(await rig.runDue()).toBe(4); // Slack 429 (7 s); Teams, PagerDuty, webhook delivered
    rig.advance(7_000);
    expect(await rig.runDue()).toBe(1); // Slack hangs: timed out; its third failure waits 10 s
    rig.advance(10_000);
    expect(await rig.runDue()).toBe(1);
    expect(await rig.runDue()).toBe(0);

    const byType = Object.fromEntries((await rig.notifications(id)).map((n) => [n.destination.type, n]));
    expect(Object.values(byType).map((n) => n.status)).toEqual(['delivered', 'delivered', 'delivered', 'delivered', 'delivered']);
    const slack = byType.slack!;
    expect(slack.attempts.map((a) => [a.outcome, a.statusCode])).toEqual([
      ['retry', 500],
      ['retry', 429],
      ['retry', null],
      ['delivered', 200],
    ]);
    const t = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
    expect(slack.attempts.map((a) => a.retryAt)).toEqual([t(2.5), t(9.5), t(19.5), null]);
    expect(slack.attempts[0]!.error).toBe('Slack answered 500: rollup_error');
    expect(slack.attempts[2]!.error).toBe('no answer within 2s');
    expect(byType.discord!.attempts.map((a) => [a.outcome, a.statusCode, a.retryAt])).toEqual([
      ['retry', 429, t(1.5)],
      ['delivered', 200, null],
    ]);
    expect(byType.teams!.attempts.map((a) => [a.outcome, a.statusCode])).toEqual([
      ['retry', null],
      ['delivered', 202],
    ]);
    expect(byType.slack!.destination).toEqual({ type: 'slack', target: `${receiver.url}/********`, path: 'notifications.on_failure[0]' });

    // Slack: blocks, with text as the fallback; sections within 3,000 characters, fields within 2,000.
    const slackBody = json(receiver.to(`/slack/T01/B02/${SLACK_TOKEN}`).at(-1)!.body);
    expect(typeof slackBody.text).toBe('string');
    expect(slackBody.text).toContain('api/production: deployment failed');
    expect(slackBody.blocks.length).toBeLessThanOrEqual(50);
    for (const block of slackBody.blocks) {
      if (block.text) expect(block.text.text.length).toBeLessThanOrEqual(3_000);
      for (const field of block.fields ?? []) expect(field.text.length).toBeLessThanOrEqual(2_000);
      if (block.fields) expect(block.fields.length).toBeLessThanOrEqual(10);
    }
    expect(slackBody.blocks.map((b: { type: string }) => b.type)).toEqual(['section', 'section', 'section', 'context']);
    expect(slackBody.blocks.at(-1).elements[0].text).toBe(`<https://deploy.example.com/#/deployments/${id}|Open deployment #${id}>`);

    // Discord: one embed within its limits, ?wait=true, nobody pinged.
    const discordRequest = receiver.to(`/discord/api/webhooks/123/${DISCORD_TOKEN}`).at(-1)!;
    expect(new URL(discordRequest.url, receiver.url).searchParams.get('wait')).toBe('true');
    const discordBody = json(discordRequest.body);
    expect(discordBody).toMatchObject({ username: 'Fraisier', allowed_mentions: { parse: [] } });
    const [embed] = discordBody.embeds;
    expect(embed.title).toBe('api/production: deployment failed');
    expect(embed.url).toBe(`https://deploy.example.com/#/deployments/${id}`);
    expect(embed.color).toBe(0xef4444);
    expect(embed.description.length).toBeLessThanOrEqual(4_096);
    const embedChars = embed.title.length + embed.description.length + embed.footer.text.length + embed.fields.reduce((n: number, f: { name: string; value: string }) => n + f.name.length + f.value.length, 0);
    expect(embedChars).toBeLessThanOrEqual(6_000);
    expect(embed.fields.length).toBeLessThanOrEqual(25);

    // Teams: the Workflows envelope around an Adaptive Card 1.4.
    const teamsBody = json(receiver.to('/teams/workflows/run').at(-1)!.body);
    expect(teamsBody.type).toBe('message');
    expect(teamsBody.attachments).toHaveLength(1);
    expect(teamsBody.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(teamsBody.attachments[0].content).toMatchObject({ type: 'AdaptiveCard', version: '1.4', actions: [{ type: 'Action.OpenUrl', url: `https://deploy.example.com/#/deployments/${id}` }] });
    expect(teamsBody.attachments[0].content.body.map((b: { type: string }) => b.type)).toEqual(['TextBlock', 'FactSet', 'TextBlock', 'TextBlock']);
    expect(teamsBody.attachments[0].content.body.at(-1).text).toBe('cc @oncall');
    expect(Buffer.byteLength(receiver.to('/teams/workflows/run').at(-1)!.body)).toBeLessThan(28_000);

    // PagerDuty Events API v2: a trigger with the pair's dedup key.
    const trigger = json(receiver.to('/pagerduty/v2/enqueue').at(-1)!.body);
    expect(trigger).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: 'fraisier/api/production',
      payload: { source: 'fraisier', severity: 'critical', component: 'api', group: 'production' },
      links: [{ href: `https://deploy.example.com/#/deployments/${id}` }],
    });
    expect(trigger.payload.summary.length).toBeLessThanOrEqual(1_024);
    expect(Date.parse(trigger.payload.timestamp)).not.toBeNaN();

    // The webhook: PUT, the configured headers, Standard Webhooks and GitHub signatures that verify.
    const attempts = receiver.to('/hooks/deploys');
    expect(attempts).toHaveLength(2);
    const [firstTry, delivered] = attempts as [typeof attempts[0], typeof attempts[0]];
    expect(delivered.method).toBe('PUT');
    expect(delivered.headers).toMatchObject({ authorization: 'Bearer S3cr3tBearer', 'x-team': 'core', 'content-type': 'application/json', 'webhook-id': `d${id}.failure` });
    // The id is the same on every attempt; the timestamp is each attempt's.
    expect(firstTry.headers['webhook-id']).toBe(`d${id}.failure`);
    expect(Number(firstTry.headers['webhook-timestamp'])).toBe(T0 / 1000);
    expect(Number(delivered.headers['webhook-timestamp'])).toBe(Math.floor(T0 / 1000 + 2.5));
    const signed = `${delivered.headers['webhook-id']}.${delivered.headers['webhook-timestamp']}.${delivered.body}`;
    const expected = [Buffer.from(WHSEC.slice('whsec_'.length), 'base64'), Buffer.from(PLAIN_SECRET)].map((key) => `v1,${createHmac('sha256', key).update(signed).digest('base64')}`);
    expect(String(delivered.headers['webhook-signature']).split(' ')).toEqual(expected);
    expect(await verify(WHSEC, delivered.body, String(delivered.headers['x-hub-signature-256']))).toBe(true);
    const webhookBody = json(delivered.body);
    expect(webhookBody).toMatchObject({
      type: 'deployment.failure',
      data: { event_id: `d${id}.failure`, fraise_name: 'api', environment: 'production', event_type: 'failure', deployment_id: String(id), status: 'failed', url: `https://deploy.example.com/#/deployments/${id}` },
    });
    expect(webhookBody.data.error_message.length).toBeLessThanOrEqual(8_000);
    expect(Buffer.byteLength(delivered.body)).toBeLessThan(20_000);
  });

  it('resolves PagerDuty on the next success, with the same dedup key and nothing else', async () => {
    const before = receiver.to('/pagerduty/v2/enqueue').length;
    const id = await rig.deployment({ status: 'success' });
    await rig.runDue();
    const [resolve] = receiver.to('/pagerduty/v2/enqueue').slice(before);
    expect(json(resolve!.body)).toEqual({ routing_key: ROUTING_KEY, dedup_key: 'fraisier/api/production', event_action: 'resolve' });
    // PagerDuty gets the success although only on_failure lists it; the others do not.
    expect((await rig.notifications(id)).map((n) => [n.destination.type, n.status])).toEqual([['pagerduty', 'delivered']]);
  });

  it('gives up at once on 400, and after give_up_after on an endpoint that keeps failing', async () => {
    receiver.script('/pagerduty/v2/enqueue', [{ status: 400, headers: { 'content-type': 'application/json' }, body: '{"status":"invalid event","message":"Event object is invalid","errors":["Length of \'routing_key\' is incorrect"]}' }]);
    receiver.script('/hooks/deploys', Array.from({ length: 40 }, () => ({ status: 502 })));
    receiver.fallback = () => ({ status: 200, body: 'ok' });
    const id = await rig.deployment({ status: 'failed', errorMessage: 'migrate failed' });
    for (let i = 0; i < 40 && (await rig.notifications(id)).some((n) => n.status === 'pending'); i++) {
      await rig.runDue();
      rig.advance(5 * 60_000);
    }
    const byType = Object.fromEntries((await rig.notifications(id)).map((n) => [n.destination.type, n]));
    expect(byType.pagerduty).toMatchObject({ status: 'failed', attemptCount: 1 });
    expect(byType.pagerduty!.lastError).toMatch(/^PagerDuty refused it with 400: \{"status":"invalid event"/);
    const webhook = byType.webhook!;
    expect(webhook.status).toBe('failed');
    expect(webhook.lastError).toMatch(/^gave up 1h after the event, after \d+ attempts: the endpoint answered 502$/);
    expect(webhook.attempts.at(-1)!.outcome).toBe('failed');
    expect(webhook.attempts.slice(0, -1).every((a) => a.outcome === 'retry')).toBe(true);
    // Backoff grows (full jitter at 0.5: 2.5 s, 5 s, 10 s, ...), capped by retry_max (1 h).
    const gaps = webhook.attempts.slice(0, 4).map((a) => Date.parse(a.retryAt!) - Date.parse(a.at));
    expect(gaps).toEqual([2_500, 5_000, 10_000, 20_000]);
  });

  it('disables a Slack hook whose channel is gone and an endpoint that answered 410; never follows a redirect', async () => {
    receiver.script(`/slack/T01/B03/gone${SLACK_TOKEN}`, [{ status: 404, body: 'channel_not_found' }]);
    receiver.script('/hooks/moved', [{ status: 301, headers: { location: `${receiver.url}/hooks/elsewhere` } }, { status: 200 }]);
    receiver.script('/hooks/retired', [{ status: 410, body: 'Gone' }]);
    receiver.script(`/discord/api/webhooks/9/deleted${DISCORD_TOKEN}`, [{ status: 404, headers: { 'content-type': 'application/json' }, body: '{"message": "Unknown Webhook", "code": 10015}' }]);
    const failed = await rig.deployment({ environment: 'staging', status: 'failed', errorMessage: 'boom' });
    const succeeded = await rig.deployment({ environment: 'staging', status: 'success' });
    await rig.runDue();
    rig.advance(2_500);
    await rig.runDue();
    expect(receiver.to('/hooks/elsewhere')).toEqual([]);
    const failedRows = Object.fromEntries((await rig.notifications(failed)).map((n) => [n.destination.type, n]));
    expect(failedRows.slack).toMatchObject({ status: 'disabled', attemptCount: 1 });
    expect(failedRows.slack!.lastError).toBe('Slack answered 404 channel_not_found: the webhook or its channel is gone');
    expect(failedRows.discord).toMatchObject({ status: 'disabled', lastError: 'Discord answered 404 {"message": "Unknown Webhook", "code": 10015}: the webhook was deleted' });
    expect(failedRows.webhook!.attempts.map((a) => [a.outcome, a.statusCode, a.error])).toEqual([
      ['retry', 301, 'the endpoint answered 301 (a redirect, not followed)'],
      ['delivered', 200, null],
    ]);
    expect((await rig.notifications(succeeded)).map((n) => [n.status, n.attempts.map((a) => a.statusCode)])).toEqual([['disabled', [410]]]);

    // The next failure: the disabled hook gets nothing, and says why.
    const sentBefore = receiver.to(`/slack/T01/B03/gone${SLACK_TOKEN}`).length;
    const next = await rig.deployment({ environment: 'staging', status: 'failed', errorMessage: 'boom again' });
    await rig.runDue();
    expect(receiver.to(`/slack/T01/B03/gone${SLACK_TOKEN}`)).toHaveLength(sentBefore);
    const slack = (await rig.notifications(next)).find((n) => n.destination.type === 'slack')!;
    expect(slack.status).toBe('disabled');
    expect(slack.attemptCount).toBe(0);
    expect(slack.lastError).toMatch(/^destination disabled since .+: Slack answered 404 channel_not_found/);
    // Recorded errors hold no secret either.
    expect(JSON.stringify(await rig.notifications())).not.toContain(SLACK_TOKEN);
  });
});
