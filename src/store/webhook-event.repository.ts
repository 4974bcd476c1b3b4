import type { Insertable, Kysely, Selectable } from 'kysely';
import type { Database, RecentWebhooksView, WebhookEventTable } from '../../db/database.js';
import { QueryTemplate } from '../../db/query-template.js';
import type { Deployment, WebhookEventRecord } from '../model.js';
import { toDeployment } from './deployment.repository.js';
import { dialectOf } from '../../db/dialect.js';
import type { Db } from './store.js';

/*
 * Recorded webhook deliveries: written once (with the deployments they queue, in the caller's
 * transaction), read newest first through v_recent_webhooks. (provider, delivery_id) is unique:
 * inserting a delivery twice fails with a unique violation, which is how a redelivery is told.
 */

export type NewWebhookEvent = Omit<Insertable<WebhookEventTable>, 'id' | 'fk_deployment'>;

/** Every column of a new delivery's row, in a fixed order (a template's slots). */
type EventColumns = { [K in keyof Required<NewWebhookEvent>]: Exclude<NewWebhookEvent[K], undefined> };

function eventValues(v: EventColumns) {
  return {
    received_at: v.received_at,
    provider: v.provider,
    event_type: v.event_type,
    delivery_id: v.delivery_id,
    repository: v.repository,
    ref: v.ref,
    branch: v.branch,
    tag: v.tag,
    commit_sha: v.commit_sha,
    before_sha: v.before_sha,
    sender: v.sender,
    commit_message: v.commit_message,
    commit_author: v.commit_author,
    outcome: v.outcome,
    reason: v.reason,
    processed: v.processed,
    source_ip: v.source_ip,
    payload: v.payload,
    fk_deployment: null,
  };
}

// Run for every delivery: built and compiled once (db/query-template.ts).
const insertEventOnce = new QueryTemplate((db: Kysely<Database>, v: EventColumns) =>
  db
    .insertInto('tb_webhook_event')
    .values(eventValues(v))
    .onConflict((oc) => oc.columns(['provider', 'delivery_id']).doNothing())
    .returning('id'),
);

// A no-op update on the duplicate. mysql2 counts it as a "found" row, so the row count does not
// tell; the insert id does: a new row's id, nothing for the duplicate.
const insertEventOnceMysql = new QueryTemplate((db: Kysely<Database>, v: EventColumns) =>
  db
    .insertInto('tb_webhook_event')
    .values(eventValues(v))
    .onDuplicateKeyUpdate((eb) => ({ id: eb.ref('id') })),
);

/**
 * Inserts a delivery unless (provider, delivery_id) is already there: its id, or undefined for
 * a redelivery. No error is raised for the duplicate, so that it can share a transaction with
 * other deliveries (a failed statement would abort a PostgreSQL transaction).
 */
export async function insertWebhookEventOnce(db: Db, event: NewWebhookEvent): Promise<number | undefined> {
  // The column's default, which a template cannot leave out.
  const values = (event.processed === undefined ? { ...event, processed: 0 } : event) as EventColumns;
  if (dialectOf(db) === 'mysql') {
    const result = await insertEventOnceMysql.execute(db, values);
    return result.insertId !== undefined && result.insertId > 0n ? Number(result.insertId) : undefined;
  }
  const row = (await insertEventOnce.execute(db, values)).rows[0];
  return row ? Number(row.id) : undefined;
}

/** Points a delivery at the first deployment it queued. */
export async function linkWebhookEventDeployment(db: Db, eventId: number, deploymentId: number): Promise<void> {
  await db.updateTable('tb_webhook_event').set({ fk_deployment: deploymentId }).where('id', '=', eventId).execute();
}

const settleEvent = new QueryTemplate(
  (db: Kysely<Database>, v: { id: number; deploymentId: number | null; outcome: string; reason: string | null; processed: number }) =>
    db
      .updateTable('tb_webhook_event')
      .set({ fk_deployment: v.deploymentId, outcome: v.outcome, reason: v.reason, processed: v.processed })
      .where('id', '=', v.id),
);

/**
 * What a delivery came to once its deployments were ordered against the queue: its first
 * deployment (null when none was written), and its outcome and reason when they changed (a
 * push whose commit was already deployed or queued queues nothing).
 */
export async function settleWebhookEvent(
  db: Db,
  eventId: number,
  settled: { deploymentId: number | null; outcome: string; reason: string | null; processed: number },
): Promise<void> {
  await settleEvent.execute(db, { id: eventId, deploymentId: settled.deploymentId, outcome: settled.outcome, reason: settled.reason, processed: settled.processed });
}

export async function listWebhookEvents(db: Db, options: { limit: number; beforeId?: number }): Promise<WebhookEventRecord[]> {
  let query = db.selectFrom('v_recent_webhooks').selectAll();
  if (options.beforeId !== undefined) query = query.where('id', '<', options.beforeId);
  const rows = await query.orderBy('id', 'desc').limit(options.limit).execute();
  return rows.map(toWebhookEvent);
}

export async function findWebhookEvent(db: Db, id: number): Promise<WebhookEventRecord | undefined> {
  const row = await db.selectFrom('v_recent_webhooks').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toWebhookEvent(row) : undefined;
}

/** The delivery recorded under this provider's delivery id, if any. */
export async function findWebhookEventByDelivery(db: Db, provider: string, deliveryId: string): Promise<WebhookEventRecord | undefined> {
  const row = await db
    .selectFrom('v_recent_webhooks')
    .selectAll()
    .where('provider', '=', provider)
    .where('delivery_id', '=', deliveryId)
    .executeTakeFirst();
  return row ? toWebhookEvent(row) : undefined;
}

/** Every deployment a delivery queued, oldest first. */
export async function listWebhookEventDeployments(db: Db, eventId: number): Promise<Deployment[]> {
  const rows = await db.selectFrom('v_deployment_history').selectAll().where('fk_webhook_event', '=', eventId).orderBy('id', 'asc').execute();
  return rows.map(toDeployment);
}

/** A delivery as the API shows it: from a v_recent_webhooks row, or from the row just written (see eventRecord). */
export function toWebhookEvent(row: WebhookEventSource): WebhookEventRecord {
  return {
    id: String(row.id),
    receivedAt: row.received_at,
    provider: row.provider,
    eventType: row.event_type,
    deliveryId: row.delivery_id ?? null,
    repository: row.repository ?? null,
    branch: row.branch ?? null,
    tag: row.tag ?? null,
    commitSha: row.commit_sha ?? null,
    sender: row.sender ?? null,
    commitMessage: row.commit_message ?? null,
    commitAuthor: row.commit_author ?? null,
    outcome: row.outcome,
    reason: row.reason ?? null,
    processed: Number(row.processed) === 1,
    deploymentId: row.deployment_id == null ? null : String(row.deployment_id),
  };
}

/** A view row; a row being inserted may leave its nullable columns out. */
type WebhookEventSource = Pick<Selectable<RecentWebhooksView>, 'id' | 'received_at' | 'provider' | 'event_type' | 'outcome' | 'processed'> &
  Partial<Omit<Selectable<RecentWebhooksView>, 'id' | 'received_at' | 'provider' | 'event_type' | 'outcome' | 'processed'>>;
