import type BetterSqlite3 from 'better-sqlite3';
import type { Deployment } from '../model.js';
import { deploymentRow, type NewDeployment, requestRow } from './deployment.repository.js';
import type { NewWebhookEvent } from './webhook-event.repository.js';

/*
 * Webhook deliveries written in batches on SQLite: one transaction, prepared statements, no
 * await between statements (the caller holds Kysely's single connection, see
 * Store.withSqlite). The same rows as the Kysely path (requestRow, deploymentRow), the same
 * rules: a delivery id seen before is a duplicate (no error, so the batch goes on), a new
 * deployment supersedes the PENDING ones of its pair. Profiling showed this write as the
 * largest cost of ingest; per delivery it is a few statements' worth of SQLite, no more.
 */

export interface DeliveryRows {
  event: NewWebhookEvent;
  /** In order; each gets the event's id once it is written. */
  deployments: NewDeployment[];
}

/** What the queue makes of the rows (the store does not decide it). */
export interface QueueViews {
  /** Builds the answer's view of a queued deployment. */
  queued: (id: number, row: NewDeployment) => Deployment;
  supersededReason: (newerId: number) => string;
}

export type BatchOutcome = { eventId: number; deployments: Deployment[]; superseded: number[] } | { duplicate: true };

const EVENT_COLUMNS = [
  'received_at',
  'provider',
  'event_type',
  'delivery_id',
  'repository',
  'ref',
  'branch',
  'tag',
  'commit_sha',
  'before_sha',
  'sender',
  'commit_message',
  'commit_author',
  'outcome',
  'reason',
  'processed',
  'source_ip',
  'payload',
] as const satisfies readonly (keyof NewWebhookEvent)[];
// Every column of a new event, or this does not compile: a column added to the table cannot be
// written by the Kysely path and silently dropped here.
const EVERY_EVENT_COLUMN: [Exclude<keyof NewWebhookEvent, (typeof EVENT_COLUMNS)[number]>] extends [never] ? true : never = true;
void EVERY_EVENT_COLUMN;

interface Statements {
  event: BetterSqlite3.Statement;
  request: BetterSqlite3.Statement;
  deployment: BetterSqlite3.Statement;
  supersede: BetterSqlite3.Statement;
  supersedeJob: BetterSqlite3.Statement;
  link: BetterSqlite3.Statement;
  requestColumns: string[];
  deploymentColumns: string[];
}

const prepared = new WeakMap<BetterSqlite3.Database, Statements>();

function statements(db: BetterSqlite3.Database): Statements {
  let s = prepared.get(db);
  if (s) return s;
  const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');
  // Column lists come from the row builders themselves: the two paths cannot drift apart.
  const sample: NewDeployment = { fraise: '', environment: '', kind: 'deploy', trigger: 'webhook', requestedBy: null, requestedAt: '', targetProvider: '', targetConfig: null };
  const requestColumns = Object.keys(requestRow(sample));
  const deploymentColumns = Object.keys(deploymentRow(sample, 0));
  const supersede = `UPDATE tb_deployment SET status = 'superseded', completed_at = ?, error_message = ?
     WHERE fraise = ? AND environment = ? AND status = 'pending' AND id < ?`;
  s = {
    event: db.prepare(
      `INSERT INTO tb_webhook_event (${EVENT_COLUMNS.join(', ')}) VALUES (${placeholders(EVENT_COLUMNS.length)})
       ON CONFLICT (provider, delivery_id) DO NOTHING RETURNING id`,
    ),
    request: db.prepare(`INSERT INTO tb_deployment_request (${requestColumns.join(', ')}) VALUES (${placeholders(requestColumns.length)}) RETURNING id`),
    deployment: db.prepare(`INSERT INTO tb_deployment (${deploymentColumns.join(', ')}) VALUES (${placeholders(deploymentColumns.length)}) RETURNING id`),
    supersede: db.prepare(`${supersede} AND job IS NULL RETURNING id`),
    supersedeJob: db.prepare(`${supersede} AND job = ? RETURNING id`),
    link: db.prepare('UPDATE tb_webhook_event SET fk_deployment = ? WHERE id = ?'),
    requestColumns,
    deploymentColumns,
  };
  prepared.set(db, s);
  return s;
}

/** Writes every delivery of `batch` in one transaction; all or nothing (then it throws). */
export function writeDeliveryBatch(db: BetterSqlite3.Database, batch: readonly DeliveryRows[], views: QueueViews): BatchOutcome[] {
  const s = statements(db);
  const run = db.transaction((): BatchOutcome[] =>
    batch.map((delivery): BatchOutcome => {
      const event = delivery.event as Record<string, unknown>;
      const inserted = s.event.get(EVENT_COLUMNS.map((c) => event[c] ?? null)) as { id: number } | undefined;
      if (!inserted) return { duplicate: true };
      const eventId = Number(inserted.id);
      const deployments: Deployment[] = [];
      const superseded: number[] = [];
      for (const input of delivery.deployments) {
        const row: NewDeployment = { ...input, webhookEventId: eventId };
        const request = requestRow(row) as Record<string, unknown>;
        const requestId = Number((s.request.get(s.requestColumns.map((c) => request[c])) as { id: number }).id);
        const deployment = deploymentRow(row, requestId) as Record<string, unknown>;
        const id = Number((s.deployment.get(s.deploymentColumns.map((c) => deployment[c])) as { id: number }).id);
        const base = [row.requestedAt, views.supersededReason(id), row.fraise, row.environment, id];
        const replaced = (row.job ? s.supersedeJob.all(...base, row.job) : s.supersede.all(...base)) as { id: number }[];
        superseded.push(...replaced.map((r) => Number(r.id)));
        deployments.push(views.queued(id, row));
      }
      if (deployments.length) s.link.run(Number(deployments[0]!.id), eventId);
      return { eventId, deployments, superseded };
    }),
  );
  // IMMEDIATE: the write lock is taken (or waited for) at BEGIN, as on every connection here.
  return run.immediate();
}
