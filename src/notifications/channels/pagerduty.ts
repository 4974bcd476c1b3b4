import type { PagerDutySettings } from '../../config/notification-schemas.js';
import { classifyHttp, detail, facts, resolves, summary, truncate } from '../message.js';
import type { HttpResponse, NotificationPayload, Outcome, RequestChannel } from '../types.js';

/*
 * PagerDuty Events API v2: a failure, a rollback, or the monitor finding the service down or
 * degraded triggers an alert; the next success, or the service found healthy again, resolves
 * it. All use the dedup key fraisier/<fraise>/<environment> (no error code: a success must find
 * what any failure opened), so repeated failures stay one alert, and a failed deployment whose
 * service the monitor later finds healthy is resolved. 202 is accepted; 400 is an invalid event
 * (never retried); 429 and 5xx are retried.
 */

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

export function dedupKey(p: Pick<NotificationPayload, 'fraise' | 'environment'>): string {
  return `fraisier/${p.fraise}/${p.environment}`.slice(0, 255);
}

export function pagerdutyChannel(settings: PagerDutySettings): RequestChannel {
  return {
    render(p: NotificationPayload) {
      const base = { routing_key: settings.routing_key, dedup_key: dedupKey(p) };
      const event =
        resolves(p)
          ? { ...base, event_action: 'resolve' }
          : {
              ...base,
              event_action: 'trigger',
              payload: {
                summary: truncate(summary(p, 900), 1_024),
                source: settings.source ?? 'fraisier',
                severity: settings.severity ?? severityOf(p),
                timestamp: p.timestamp,
                component: p.fraise,
                group: p.environment,
                class: p.event === 'health' ? `health ${p.status}` : `deployment ${p.event}`,
                custom_details: {
                  ...Object.fromEntries(facts(p)),
                  ...(detail(p) ? { error: truncate(detail(p)!, 8_000) } : {}),
                  event_id: p.eventId,
                },
              },
              client: 'Fraisier',
              ...(p.url ? { client_url: p.url, links: [{ href: p.url, text: p.event === 'health' ? `${p.fraise}/${p.environment}` : `Deployment #${p.deploymentId}` }] } : {}),
            };
      return {
        url: settings.api_url ?? PAGERDUTY_EVENTS_URL,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(event),
      };
    },
    classify(response: HttpResponse): Outcome {
      return classifyHttp(response, 'PagerDuty');
    },
  };
}

/** A failed deployment or a service down is critical; degraded a warning; a rollback (something still runs) an error. */
function severityOf(p: NotificationPayload): 'critical' | 'error' | 'warning' {
  if (p.event === 'health') return p.status === 'degraded' ? 'warning' : 'critical';
  return p.event === 'failure' ? 'critical' : 'error';
}
