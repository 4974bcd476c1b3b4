import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { healthEventId } from '../../src/notifications/outbox.js';
import { json, openOutboxRig, type OutboxRig, T0 } from '../setup/notifications.js';
import { type Receiver, startReceiver } from '../setup/receiver.js';

/*
 * A change of health the monitor recorded, told by each channel against a local stand-in for its
 * service: down or degraded to the on_failure lists (a PagerDuty trigger, a message naming the
 * environment, what the check said and what it was before, a link to the environment on the
 * dashboard), back to healthy to the on_success lists and to PagerDuty as a resolve of the key a
 * failed deployment triggered. No deployment is involved; the event id is the change's own.
 */

const SLACK_TOKEN = 'XoXbSeCrEtT0k3nS1ack';
const DISCORD_TOKEN = 'd1sc0rdT0k3n-VeRySeCrEt';
const TEAMS_SIG = 'TeAmSsIgNaTuReSeCrEt';
const ROUTING_KEY = 'R0ut1ngK3yR0ut1ngK3yR0ut1ngK3y00';
const SECRET = 'health-hook-secret';
const ENV_URL = 'https://deploy.example.com/#/environments/api/production';
const MESSAGE = 'http://127.0.0.1:3000/health: ECONNREFUSED';

function config(url: string): string {
  return `
fraisier:
  public_url: https://deploy.example.com
notifications:
  timeout: 5s
  on_failure:
    - { type: slack, webhook_url: "${url}/slack/T01/B02/${SLACK_TOKEN}" }
    - { type: discord, webhook_url: "${url}/discord/api/webhooks/123/${DISCORD_TOKEN}" }
    - { type: teams, webhook_url: "${url}/teams/workflows/run?sig=${TEAMS_SIG}", mention_on_failure: "@oncall" }
    - { type: pagerduty, routing_key: "${ROUTING_KEY}", api_url: "${url}/pagerduty/v2/enqueue" }
    - { type: webhook, url: "${url}/hooks/failure", secret: "${SECRET}" }
  on_success:
    - { type: webhook, url: "${url}/hooks/success" }
fraises:
  api:
    type: api
    environments:
      production: { target: { provider: bare-metal, app_path: /srv/api } }
      quiet:
        target: { provider: bare-metal, app_path: /srv/quiet }
        notifications: { enabled: false }
`;
}

