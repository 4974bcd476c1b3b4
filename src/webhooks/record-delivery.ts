import { enqueuePush, type PushEnqueueInput } from '../deploy/queue.js';
import type { Deployment } from '../model.js';
import { isDeadlock } from '../store/driver-errors.js';
import { type Db, isTransientStoreError, type Store } from '../store/store.js';
import { insertWebhookEventOnce, type NewWebhookEvent, settleWebhookEvent } from '../store/webhook-event.repository.js';
import { MAX_REASON_CHARS } from './delivery-write.js';
import { storable } from './text.js';

/*
 * The one write of a webhook delivery: its row and the deployments it queues, in one
 * transaction, so a failure leaves neither (the provider's retry then finds nothing half
 * done). A delivery is answered only once its transaction committed: nothing acknowledged is
 * ever lost. On SQLite, which has one writer, deliveries that arrive while a write is under way
 * are committed together in the next transaction (group commit).
 */

export interface DeliveryWrite {
  event: NewWebhookEvent;
  /**
   * In order; each supersedes older PENDING deployments of its (fraise, environment), unless
   * its commit is already deployed or queued there, or older than one that is.
   */
  deployments: Omit<PushEnqueueInput, 'webhookEventId'>[];
}

export interface DeliveryWritten {
  eventId: number;
  /** The delivery's row as it stands written (outcome and reason as the queue settled them). */
  event: NewWebhookEvent;
  /** As written (built from what was written: no read back): PENDING, or SUPERSEDED when older. */
  deployments: Deployment[];
  /** For each of `deployments`, the PENDING ones it replaced. */
  replaced: number[][];
  /** How many of them wait in the queue. */
  queued: number;
  /** Deployments that ended without running: those the new ones replaced, and those found older. */
  superseded: number[];
  /** Why targets queued nothing: already deployed or queued, or older than what is. */
  notes: string[];
}

/** What writing a delivery did: written, or found it already recorded (a redelivery). */
export type DeliveryOutcome = DeliveryWritten | { duplicate: true };

export interface DeliveryWriter {
  write(delivery: DeliveryWrite): Promise<DeliveryOutcome>;
}

/** Writes one delivery inside `trx`. */
async function writeOne(trx: Db, write: DeliveryWrite): Promise<DeliveryOutcome> {
  const eventId = await insertWebhookEventOnce(trx, write.event);
  if (eventId === undefined) return { duplicate: true };
  const deployments: Deployment[] = [];
  const replaced: number[][] = [];
  const superseded: number[] = [];
  const notes: string[] = [];
  let queued = 0;
  for (const deployment of write.deployments) {
    const written = await enqueuePush(trx, { ...deployment, webhookEventId: eventId });
    if ('replay' in written) {
      notes.push(written.replay);
      continue;
    }
    deployments.push(written.deployment);
    replaced.push(written.superseded);
    superseded.push(...written.superseded);
    if (written.older === undefined) queued++;
    else {
      notes.push(written.older);
      superseded.push(written.id);
    }
  }
  let event = write.event;
  if (notes.length) {
    // Nothing waits in the queue for it: recorded as ignored, with why.
    const reason = queued ? `${write.event.reason ?? ''}; ${notes.join('; ')}` : notes.join('; ');
    event = { ...write.event, reason: storable(reason, MAX_REASON_CHARS), ...(queued ? {} : { outcome: 'ignored', processed: 0 }) };
  }
  if (deployments.length || notes.length) {
    await settleWebhookEvent(trx, eventId, {
      deploymentId: deployments.length ? Number(deployments[0]!.id) : null,
      outcome: event.outcome,
      reason: event.reason ?? null,
      processed: Number(event.processed ?? 0),
    });
  }
  return { eventId, event, deployments, replaced, queued, superseded, notes };
}


/** Writes a delivery in a transaction of its own (READ COMMITTED on every dialect: see db/dialect.ts). */
export function recordDelivery(store: Store, write: DeliveryWrite): Promise<DeliveryOutcome> {
  return store.db.transaction().execute((trx) => writeOne(trx, write));
}

