import type { Logger } from 'pino';
import { assertCan, can, type Principal } from '../auth/principal.js';
import type { FraisierConfig } from '../config/types.js';
import type { Tracing } from '../tracing.js';
import type { DispatchControl } from '../deploy/deployment-service.js';
import { announceCompleted } from '../deploy/queue.js';
import { BadInputError, ForbiddenError, FraisierError, InvalidSignatureError, StoreUnavailableError } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import type { WebhookEventRecord, WebhookResult } from '../model.js';
import type { Metrics } from '../metrics.js';
import type { WebhookDelivery, WebhookIntake } from '../services/app-services.js';
import { guardStore, type Store } from '../store/store.js';
import { findWebhookEventByDelivery, listWebhookEventDeployments } from '../store/webhook-event.repository.js';
import { eventRecord } from './delivery-write.js';
import { createDeliveryWriter, type DeliveryWrite, type DeliveryWriter, type DeliveryWritten } from './record-delivery.js';
import { prepareDelivery } from './prepare-delivery.js';
import type { GitProviderRegistry, ResolvedProvider } from './registry.js';
import type { RoutingDecision } from './routing.js';
import { shown } from './text.js';
import { describeDelivery, type ProviderSecrets, providerSecrets } from './verify-delivery.js';

/*
 * processWebhook: verify, read, route, record. The signature is checked before anything
 * touches the store, so a sender without the secret cannot write a row. Then the delivery and
 * the deployments it queues are written in one transaction; a redelivery (the unique delivery
 * id) answers `duplicate` with what the first one did, and queues nothing.
 */

export interface WebhookServiceDeps {
  store: Store;
  config: FraisierConfig;
  registry: GitProviderRegistry;
  bus: EventBus;
  dispatch: Pick<DispatchControl, 'notify'>;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  /** A trace per delivery when tracing is on. */
  tracing?: Tracing;
}

export class WebhookService implements WebhookIntake {
  /** Per provider (the configuration does not change; registered providers may be added). */
  readonly #secrets = new WeakMap<object, ProviderSecrets>();
  readonly #writer: DeliveryWriter;

  constructor(private readonly deps: WebhookServiceDeps) {
    this.#writer = createDeliveryWriter(deps.store);
  }

  process(principal: Principal, delivery: WebhookDelivery): Promise<WebhookResult> {
    const { tracing } = this.deps;
    if (!tracing?.enabled) return this.#traced(principal, delivery);
    return tracing.delivery(
      { 'fraisier.webhook.provider': delivery.provider, ...(delivery.event ? { 'fraisier.webhook.event': delivery.event } : {}) },
      () => this.#traced(principal, delivery),
      (result) => ({
        'fraisier.webhook.outcome': result.duplicate ? 'duplicate' : (result.event?.outcome ?? 'ignored'),
        'fraisier.webhook.deployments': result.deployments.map((d) => d.id),
      }),
    );
  }