describe('notifications of a change of health', () => {
  let receiver: Receiver;
  let rig: OutboxRig;
  const last = (path: string) => json(receiver.to(path).at(-1)!.body);
  const PATHS = {
    slack: `/slack/T01/B02/${SLACK_TOKEN}`,
    discord: `/discord/api/webhooks/123/${DISCORD_TOKEN}`,
    teams: '/teams/workflows/run',
    pagerduty: '/pagerduty/v2/enqueue',
    failure: '/hooks/failure',
    success: '/hooks/success',
  };
  /** Requests each stand-in received so far. */
  const count = () => Object.fromEntries(Object.entries(PATHS).map(([name, path]) => [name, receiver.to(path).length]));

  beforeAll(async () => {
    receiver = await startReceiver();
    rig = await openOutboxRig(config(receiver.url));
  });
  afterAll(async () => {
    await rig?.dispose();
    await receiver?.close();
  });
  afterEach(() => {
    const logs = rig.logs.join('\n');
    for (const secret of [SLACK_TOKEN, DISCORD_TOKEN, TEAMS_SIG, ROUTING_KEY, SECRET]) expect(logs).not.toContain(secret);
  });

  it('down: each on_failure destination hears it in its own shape, on_success nothing', async () => {
    const change = await rig.health({ status: 'down', previous: 'healthy', message: MESSAGE });
    const eventId = `hapi/production.down.${change.at}`;
    expect(await rig.runDue()).toBe(5);
    expect(count()).toEqual({ slack: 1, discord: 1, teams: 1, pagerduty: 1, failure: 1, success: 0 });

    // Slack: the sentence as the fallback text, the headline, the facts, what the check said, the link.
    const slack = last(`/slack/T01/B02/${SLACK_TOKEN}`);
    expect(slack.text).toBe(`🔴 api/production is down: ${MESSAGE} (was healthy)`);
    expect(slack.blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: '🔴 *api/production is down*' } },
      { type: 'section', fields: [{ type: 'mrkdwn', text: '*Status*\ndown' }, { type: 'mrkdwn', text: '*Previously*\nhealthy' }] },
      { type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${MESSAGE}\`\`\`` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `<${ENV_URL}|Open api/production>` }] },
    ]);

    // Discord: one embed, red, linking to the environment.
    const [embed] = last(`/discord/api/webhooks/123/${DISCORD_TOKEN}`).embeds;
    expect(embed).toMatchObject({ title: 'api/production is down', color: 0xef4444, url: ENV_URL, description: MESSAGE, timestamp: change.at });
    expect(embed.fields).toEqual([
      { name: 'Status', value: 'down', inline: true },
      { name: 'Previously', value: 'healthy', inline: true },
    ]);

    // Teams: the card, in the failure's colour, the mention, the link.
    const card = last('/teams/workflows/run').attachments[0].content;
    expect(card.body[0]).toMatchObject({ text: 'api/production is down', color: 'attention' });
    expect(card.body.at(-1).text).toBe('cc @oncall');
    expect(card.actions).toEqual([{ type: 'Action.OpenUrl', title: 'Open api/production', url: ENV_URL }]);

    // PagerDuty: a trigger with the pair's dedup key (the one deployments use).
    expect(last('/pagerduty/v2/enqueue')).toEqual({
      routing_key: ROUTING_KEY,
      dedup_key: 'fraisier/api/production',
      event_action: 'trigger',
      payload: {
        summary: `api/production is down: ${MESSAGE} (was healthy)`,
        source: 'fraisier',
        severity: 'critical',
        timestamp: change.at,
        component: 'api',
        group: 'production',
        class: 'health down',
        custom_details: { Status: 'down', Previously: 'healthy', error: MESSAGE, event_id: eventId },
      },
      client: 'Fraisier',
      client_url: ENV_URL,
      links: [{ href: ENV_URL, text: 'api/production' }],
    });

    // The webhook: health.down, signed, the change's id as webhook-id.
    const hook = receiver.to('/hooks/failure').at(-1)!;
    expect(hook.headers).toMatchObject({ 'webhook-id': eventId, 'x-fraisier-event': 'health' });
    const signed = `${eventId}.${hook.headers['webhook-timestamp']}.${hook.body}`;
    expect(hook.headers['webhook-signature']).toBe(`v1,${createHmac('sha256', SECRET).update(signed).digest('base64')}`);
    expect(json(hook.body)).toEqual({
      type: 'health.down',
      timestamp: change.at,
      data: { event_id: eventId, fraise_name: 'api', environment: 'production', event_type: 'health', status: 'down', previous_status: 'healthy', message: MESSAGE, timestamp: change.at, url: ENV_URL },
    });

    // Recorded without a deployment, with the change.
    const rows = (await rig.notifications()).filter((n) => n.eventId === eventId);
    expect(rows).toHaveLength(5);
    for (const row of rows) {
      expect(row).toMatchObject({ event: 'health', fraise: 'api', environment: 'production', deploymentId: null, status: 'delivered' });
      expect(row.healthChange).toEqual(change);
    }
  });

  it('degraded is a warning; back to healthy resolves what a failed deployment triggered, and tells on_success', async () => {
    rig.advance(60_000);
    await rig.deployment({ status: 'failed', errorMessage: 'health check failed' });
    await rig.runDue();
    const triggered = last('/pagerduty/v2/enqueue');
    expect(triggered).toMatchObject({ event_action: 'trigger', dedup_key: 'fraisier/api/production', payload: { class: 'deployment failure' } });

    rig.advance(60_000);
    await rig.health({ status: 'degraded', previous: 'down', message: 'HTTP 429 (expected 200)' });
    expect(await rig.runDue()).toBe(5);
    expect(last('/pagerduty/v2/enqueue')).toMatchObject({ event_action: 'trigger', dedup_key: triggered.dedup_key, payload: { severity: 'warning', class: 'health degraded' } });
    expect(last(`/discord/api/webhooks/123/${DISCORD_TOKEN}`).embeds[0]).toMatchObject({ title: 'api/production is degraded', color: 0xf59e0b });
    expect(last(`/slack/T01/B02/${SLACK_TOKEN}`).text).toBe('🟠 api/production is degraded: HTTP 429 (expected 200) (was down)');

    rig.advance(60_000);
    const before = count();
    const recovery = await rig.health({ status: 'healthy', previous: 'degraded', message: 'HTTP 200' });
    // on_success's webhook, and PagerDuty (listed for failures) to resolve; the others were not listed for successes.
    expect(await rig.runDue()).toBe(2);
    expect(count()).toEqual({ ...before, pagerduty: before.pagerduty! + 1, success: before.success! + 1 });
    expect(last('/pagerduty/v2/enqueue')).toEqual({ routing_key: ROUTING_KEY, dedup_key: triggered.dedup_key, event_action: 'resolve' });
    expect(json(receiver.to('/hooks/success').at(-1)!.body)).toMatchObject({
      type: 'health.healthy',
      data: { event_id: `hapi/production.healthy.${recovery.at}`, status: 'healthy', previous_status: 'degraded', message: 'HTTP 200', url: ENV_URL },
    });
  });

  it('notifies only changes to down or degraded and recoveries from them, once each, where notifications are on', async () => {
    rig.advance(60_000);
    const rows = async () => (await rig.notifications()).length;
    const before = await rows();
    // A first reading (unknown → healthy) is no news.
    await rig.health({ status: 'healthy', previous: 'unknown', message: 'HTTP 200' });
    // An environment whose notifications are off.
    await rig.health({ environment: 'quiet', status: 'down', previous: 'healthy', message: MESSAGE });
    expect(await rows()).toBe(before);

    // The same change written twice (a transaction retried): each destination once.
    const change = await rig.health({ status: 'down', previous: 'unknown', message: MESSAGE });
    await rig.health({ status: 'down', previous: 'unknown', message: MESSAGE });
    expect(await rows()).toBe(before + 5);
    expect(new Set((await rig.notifications()).slice(0, 5).map((n) => n.eventId))).toEqual(new Set([`hapi/production.down.${change.at}`]));
    expect(await rig.runDue()).toBe(5);
    expect(await rig.runDue()).toBe(0);
  });

  it('keeps event ids within their column for the longest names, the same for the same change', () => {
    const long = { fraise: 'f'.repeat(64), environment: 'e'.repeat(64), status: 'degraded' as const, at: new Date(T0).toISOString() };
    const id = healthEventId(long);
    expect(id.length).toBeLessThanOrEqual(128);
    expect(id).toMatch(/^h[0-9a-f]{32}\.degraded\.2026-11-21T10:00:00\.000Z$/);
    expect(healthEventId({ ...long })).toBe(id);
    expect(healthEventId({ ...long, environment: 'e'.repeat(63) })).not.toBe(id);
    expect(healthEventId({ fraise: 'api', environment: 'production', status: 'down', at: long.at })).toBe('hapi/production.down.2026-11-21T10:00:00.000Z');
  });
});
