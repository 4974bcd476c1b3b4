import type { Logger } from 'pino';
import { type EnqueueInput, enqueue, newDeployment, queuedDeployment, supersededBy } from '../deploy/queue.js';
import type { Deployment } from '../model.js';
import { type DeliveryRows, writeDeliveryBatch } from '../store/delivery-batch.sqlite.js';
import { isDeadlock } from '../store/dialect-sql.js';
import type { Db, Store } from '../store/store.js';
import { insertWebhookEventOnce, linkWebhookEventDeployment, type NewWebhookEvent } from '../store/webhook-event.repository.js';

/*
 * The one write of a webhook delivery: its row and the deployments it queues, in one
 * transaction, so a failure leaves neither (the provider's retry then finds nothing half
 * done). On SQLite, where one connection writes anyway, concurrent deliveries are committed
 * together (group commit): each delivery is answered only once its batch has committed, so
 * nothing acknowledged is ever lost, and a commit is paid once per batch instead of once per
 * delivery. A batch that fails is retried delivery by delivery, so one bad delivery cannot
 * take the others down with it.
 */

export interface DeliveryWrite {
  event: NewWebhookEvent;
  /** In order; each supersedes older PENDING deployments of its (fraise, environment). */
  deployments: Omit<EnqueueInput, 'webhookEventId'>[];
}

export interface DeliveryWritten {
  eventId: number;
  /** As queued (built from what was written: no read back). */
  deployments: Deployment[];
  /** PENDING deployments the new ones replaced. */
  superseded: number[];
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
  const superseded: number[] = [];
  for (const deployment of write.deployments) {
    const queued = await enqueue(trx, { ...deployment, webhookEventId: eventId });
    deployments.push(queued.deployment);
    superseded.push(...queued.superseded);
  }
  if (deployments.length) await linkWebhookEventDeployment(trx, eventId, Number(deployments[0]!.id));
  return { eventId, deployments, superseded };
}

/** Writes a delivery in a transaction of its own (READ COMMITTED on every dialect: see db/dialect.ts). */
export function recordDelivery(store: Store, write: DeliveryWrite): Promise<DeliveryOutcome> {
  return store.db.transaction().execute((trx) => writeOne(trx, write));
}

interface Pending {
  write: DeliveryWrite;
  resolve: (outcome: DeliveryOutcome) => void;
  reject: (error: unknown) => void;
}

/** The rows of a delivery for the SQLite batch writer. */
function rowsOf(write: DeliveryWrite): DeliveryRows {
  return { event: write.event, deployments: write.deployments.map((d) => newDeployment(d)) };
}

const QUEUE_VIEWS = { queued: queuedDeployment, supersededReason: supersededBy };

/** Deliveries written in one SQLite transaction at most. */
const MAX_BATCH = 256;

/**
 * SQLite: deliveries arriving while a batch is being written wait for the next one, which
 * takes up to MAX_BATCH of them in one transaction of prepared statements. PostgreSQL and
 * MySQL: one transaction per delivery, run in parallel on the connection pool.
 */
export function createDeliveryWriter(store: Store, logger: Logger): DeliveryWriter {
  const withSqlite = store.withSqlite;
  if (!withSqlite) {
    // Deliveries for one (fraise, environment) supersede each other's PENDING rows: run them
    // one after the other here rather than have the database detect their deadlocks (InnoDB
    // does, under load). Deliveries for other services still run in parallel, and the
    // deadlocks left (two copies of one delivery on the unique index) are retried.
    const lanes = new Lanes();
    return { write: (write) => lanes.run(laneKeys(write), () => retryDeadlocks(() => recordDelivery(store, write))) };
  }
  const queue: Pending[] = [];
  let writing = false;

  const flush = async (): Promise<void> => {
    writing = true;
    try {
      while (queue.length) {
        const batch = queue.splice(0, MAX_BATCH);
        try {
          const rows = batch.map((pending) => rowsOf(pending.write));
          const outcomes = await withSqlite((sqlite) => writeDeliveryBatch(sqlite, rows, QUEUE_VIEWS));
          batch.forEach((pending, i) => pending.resolve(outcomes[i]!));
        } catch (error) {
          if (batch.length > 1) logger.warn({ err: error, deliveries: batch.length }, 'a batch of webhook deliveries failed: writing them one by one');
          // Each on its own: the failing one fails alone, the others are written.
          for (const pending of batch) {
            if (batch.length === 1) {
              pending.reject(error);
              continue;
            }
            await recordDelivery(store, pending.write).then(pending.resolve, pending.reject);
          }
        }
      }
    } finally {
      writing = false;
    }
  };

  return {
    write(write) {
      return new Promise<DeliveryOutcome>((resolve, reject) => {
        queue.push({ write, resolve, reject });
        if (writing) return;
        // The first of a burst opens the batch; it is written once the event loop has read
        // what else arrived in the same turn (setImmediate runs after the poll phase), so
        // concurrent deliveries share one commit instead of each paying for its own.
        writing = true;
        setImmediate(() => void flush());
      });
    },
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
  readonly #tails = new Map<string, Promise<void>>();

  run<T>(keys: readonly string[], task: () => Promise<T>): Promise<T> {
    if (keys.length === 0) return task();
    const previous = keys.flatMap((key) => this.#tails.get(key) ?? []);
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    for (const key of keys) this.#tails.set(key, done);
    const settle = () => {
      release();
      for (const key of keys) if (this.#tails.get(key) === done) this.#tails.delete(key);
    };
    return Promise.all(previous).then(task).finally(settle);
  }
}
