import type { Kysely } from 'kysely';
import { addId, longText, notNull, tableOptions } from './helpers.js';

/*
 * The notification outbox. tb_notification holds one row per (event, destination), written in
 * the transaction that recorded the event (a deployment's end, start or wait for approval), so
 * an event is never recorded without its notifications nor the other way round. A sender claims
 * due rows under a lease (as deployments are claimed), sends, and records every attempt in
 * tb_notification_attempt. tb_notification_destination remembers destinations that answered
 * "gone" (a deleted Slack channel): nothing more is sent to them. Frozen: change it in a new
 * migration.
 */

const NAME = 'varchar(128)';
const TIME = 'varchar(32)';

export async function up(db: Kysely<any>): Promise<void> {
  await tableOptions(
    db,
    addId(db, db.schema.createTable('tb_notification'))
      .addColumn('event_id', NAME, notNull)
      .addColumn('fk_deployment', 'bigint')
      .addColumn('fraise', NAME, notNull)
      .addColumn('environment', NAME, notNull)
      .addColumn('event', 'varchar(16)', notNull)
      .addColumn('payload', longText(db), notNull)
      .addColumn('destination_type', 'varchar(32)', notNull)
      .addColumn('destination_target', 'varchar(512)', notNull)
      .addColumn('destination_path', 'varchar(512)', notNull)
      .addColumn('destination_fingerprint', 'varchar(64)', notNull)
      .addColumn('status', 'varchar(16)', notNull)
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', TIME, notNull)
      .addColumn('next_attempt_at', TIME)
      .addColumn('lease_owner', NAME)
      .addColumn('lease_expires_at', TIME)
      .addColumn('completed_at', TIME)
      .addColumn('last_error', 'text'),
  ).execute();
  // One row per (event, destination): writing an event twice queues nothing twice.
  await db.schema.createIndex('ux_notification_event').on('tb_notification').columns(['event_id', 'destination_fingerprint']).unique().execute();
  await db.schema.createIndex('ix_notification_due').on('tb_notification').columns(['status', 'next_attempt_at']).execute();
  await db.schema.createIndex('ix_notification_deployment').on('tb_notification').columns(['fk_deployment', 'id']).execute();

  await tableOptions(
    db,
    addId(db, db.schema.createTable('tb_notification_attempt'))
      .addColumn('fk_notification', 'bigint', (c) => c.notNull().references('tb_notification.id'))
      .addColumn('attempt', 'integer', notNull)
      .addColumn('started_at', TIME, notNull)
      .addColumn('duration_ms', 'integer', notNull)
      .addColumn('outcome', 'varchar(16)', notNull)
      .addColumn('status_code', 'integer')
      .addColumn('error', 'text')
      .addColumn('retry_at', TIME)
      .addColumn('instance', NAME),
  ).execute();
  await db.schema.createIndex('ix_notification_attempt').on('tb_notification_attempt').columns(['fk_notification', 'attempt']).execute();

  await tableOptions(
    db,
    db.schema
      .createTable('tb_notification_destination')
      .addColumn('fingerprint', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('destination_type', 'varchar(32)', notNull)
      .addColumn('destination_target', 'varchar(512)', notNull)
      .addColumn('disabled_at', TIME, notNull)
      .addColumn('reason', 'text'),
  ).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('tb_notification_destination').ifExists().execute();
  await db.schema.dropTable('tb_notification_attempt').ifExists().execute();
  await db.schema.dropTable('tb_notification').ifExists().execute();
}
