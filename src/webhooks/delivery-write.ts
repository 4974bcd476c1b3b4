import { createHash } from 'node:crypto';
import type { WebhookEventRecord } from '../model.js';
import { toWebhookEvent } from '../store/webhook-event.repository.js';
import type { NormalizedEvent } from './provider.js';
import type { DeliveryWrite } from './record-delivery.js';
import type { RoutingDecision } from './routing.js';
import { storable } from './text.js';

/*
 * What a delivery writes: its row (every value within its column, as pushed) and one queued
 * deployment per routed target. Values from the payload reach deployments only as data: the
 * exact commit to fetch, and a `context` the pipeline hands to commands as environment
 * variables, never interpolated into a command line.
 */

export interface DeliveryFacts {
  /** As stored: `github` ... `custom:<name>`. */
  provider: string;
  eventType: string;
  deliveryId: string | null;
  /** Absent when the payload could not be read. */
  event: NormalizedEvent | undefined;
  decision: RoutingDecision;
  receivedAt: string;
  sourceIp: string | null;
  /** The raw body, when `fraisier.webhook.store_payload` keeps it. */
  payload: string | null;
}

/** Column sizes of tb_webhook_event / tb_deployment_request (characters). */
const MAX = { name: 255, eventType: 128, deliveryId: 255, repository: 512, ref: 1024, sha: 64, author: 512, ip: 64, reason: 8_000 };
/** What tb_webhook_event.reason keeps of a reason. */
export const MAX_REASON_CHARS = MAX.reason;
/** Commit messages are kept whole up to here; env vars handed to commands are shorter still. */
const MAX_MESSAGE = 64 * 1024;
const MAX_CONTEXT_VALUE = 16 * 1024;

export function deliveryWrite(facts: DeliveryFacts): DeliveryWrite {
  const { event, decision } = facts;
  const repository = event?.repository?.fullName ?? event?.repository?.urls[0] ?? null;
  const row: DeliveryWrite['event'] = {
    received_at: facts.receivedAt,
    provider: facts.provider,
    event_type: storable(facts.eventType, MAX.eventType) ?? 'unknown',
    delivery_id: deliveryKey(facts.deliveryId),
    repository: storable(repository, MAX.repository),
    ref: storable(event?.ref, MAX.ref),
    branch: storable(event?.branch, MAX.ref),
    tag: storable(event?.tag, MAX.ref),
    commit_sha: storable(event?.after, MAX.sha),
    before_sha: storable(event?.before, MAX.sha),
    sender: storable(event?.sender, MAX.name),
    commit_message: storable(event?.commitMessage, MAX_MESSAGE),
    commit_author: storable(event?.commitAuthor, MAX.author),
    outcome: decision.outcome,
    reason: storable(decision.reason, MAX.reason),
    // Acted upon: it queued deployments. Ignored and refused deliveries are recorded, not processed.
    processed: decision.outcome === 'accepted' ? 1 : 0,
    source_ip: storable(facts.sourceIp, MAX.ip),
    payload: storable(facts.payload, Number.MAX_SAFE_INTEGER),
  };
  const sender = storable(event?.sender, 100);
  const requestedBy = storable(`webhook:${facts.provider}${sender ? `:${sender}` : ''}`, MAX.name);
  const deployments = decision.targets.map((target) => ({
    fraise: target.env.fraise,
    environment: target.env.name,
    kind: 'deploy' as const,
    trigger: 'webhook' as const,
    requestedBy,
    requestedAt: facts.receivedAt,
    gitBranch: target.branch,
    gitCommit: target.commit,
    before: target.update.before,
    force: false,
    env: target.env,
    context: context({
      provider: facts.provider,
      event: facts.eventType,
      delivery_id: facts.deliveryId,
      repository,
      ref: target.update.ref,
      branch: target.branch,
      tag: target.tag,
      commit: target.commit,
      before: target.update.before,
      sender: event?.sender,
      author: target.update.commitAuthor,
      message: target.update.commitMessage,
    }),
  }));
  return { event: row, deployments };
}

/**
 * The delivery id as stored: whole when it fits the column, else `sha256:<hex>` of it. Cut to
 * the column instead, two long ids sharing a prefix would read as one delivery, and the second
 * would be answered "duplicate" and deploy nothing.
 */
export function deliveryKey(deliveryId: string | null): string | null {
  const kept = storable(deliveryId, Number.MAX_SAFE_INTEGER);
  if (kept === null || kept.length <= MAX.deliveryId) return kept;
  return `sha256:${createHash('sha256').update(kept, 'utf8').digest('hex')}`;
}

/** The recorded delivery as the API shows it, from what was written (no read back). */
export function eventRecord(eventId: number, row: DeliveryWrite['event'], deploymentId: string | null): WebhookEventRecord {
  // The new properties first: in V8, properties added after a spread cost microseconds each time.
  return toWebhookEvent({ id: eventId, deployment_id: deploymentId === null ? null : Number(deploymentId), ...row });
}

function context(values: Record<string, string | null | undefined>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    const kept = storable(value, MAX_CONTEXT_VALUE);
    if (kept !== null) result[key] = kept;
  }
  return result;
}
