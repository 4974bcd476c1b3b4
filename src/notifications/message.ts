import type { NotificationEvent } from '../config/types.js';
import type { HealthStatus } from '../model.js';
import type { HttpResponse, NotificationPayload, Outcome } from './types.js';

/*
 * What every channel says, in the same words: a headline, a few facts, the error (or what the
 * health check said), the link; the size guards (each service's limits); and how an HTTP answer
 * is read when the service has no rule of its own.
 */

const HEADLINES: Record<NotificationEvent, string> = {
  started: 'deployment started',
  success: 'deployed',
  failure: 'deployment failed',
  rollback: 'deployment rolled back',
  approval: 'waiting for approval',
};

const EMOJI: Record<NotificationEvent, string> = {
  started: '🚀',
  success: '✅',
  failure: '❌',
  rollback: '↩️',
  approval: '⏸️',
};

const HEALTH_EMOJI: Record<HealthStatus, string> = {
  healthy: '🟢',
  degraded: '🟠',
  down: '🔴',
  unknown: '⚪',
};

/** Upper case word for subjects: "[Fraisier] FAILURE: api/production" (the Python Fraisier's form), "DOWN", "RECOVERED". */
export function eventWord(p: NotificationPayload): string {
  if (p.event === 'health') return p.status === 'healthy' ? 'RECOVERED' : p.status.toUpperCase();
  return p.event.toUpperCase();
}

export function emoji(p: NotificationPayload): string {
  return p.event === 'health' ? HEALTH_EMOJI[p.status] : EMOJI[p.event];
}

/**
 * The deployment event whose colours a message takes: a service down reads as a failure,
 * degraded as a rollback (a warning), back to healthy as a success.
 */
export function tone(p: NotificationPayload): NotificationEvent {
  if (p.event !== 'health') return p.event;
  return p.status === 'down' ? 'failure' : p.status === 'healthy' ? 'success' : 'rollback';
}

/** Whether the event closes what failures opened (a PagerDuty alert, a Git issue): a success, or health back. */
export function resolves(p: NotificationPayload): boolean {
  return p.event === 'health' ? p.status === 'healthy' : p.event === 'success';
}

/** Whether someone should act: a failure, a rollback, a service down or degraded. */
export function alarming(p: NotificationPayload): boolean {
  return p.event === 'health' ? p.status === 'down' || p.status === 'degraded' : p.event === 'failure' || p.event === 'rollback';
}

/** "api/production: deployment failed", "api/production is down", "api/production is healthy again" */
export function headline(p: NotificationPayload): string {
  if (p.event === 'health') return `${p.fraise}/${p.environment} is ${p.status}${p.status === 'healthy' ? ' again' : ''}`;
  return `${p.fraise}/${p.environment}: ${HEADLINES[p.event]}`;
}

/** One line: "api/production: deployment failed: <error>", "api/production is down: <message> (was healthy)". */
export function summary(p: NotificationPayload, detailLimit: number): string {
  if (p.event === 'health') return `${p.fraise}/${p.environment} is ${p.status}${p.message ? `: ${excerpt(p.message, detailLimit)}` : ''} (was ${p.previous})`;
  const text = detail(p);
  return `${headline(p)}${text ? `: ${excerpt(text, detailLimit)}` : ''}`;
}

/** The words of the link to the dashboard. */
export function linkText(p: NotificationPayload): string {
  return p.event === 'health' ? `Open ${p.fraise}/${p.environment}` : `Open deployment #${p.deploymentId}`;
}

/** The facts worth a line each, label → value, in order. */
export function facts(p: NotificationPayload): [string, string][] {
  if (p.event === 'health') return [['Status', p.status], ['Previously', p.previous]];
  const out: [string, string][] = [['Deployment', `#${p.deploymentId}${p.kind === 'rollback' ? ' (rollback)' : ''}`]];
  const version = p.newVersion ?? p.gitCommit;
  if (version) out.push(['Version', p.oldVersion && p.oldVersion !== version ? `${short(p.oldVersion)} → ${short(version)}` : short(version)]);
  if (p.gitBranch) out.push(['Branch', p.gitBranch]);
  out.push(['Triggered by', p.requestedBy ? `${p.requestedBy} (${p.trigger})` : p.trigger]);
  if (p.durationSeconds !== null && p.event !== 'started') out.push(['Duration', `${p.durationSeconds.toFixed(1)}s`]);
  return out;
}

function short(version: string): string {
  return /^[0-9a-f]{40}$/i.test(version) ? version.slice(0, 12) : version;
}

/** The error, what an approval waits for, or what the health check said. */
export function detail(p: NotificationPayload): string | null {
  if (p.event === 'health') return p.message || null;
  return p.event === 'approval' ? p.message : p.errorMessage;
}

/** Plain text: headline, facts, detail, link. */
export function plainText(p: NotificationPayload, detailLimit = 4_000): string {
  const lines = [headline(p), '', ...facts(p).map(([label, value]) => `${label}: ${value}`)];
  const text = detail(p);
  if (text) lines.push('', truncate(text, detailLimit));
  if (p.url) lines.push('', p.url);
  return lines.join('\n');
}

/**
 * At most `max` characters (code points), an ellipsis in place of the rest. Services count
 * characters; a surrogate pair cut in two would be refused as invalid text.
 */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/**
 * A body rendered with the detail (an error, a log excerpt) at most `detailMax` characters, cut
 * further until the whole is at most `maxBytes` of UTF-8: limits in bytes (Teams' 28 KB) are
 * reached sooner by text outside ASCII.
 */
export function withinBytes(render: (detailMax: number) => string, maxBytes: number, detailMax: number): string {
  let max = detailMax;
  let body = render(max);
  while (Buffer.byteLength(body) > maxBytes && max > 100) {
    max = Math.floor(max / 2);
    body = render(max);
  }
  return body;
}

/** A service's own error text, one line, short: what the attempt records. */
export function excerpt(body: string, max = 200): string {
  return truncate(body.replace(/\s+/g, ' ').trim(), max);
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(response: HttpResponse, now = Date.now()): number | undefined {
  const value = response.headers.get('retry-after');
  if (value === null) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.ceil(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The common reading of an answer: 2xx delivered; 429, 408, 425 and 5xx later (honouring
 * Retry-After); a redirect is a failed attempt (never followed: a hook that moved is
 * misconfigured, and following could leave the host named in the configuration); any other 4xx
 * will never go through.
 */
export function classifyHttp(response: HttpResponse, service: string): Outcome {
  const { status } = response;
  if (status >= 200 && status < 300) return { kind: 'ok' };
  const said = response.body ? `: ${excerpt(response.body)}` : '';
  if (status === 429 || status === 408 || status === 425 || status >= 500) {
    const afterMs = retryAfterMs(response);
    return { kind: 'retry', reason: `${service} answered ${status}${said}`, ...(afterMs !== undefined ? { afterMs } : {}) };
  }
  if (status >= 300 && status < 400) return { kind: 'retry', reason: `${service} answered ${status} (a redirect, not followed)` };
  return { kind: 'permanent', reason: `${service} refused it with ${status}${said}` };
}
