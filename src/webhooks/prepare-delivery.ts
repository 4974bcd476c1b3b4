import type { FraisierConfig } from '../config/types.js';
import type { WebhookHeaders } from './provider.js';
import { type DeliveryFacts, deliveryWrite } from './delivery-write.js';
import type { DeliveryWrite } from './record-delivery.js';
import type { ResolvedProvider } from './registry.js';
import { type RoutingDecision, routeDelivery } from './routing.js';
import { type ProviderSecrets, providerName, readDelivery, verifyDelivery } from './verify-delivery.js';

/*
 * A delivery from its bytes to the rows it writes: verify the signature, read the payload,
 * route it, build the write. Pure CPU over the configuration (no store, no clock of its own,
 * no I/O), so it can be tested without a server.
 */

export interface PrepareInput {
  /** The bytes as received: signatures are over these. */
  body: Buffer;
  /** The body as text (what is parsed, and kept when `store_payload` is on). */
  text: string;
  headers: WebhookHeaders;
  signature: string | null;
  event: string | null;
  deliveryId: string | null;
  sourceIp: string | null;
  now: Date;
}

export type Prepared =
  /** The signature did not verify: nothing may be written. */
  | { kind: 'invalid'; reason: string }
  | {
      kind: 'ready';
      write: DeliveryWrite;
      outcome: RoutingDecision['outcome'];
      /** Why: what was queued, or why nothing was (whole; the stored one is cut to its column). */
      reason: string;
      /** Set when the body is not JSON: the delivery is recorded as refused, then answered 400. */
      syntaxError: string | null;
    };

export interface PrepareOptions {
  config: FraisierConfig;
  resolved: ResolvedProvider;
  secrets: ProviderSecrets;
  /** Pairs the caller may deploy (an API token may be limited); all when absent. */
  mayDeploy?: (fraise: string, environment: string) => boolean;
}

export function prepareDelivery(options: PrepareOptions, input: PrepareInput): Prepared {
  const { config, resolved, secrets } = options;
  const verdict = verifyDelivery(resolved, { body: input.body, headers: input.headers, signature: input.signature, now: input.now }, secrets);
  if (!verdict.valid) return { kind: 'invalid', reason: verdict.reason };

  const read = readDelivery(resolved, { body: input.body, text: input.text, headers: input.headers, event: input.event, deliveryId: input.deliveryId });
  const event = 'event' in read ? read.event : undefined;
  const decision: RoutingDecision = event
    ? routeDelivery({
        config,
        event,
        providerName: providerName(resolved),
        verifiedWith: verdict.secret,
        providerSecrets: secrets.provider,
        ...(options.mayDeploy ? { mayDeploy: options.mayDeploy } : {}),
      })
    : { outcome: 'refused', targets: [], reason: (read as { unreadable: string }).unreadable };
  const facts: DeliveryFacts = {
    provider: resolved.storedName,
    eventType: event?.eventType ?? input.event ?? 'unknown',
    deliveryId: input.deliveryId,
    event,
    decision,
    receivedAt: input.now.toISOString(),
    sourceIp: input.sourceIp,
    payload: config.settings.webhook.storePayload ? input.text : null,
  };
  return {
    kind: 'ready',
    write: deliveryWrite(facts),
    outcome: decision.outcome,
    reason: decision.reason,
    syntaxError: 'syntax' in read && read.syntax ? read.unreadable : null,
  };
}
