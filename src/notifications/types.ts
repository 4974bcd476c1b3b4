import type { NotificationEvent } from '../config/types.js';
import type { HealthStatus } from '../model.js';

/*
 * What a notification carries, and the contract every channel keeps: render an event into a
 * request, and classify the answer. The sender (sender.ts) does the rest: timeouts, retries,
 * recording each attempt.
 */

/**
 * A snapshot of the event, taken in the transaction that wrote it to the outbox and stored with
 * it: what is sent does not depend on what changed since. Two kinds, told apart by `event`: what
 * happened to a deployment, and a change of health the monitor recorded (no deployment).
 */
export type NotificationPayload = DeploymentPayload | HealthPayload;

/** A deployment started, ended (success, failure, rollback) or waits for approval. */
export interface DeploymentPayload {
  /** Stable across retries: the idempotency key (webhook-id, PagerDuty's dedup of the event). */
  eventId: string;
  event: NotificationEvent;
  fraise: string;
  environment: string;
  deploymentId: string;
  /** deploy | rollback */
  kind: string;
  /** The deployment's status when the event was recorded (lower case). */
  status: string;
  /** webhook | manual | api | scheduled */
  trigger: string;
  requestedBy: string | null;
  gitCommit: string | null;
  gitBranch: string | null;
  oldVersion: string | null;
  newVersion: string | null;
  errorMessage: string | null;
  durationSeconds: number | null;
  /** Approval: what the deployment waits for. */
  message: string | null;
  /** When the event happened (ISO). */
  timestamp: string;
  /** The deployment's page on the dashboard (fraisier.public_url), when one is configured. */
  url: string | null;
}

/**
 * The health monitor saw an environment's health change (deploy/health-monitor.ts): to down or
 * degraded (sent to the on_failure lists), or back to healthy from either (on_success).
 */
export interface HealthPayload {
  /** Stable across retries: h<fraise>/<environment>.<status>.<at>. */
  eventId: string;
  event: 'health';
  fraise: string;
  environment: string;
  status: HealthStatus;
  previous: HealthStatus;
  /** What the check said (an HTTP status, a connection error), URL credentials masked. */
  message: string;
  /** When the change was recorded (ISO). */
  timestamp: string;
  /** The environment on the dashboard (fraisier.public_url), when one is configured. */
  url: string | null;
}

export interface HttpRequest {
  url: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  headers: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** The body as text, cut at 64 KiB. */
  body: string;
}

/**
 * What an answer means. ok: delivered (`warning`: in part, recorded with the attempt); retry: try again later (`afterMs` when the service said when);
 * permanent: this notification will never go through (recorded as failed); disable: the
 * destination is gone (a deleted Slack channel, a revoked Discord webhook), nothing more is sent
 * to it.
 */
export type Outcome =
  | { kind: 'ok'; detail?: string; warning?: string }
  | { kind: 'retry'; reason: string; afterMs?: number }
  | { kind: 'permanent'; reason: string }
  | { kind: 'disable'; reason: string };

/** What one delivery came to, with the status code of the last answer when there was one. */
export interface DeliveryResult {
  outcome: Outcome;
  statusCode: number | null;
}

/** How a channel reaches the network: one request at a time, each under the sender's timeout. */
export interface Transport {
  send(request: HttpRequest): Promise<HttpResponse>;
}

/** A destination type: how an event becomes what the service receives. */
export interface Channel {
  deliver(payload: NotificationPayload, transport: Transport, signal: AbortSignal): Promise<DeliveryResult>;
}

/**
 * The common case: one request per notification. Channels of this shape only render and
 * classify; `httpChannel` sends.
 */
export interface RequestChannel {
  render(payload: NotificationPayload): HttpRequest;
  classify(response: HttpResponse): Outcome;
}

export function httpChannel(channel: RequestChannel): Channel {
  return {
    async deliver(payload, transport) {
      const response = await transport.send(channel.render(payload));
      return { outcome: channel.classify(response), statusCode: response.status };
    },
  };
}
