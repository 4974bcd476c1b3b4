import type { Logger } from 'pino';
import { secretValues } from '../config/notification-schemas.js';
import type { FraisierConfig, NotificationDestination } from '../config/types.js';
import type { Metrics } from '../metrics.js';
import type { AttemptOutcome } from '../model.js';
import {
  type ClaimedNotification,
  claimDueNotifications,
  disableDestination,
  nextNotificationDue,
  releaseNotification,
  type Settlement,
  settleNotification,
  settleUnsent,
} from '../store/notification.repository.js';
import type { Store } from '../store/store.js';
import { backoffMs } from './backoff.js';
import { channelFor } from './channels/registry.js';
import { fetchTransport, TransportError } from './http.js';
import { secretMasker } from './mask.js';
import type { NotificationOutbox } from './outbox.js';
import { allDestinations } from './routes.js';
import type { DeliveryResult, NotificationPayload, Transport } from './types.js';

/*
 * Sends what the outbox holds. It claims due rows under a lease (one sender per row, across
 * processes), sends each through its destination's channel, and settles it with the attempt
 * recorded: delivered; retried later (exponential backoff with full jitter, or the service's
 * Retry-After) until `give_up_after` has passed since the event, then failed; failed at once
 * when the service refuses it for good; disabled when the destination is gone. Rows of one
 * destination go one at a time, in order; destinations in parallel. Woken at once when this
 * process writes rows, it polls otherwise (rows written by other processes, retries coming due,
 * leases of dead senders expiring). Delivery is at least once: a sender killed after the
 * service answered and before settling sends again, with the same event id.
 */

export interface SenderOptions {
  store: Store;
  config: FraisierConfig;
  outbox: NotificationOutbox;
  logger: Logger;
  now: () => Date;
  instanceId: string;
  /** A claim holds its rows this long; a delivery is stopped at two thirds of it. */
  leaseMs: number;
  /** Longest sleep between two looks at the outbox. */
  pollMs: number;
  /** Injected for tests (default Math.random). */
  random?: () => number;
  /** Destinations sent to at once (default 4). */
  concurrency?: number;
  /** Rows claimed at a time (default 20). */
  batch?: number;
  metrics?: Metrics;
  /** How requests reach the network (default: fetch). */
  transport?: (timeoutMs: number, signal: AbortSignal) => Transport;
}

/** The least sleep after a look that found nothing to take (another sender took it): no spinning. */
const IDLE_FLOOR_MS = 25;

export class NotificationSender {
  readonly #destinations: Map<string, NotificationDestination>;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #stopping = false;
  #wakeUp: (() => void) | undefined;
  #woken = false;
  #unsubscribe: (() => void) | undefined;

  constructor(private readonly options: SenderOptions) {
    this.#destinations = allDestinations(options.config);
  }