  async #traced(principal: Principal, delivery: WebhookDelivery): Promise<WebhookResult> {
    const resolved = this.deps.registry.resolve(delivery.provider);
    const label = resolved?.storedName ?? 'unknown';
    try {
      if (!resolved) throw new BadInputError(`unknown webhook provider ${shown(delivery.provider)} (known: ${this.deps.registry.names().join(', ')})`);
      const result = await this.#process(principal, resolved, delivery);
      this.deps.metrics.webhookDeliveries.inc({ provider: label, outcome: result.duplicate ? 'duplicate' : (result.event?.outcome ?? 'ignored') });
      return result;
    } catch (error) {
      this.deps.metrics.webhookDeliveries.inc({ provider: label, outcome: outcomeOfError(error) });
      throw error;
    }
  }

  async #process(principal: Principal, resolved: ResolvedProvider, delivery: WebhookDelivery): Promise<WebhookResult> {
    this.#authorize(principal, resolved);
    const headers = delivery.headers ?? {};
    const described = describeDelivery(resolved, headers);
    const deliveryId = delivery.deliveryId || described.deliveryId || null;
    // The bytes as received when the route has them: a body that is not valid UTF-8 would not
    // survive a round trip through a string, and its signature would no longer match.
    const body = delivery.body ?? Buffer.from(delivery.payload, 'utf8');

    const prepared = prepareDelivery(
      {
        config: this.deps.config,
        resolved,
        secrets: this.#secretsOf(resolved),
        ...(principal.kind === 'token' ? { mayDeploy: (f: string, e: string) => can(principal, 'deploy', f, e) } : {}),
      },
      {
        body,
        text: delivery.payload,
        headers,
        signature: delivery.signature || described.signature || null,
        event: delivery.event || described.event || null,
        deliveryId,
        sourceIp: delivery.sourceIp ?? null,
        now: this.deps.now(),
      },
    );
    if (prepared.kind === 'invalid') {
      // Debug only, and never the signature: refusals are cheap for whoever sends them.
      this.deps.logger.debug({ provider: resolved.storedName, deliveryId: deliveryId?.slice(0, 100), reason: prepared.reason }, 'webhook delivery refused');
      throw new InvalidSignatureError(prepared.reason);
    }

    const { write, reason } = prepared;
    const written = await this.#record(write);
    if ('duplicate' in written) return written.duplicate;
    const outcome = written.event.outcome as RoutingDecision['outcome'];
    this.#log(written, outcome);
    const { deployments, queued, notes } = written;
    if (deployments.length) await this.#afterCommit(written);
    const event = eventRecord(written.eventId, written.event, deployments[0]?.id ?? null);
    this.deps.bus.publish({ type: 'webhook', event });
    if (prepared.syntaxError) throw new BadInputError(prepared.syntaxError);
    return {
      accepted: outcome !== 'refused',
      duplicate: false,
      message: message(outcome, queued, reason, notes),
      event,
      deployments,
    };
  }

  /** Writes the delivery; for a redelivery, answers what the first delivery did. */
  async #record(write: DeliveryWrite): Promise<DeliveryWritten | { duplicate: WebhookResult }> {
    const outcome = await guardStore(() => this.#writer.write(write));
    if (!('duplicate' in outcome)) return outcome;
    const deliveryId = write.event.delivery_id!;
    const original = await guardStore(() => findWebhookEventByDelivery(this.deps.store.db, write.event.provider, deliveryId));
    // Recorded a moment ago by a concurrent copy, and visible now that it committed.
    if (original) return { duplicate: await this.#duplicate(original) };
    throw new StoreUnavailableError(`delivery ${shown(deliveryId, 80)} is recorded but could not be read back`);
  }

  async #duplicate(original: WebhookEventRecord): Promise<WebhookResult> {
    const deployments = await guardStore(() => listWebhookEventDeployments(this.deps.store.db, Number(original.id)));
    return {
      accepted: true,
      duplicate: true,
      message: `delivery ${shown(original.deliveryId ?? '', 80)} was already received (event ${original.id}, ${original.outcome}): nothing more to do`,
      event: original,
      deployments,
    };
  }

  /** The write is committed: tell the dispatcher and whoever watches the queue. Failures here lose nothing. */
  async #afterCommit({ queued, superseded, deployments, replaced, event, eventId }: DeliveryWritten): Promise<void> {
    const { metrics, bus, dispatch, store, logger } = this.deps;
    const delivery = { provider: event.provider, deliveryId: event.delivery_id ?? null, event: eventId };
    deployments.forEach((deployment, n) => bus.publish({ type: 'queued', deployment, superseded: replaced[n] ?? [], delivery }));
    if (queued) {
      metrics.deploymentsQueued.inc({ trigger: 'webhook' }, queued);
      dispatch.notify();
    }
    try {
      await announceCompleted(store.db, bus, superseded);
    } catch (error) {
      logger.warn({ err: error, superseded }, 'could not announce superseded deployments');
    }
  }

  #log(written: DeliveryWritten, outcome: RoutingDecision['outcome']): void {
    const { event } = written;
    const fields = { provider: event.provider, deliveryId: event.delivery_id, event: written.eventId, outcome, reason: event.reason };
    // A delivery that queued deployments is told by their "queued" lines, which carry its ids:
    // one line per push at info.
    if (outcome === 'ignored' || written.deployments.length > 0) this.deps.logger.debug(fields, 'webhook delivery recorded');
    else this.deps.logger.info(fields, outcome === 'accepted' ? 'webhook delivery accepted, nothing queued' : 'webhook delivery refused');
  }

  #authorize(principal: Principal, resolved: ResolvedProvider): void {
    if (principal.kind === 'webhook') {
      // The route vouches for the provider it received the delivery for, and no other.
      if (this.deps.registry.resolve(principal.provider)?.provider !== resolved.provider) {
        throw new ForbiddenError(`a delivery received for ${principal.provider} cannot be processed as ${resolved.storedName}`);
      }
      return;
    }
    assertCan(principal, 'deploy');
  }

  #secretsOf(resolved: ResolvedProvider): ProviderSecrets {
    let secrets = this.#secrets.get(resolved.provider);
    if (!secrets) this.#secrets.set(resolved.provider, (secrets = providerSecrets(this.deps.config, resolved)));
    return secrets;
  }
}

/** The `outcome` label of fraisier_webhook_deliveries_total for a delivery that ended in an error. */
function outcomeOfError(error: unknown): string {
  if (error instanceof StoreUnavailableError) return 'unavailable';
  if (!(error instanceof FraisierError)) return 'error';
  switch (error.code) {
    case 'INVALID_SIGNATURE':
      return 'invalid_signature';
    case 'BAD_USER_INPUT':
      return 'bad_request';
    case 'FORBIDDEN':
    case 'UNAUTHENTICATED':
      return 'forbidden';
    default:
      return error.code.toLowerCase();
  }
}

/** The answer's message: what was queued, and why some targets (or all) queued nothing. */
function message(outcome: RoutingDecision['outcome'], queued: number, reason: string, notes: string[]): string {
  if (outcome !== 'accepted') return notes.length ? notes.join('; ') : reason;
  const summary = `${plural(queued, 'deployment')} queued: ${reason}`;
  return notes.length ? `${summary}; ${notes.join('; ')}` : summary;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