/**
 * SQLite: deliveries queue while a transaction is being written, and the next transaction
 * takes up to MAX_BATCH of them. PostgreSQL and MySQL: a transaction per delivery, in parallel
 * on the pool, except that deliveries for one (fraise, environment), which supersede each
 * other's PENDING rows, are written one after the other here rather than have the database
 * detect their deadlocks (InnoDB does, under load); the deadlocks left (two copies of one
 * delivery on the unique index) are retried.
 */
export function createDeliveryWriter(store: Store): DeliveryWriter {
  if (store.dialect === 'sqlite') return groupCommitting(store);
  const lanes = new Lanes();
  return { write: (write) => lanes.run(laneKeys(write), () => retryDeadlocks(() => recordDelivery(store, write))) };
}


/** Deliveries written in one SQLite transaction at most. */
const MAX_BATCH = 256;

interface Pending {
  write: DeliveryWrite;
  resolve: (outcome: DeliveryOutcome) => void;
  reject: (error: unknown) => void;
}

function groupCommitting(store: Store): DeliveryWriter {
  const queue: Pending[] = [];
  let writing = false;
  const flush = async (): Promise<void> => {
    while (queue.length) {
      const batch = queue.splice(0, MAX_BATCH);
      try {
        const outcomes = await store.db.transaction().execute(async (trx) => {
          const written: DeliveryOutcome[] = [];
          for (const pending of batch) written.push(await writeOne(trx, pending.write));
          return written;
        });
        batch.forEach((pending, i) => pending.resolve(outcomes[i]!));
      } catch (error) {
        // The store is unavailable: the batch, and what queued behind it meanwhile, is answered
        // so at once (503; the senders retry) rather than wait for the deadline once more.
        if (isTransientStoreError(error)) {
          for (const pending of [...batch, ...queue.splice(0)]) pending.reject(error);
          continue;
        }
        // Otherwise one delivery may be at fault: each is written again on its own.
        if (batch.length === 1) {
          batch[0]!.reject(error);
          continue;
        }
        for (const pending of batch) await recordDelivery(store, pending.write).then(pending.resolve, pending.reject);
      }
    }
    writing = false;
  };
  return {
    write: (write) =>
      new Promise<DeliveryOutcome>((resolve, reject) => {
        queue.push({ write, resolve, reject });
        if (writing) return;
        // The first of a burst opens the batch; it is written once the event loop has read
        // what else arrived in the same turn (setImmediate runs after the poll phase).
        writing = true;
        setImmediate(() => void flush());
      }),
  };
}

const MAX_ATTEMPTS = 8;

/** Runs a transaction again when the database chose it as a deadlock victim, with backoff and jitter. */
async function retryDeadlocks<T>(transaction: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !isDeadlock(error)) throw error;
      // 2, 4, 8 ... ms, so that the colliding writers part.
      await new Promise((resolve) => setTimeout(resolve, (1 + Math.random()) * 2 ** attempt));
    }
  }
}

function laneKeys(write: DeliveryWrite): string[] {
  return [...new Set(write.deployments.map((d) => `${d.fraise}\u0000${d.environment}`))];
}

/**
 * Runs tasks one after the other per key, in arrival order; a task with several keys waits for
 * the previous task of each. Tasks on disjoint keys run concurrently.
 */
class Lanes {
  /** Per key, the end of the last task queued: with the error that stopped it when the store was unavailable. */
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(keys: readonly string[], task: () => Promise<T>): Promise<T> {
    if (keys.length === 0) return task();
    const previous = keys.flatMap((key) => this.#tails.get(key) ?? []);
    let release!: (unavailable: unknown) => void;
    const done = new Promise<unknown>((resolve) => (release = resolve));
    for (const key of keys) this.#tails.set(key, done);
    const settle = (unavailable: unknown) => {
      release(unavailable);
      for (const key of keys) if (this.#tails.get(key) === done) this.#tails.delete(key);
    };
    const run = async (): Promise<T> => {
      // The store became unavailable while this delivery waited: it is answered so at once (503)
      // rather than wait for the store's deadline once more behind each earlier delivery.
      const unavailable = (await Promise.all(previous)).find((error) => error !== undefined);
      if (unavailable !== undefined) throw unavailable;
      return task();
    };
    return run().then(
      (result) => {
        settle(undefined);
        return result;
      },
      (error: unknown) => {
        settle(isTransientStoreError(error) ? error : undefined);
        throw error;
      },
    );
  }
}
