import { createHmac } from 'node:crypto';
import type { WebhookSettings } from '../../config/notification-schemas.js';
import { classifyHttp, excerpt, truncate, withinBytes } from '../message.js';
import type { DeploymentPayload, HealthPayload, HttpResponse, NotificationPayload, Outcome, RequestChannel } from '../types.js';

/*
 * A generic webhook, signed as Standard Webhooks 1.0 does: webhook-id (the event id, the same
 * on every retry: the receiver's idempotency key), webhook-timestamp (this attempt, Unix
 * seconds) and webhook-signature, "v1,<base64 HMAC-SHA256 of id.timestamp.body>" for each
 * secret (space-separated while one is rotated). X-Hub-Signature-256 carries GitHub's form with
 * the first secret, for receivers written for GitHub. A "whsec_" secret's key is the base64
 * after the prefix (as Standard Webhooks libraries read it); any other secret's key is its text.
 * 2xx is delivered, 410 disables the endpoint, 429/5xx and redirects are retried. X-Fraisier-Event
 * is the event (started, success, failure, rollback, approval, health).
 */

const ERROR_MAX = 8_000;

/** Standard Webhooks advises payloads under about 20 KB. */
const BODY_MAX_BYTES = 20_000;

/**
 * The body: {type, timestamp, data}. A deployment's event (type deployment.<event>) holds the
 * Python Fraisier's event fields and more; a change of health (type health.<status>) its
 * environment, status, previous status and what the check said.
 */
export function webhookBody(p: NotificationPayload): string {
  return withinBytes((errorMax) => (p.event === 'health' ? renderHealth(p, errorMax) : render(p, errorMax)), BODY_MAX_BYTES, ERROR_MAX);
}

function renderHealth(p: HealthPayload, messageMax: number): string {
  return JSON.stringify({
    type: `health.${p.status}`,
    timestamp: p.timestamp,
    data: {
      event_id: p.eventId,
      fraise_name: p.fraise,
      environment: p.environment,
      event_type: p.event,
      status: p.status,
      previous_status: p.previous,
      message: truncate(p.message, messageMax),
      timestamp: p.timestamp,
      url: p.url,
    },
  });
}

function render(p: DeploymentPayload, errorMax: number): string {
  return JSON.stringify({
    type: `deployment.${p.event}`,
    timestamp: p.timestamp,
    data: {
      event_id: p.eventId,
      // The Python Fraisier's DeployEvent.to_dict(), so receivers written for it keep working.
      fraise_name: p.fraise,
      environment: p.environment,
      event_type: p.event,
      error_message: p.errorMessage === null ? null : truncate(p.errorMessage, errorMax),
      error_code: null,
      recovery_hint: null,
      old_version: p.oldVersion,
      new_version: p.newVersion,
      duration_seconds: p.durationSeconds ?? 0,
      triggered_by: p.trigger,
      commit_sha: p.gitCommit,
      incident_path: null,
      timestamp: p.timestamp,
      // Fraisier's own.
      deployment_id: p.deploymentId,
      kind: p.kind,
      status: p.status,
      branch: p.gitBranch,
      requested_by: p.requestedBy,
      message: p.message,
      url: p.url,
    },
  });
}

function keyOf(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
}

/** `v1,<signature>` for each secret, space-separated. */
export function standardSignature(secrets: readonly string[], id: string, timestamp: number, body: string): string {
  return secrets.map((secret) => `v1,${createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`).join(' ');
}

export function webhookChannel(settings: WebhookSettings, now: () => Date): RequestChannel {
  const secrets = settings.secret === undefined ? [] : Array.isArray(settings.secret) ? settings.secret : [settings.secret];
  return {
    render(p: NotificationPayload) {
      const body = webhookBody(p);
      const timestamp = Math.floor(now().getTime() / 1000);
      const headers: Record<string, string> = {
        // Lower case, so that a configured Content-Type is replaced rather than doubled.
        ...Object.fromEntries(Object.entries(settings.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value])),
        'content-type': 'application/json',
        'user-agent': 'Fraisier-Webhook',
        'webhook-id': p.eventId,
        'webhook-timestamp': String(timestamp),
        'x-fraisier-event': p.event,
      };
      if (secrets.length) {
        headers['webhook-signature'] = standardSignature(secrets, p.eventId, timestamp, body);
        headers['x-hub-signature-256'] = `sha256=${createHmac('sha256', secrets[0]!).update(body).digest('hex')}`;
      }
      return { url: settings.url, method: settings.method ?? 'POST', headers, body };
    },
    classify(response: HttpResponse): Outcome {
      if (response.status === 410) return { kind: 'disable', reason: `the endpoint answered 410 Gone ${excerpt(response.body, 80)}: it asked to receive nothing more` };
      return classifyHttp(response, 'the endpoint');
    },
  };
}