  /** Starts sending (idempotent). */
  start(): void {
    if (this.#loop || this.#stopping) return;
    this.#unsubscribe = this.options.outbox.onWritten(() => this.wake());
    this.#loop = this.#run();
  }

  /** Looks at the outbox now. */
  wake(): void {
    this.#woken = true;
    this.#wakeUp?.();
  }

  /**
   * Stops the loop. Within `drainMs`, deliveries under way finish and what is due now is sent
   * once more (a one-shot CLI deployment's notifications get their first attempt before the
   * process exits); past it, deliveries are stopped, each recorded as an attempt to retry, due at
   * once. What stays pending is sent by the next sender that runs.
   */
  async stop(drainMs: number): Promise<void> {
    if (this.#stopping) return this.#stopped;
    this.#stopping = true;
    this.#unsubscribe?.();
    this.#wakeUp?.();
    if (!this.#loop) return;
    this.#stopped = (async () => {
      const timer = setTimeout(() => this.#stop.abort('shutdown'), drainMs);
      timer.unref();
      await this.#loop;
      while (!this.#stop.signal.aborted) {
        const claimed = await this.runDue().catch(() => 0);
        if (claimed === 0) break;
      }
      clearTimeout(timer);
    })();
    return this.#stopped;
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      let claimed = 0;
      try {
        claimed = await this.runDue();
      } catch (error) {
        this.options.logger.warn({ err: error }, 'could not read the notification outbox; retrying at the next poll');
        await this.#sleep(this.options.pollMs);
        continue;
      }
      if (claimed > 0) continue;
      await this.#sleep(await this.#untilNextDue());
    }
  }

  async #untilNextDue(): Promise<number> {
    const { store, now, pollMs } = this.options;
    try {
      const due = await nextNotificationDue(store.db, now().toISOString());
      if (due === undefined) return pollMs;
      return Math.min(pollMs, Math.max(IDLE_FLOOR_MS, Date.parse(due) - now().getTime()));
    } catch {
      return pollMs;
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#woken || this.#stopping) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakeUp = undefined;
        this.#woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakeUp = done;
    });
  }

  /**
   * Claims the rows due now and sends them; resolves with how many were claimed. The loop calls
   * it; tests call it directly with their own clock.
   */
  async runDue(): Promise<number> {
    const { store, now, leaseMs, instanceId, batch = 20, concurrency = 4 } = this.options;
    const at = now();
    const claimed = await claimDueNotifications(store.db, {
      owner: instanceId,
      now: at.toISOString(),
      leaseUntil: new Date(at.getTime() + leaseMs).toISOString(),
      limit: batch,
    });
    if (claimed.length === 0) return 0;
    // One destination's rows in order, one at a time; destinations side by side.
    const groups = new Map<string, ClaimedNotification[]>();
    for (const row of claimed) groups.set(row.destinationFingerprint, [...(groups.get(row.destinationFingerprint) ?? []), row]);
    const queue = [...groups.values()];
    const worker = async () => {
      for (let group = queue.shift(); group; group = queue.shift()) {
        for (const row of group) {
          if (this.#stop.signal.aborted) {
            await releaseNotification(store.db, row.id, row.lease).catch(() => {});
            continue;
          }
          await this.#deliver(row).catch((error: unknown) => this.options.logger.error({ err: error, notification: row.id }, 'could not record a notification attempt; it is sent again after its lease'));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    return claimed.length;
  }

  /** The destination of a row: by fingerprint, or (a secret rotated since) the same type at the same place. */
  #destinationOf(row: ClaimedNotification): NotificationDestination | undefined {
    const exact = this.#destinations.get(row.destinationFingerprint);
    if (exact) return exact;
    return [...this.#destinations.values()].find((d) => d.path === row.destinationPath && d.type === row.destinationType);
  }

  async #deliver(row: ClaimedNotification): Promise<void> {
    const { store, now, logger, leaseMs, config } = this.options;
    const destination = this.#destinationOf(row);
    const label = destination ? `${destination.type} ${destination.target}` : `${row.destinationType} (${row.destinationPath})`;
    const log = { notification: row.id, event: row.eventId, destination: label };
    const channel = destination && !destination.unavailable ? channelFor(destination, { now, timeoutMs: config.notifications.timeoutSeconds * 1000 }) : undefined;
    if (!destination || !channel) {
      const reason = !destination
        ? `its destination (${row.destinationType} at ${row.destinationPath}) is no longer in the configuration`
        : destination.unavailable
          ? 'its destination\'s secrets were not loaded'
          : `${row.destinationType} cannot be delivered`;
      await settleUnsent(store.db, row.id, row.lease, 'dropped', reason, now().toISOString());
      logger.warn({ ...log, reason }, 'notification dropped');
      return;
    }
    const mask = secretMasker(secretValues(destination.settings));
    const attempt = row.attempts + 1;
    const deadline = new AbortController();
    // Settled well before the lease ends, so that no other sender takes the row meanwhile.
    const timer = setTimeout(() => deadline.abort('the lease is running out'), Math.max(1, (leaseMs * 2) / 3));
    const signal = AbortSignal.any([deadline.signal, this.#stop.signal]);
    const startedAt = now();
    const began = performance.now();
    let result: DeliveryResult;
    try {
      const transport = (this.options.transport ?? fetchTransport)(config.notifications.timeoutSeconds * 1000, signal);
      result = await channel.deliver(JSON.parse(row.payload) as NotificationPayload, transport, signal);
    } catch (error) {
      const reason = error instanceof TransportError ? error.message : `error: ${(error as Error).message ?? String(error)}`;
      result = { outcome: { kind: 'retry', reason }, statusCode: null };
    } finally {
      clearTimeout(timer);
    }
    const durationMs = performance.now() - began;
    const ended = now();
    const { outcome } = result;
    let attemptOutcome: AttemptOutcome;
    let settlement: Settlement;
    let error: string | null = null;
    let retryAt: string | null = null;
    switch (outcome.kind) {
      case 'ok':
        if (outcome.warning) error = mask(outcome.warning);
        attemptOutcome = 'delivered';
        settlement = { status: 'delivered', completedAt: ended.toISOString() };
        break;
      case 'permanent':
        error = mask(outcome.reason);
        attemptOutcome = 'failed';
        settlement = { status: 'failed', completedAt: ended.toISOString(), lastError: error };
        break;
      case 'disable':
        error = mask(outcome.reason);
        attemptOutcome = 'disabled';
        settlement = { status: 'disabled', completedAt: ended.toISOString(), lastError: error };
        break;
      case 'retry': {
        error = mask(outcome.reason);
        const { retryInitialSeconds, retryMaxSeconds, giveUpAfterSeconds } = config.notifications;
        const stopped = this.#stop.signal.aborted;
        const delay = stopped ? 0 : (outcome.afterMs ?? backoffMs(attempt, { initialMs: retryInitialSeconds * 1000, maxMs: retryMaxSeconds * 1000 }, this.options.random ?? Math.random));
        const next = new Date(ended.getTime() + delay);
        const giveUpAt = Date.parse(row.createdAt) + giveUpAfterSeconds * 1000;
        if (next.getTime() > giveUpAt) {
          attemptOutcome = 'failed';
          const lastError = `gave up ${formatDuration(giveUpAfterSeconds)} after the event, after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${error}`;
          settlement = { status: 'failed', completedAt: ended.toISOString(), lastError };
        } else {
          attemptOutcome = 'retry';
          retryAt = next.toISOString();
          settlement = { status: 'pending', nextAttemptAt: retryAt, lastError: error };
        }
        break;
      }
    }
    const settled = await settleNotification(
      store.db,
      row.id,
      row.lease,
      { attempt, startedAt: startedAt.toISOString(), durationMs, outcome: attemptOutcome, statusCode: result.statusCode, error, retryAt, instance: this.options.instanceId },
      settlement,
    );
    if (outcome.kind === 'disable') {
      await disableDestination(store.db, { fingerprint: destination.fingerprint, type: destination.type, target: destination.target }, ended.toISOString(), error ?? 'gone');
    }
    this.options.metrics?.notificationAttempts.inc({ type: destination.type, outcome: attemptOutcome });
    const fields = { ...log, attempt, outcome: attemptOutcome, statusCode: result.statusCode, durationMs: Math.round(durationMs), ...(error ? { error } : {}), ...(retryAt ? { retryAt } : {}) };
    if (!settled) logger.warn(fields, 'notification attempt recorded, but another sender took the notification over meanwhile');
    else if (attemptOutcome === 'delivered') logger.info({ ...fields, ...(outcome.kind === 'ok' && outcome.detail ? { detail: outcome.detail } : {}) }, 'notification delivered');
    else if (attemptOutcome === 'retry') logger.warn(fields, 'notification not delivered; it will be tried again');
    else logger.error({ ...fields, lastError: settlement.lastError }, attemptOutcome === 'disabled' ? 'notification destination disabled' : 'notification failed');
  }
}

function formatDuration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
