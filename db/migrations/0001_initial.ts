import { type Kysely, sql } from 'kysely';
import { addId, longText, notNull, tableOptions } from './helpers.js';

/*
 * The first schema: the PRD's four tables, plus what webhooks and deployments need (progress
 * events with a per-deployment sequence, delivery ids unique per provider, leases, daily stats),
 * and the four read views. Frozen: change the schema in a new migration.
 */

const NAME = 'varchar(128)';
const TIME = 'varchar(32)';

export async function up(db: Kysely<any>): Promise<void> {
  await tableOptions(
    db,
    addId(db, db.schema.createTable('tb_webhook_event'))
      .addColumn('received_at', TIME, notNull)
      .addColumn('provider', 'varchar(64)', notNull)
      .addColumn('event_type', 'varchar(128)', notNull)
      .addColumn('delivery_id', 'varchar(255)')
      .addColumn('repository', 'varchar(512)')
      .addColumn('ref', 'varchar(1024)')
      .addColumn('branch', 'varchar(1024)')
      .addColumn('tag', 'varchar(1024)')
      .addColumn('commit_sha', 'varchar(64)')
      .addColumn('before_sha', 'varchar(64)')
      .addColumn('sender', 'varchar(255)')
      .addColumn('commit_message', longText(db))
      .addColumn('commit_author', 'varchar(512)')
      .addColumn('outcome', 'varchar(16)', notNull)
      .addColumn('reason', 'text')
      .addColumn('processed', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('source_ip', 'varchar(64)')
      .addColumn('payload', longText(db))
      .addColumn('fk_deployment', 'bigint'),
  ).execute();
  await db.schema
    .createIndex('ux_webhook_event_delivery')
    .on('tb_webhook_event')
    .columns(['provider', 'delivery_id'])
    .unique()
    .execute();

  await tableOptions(
    db,
    addId(db, db.schema.createTable('tb_deployment_request'))
      .addColumn('fraise', NAME, notNull)
      .addColumn('environment', NAME, notNull)
      .addColumn('kind', 'varchar(16)', notNull)
      .addColumn('requested_at', TIME, notNull)
      .addColumn('requested_by', 'varchar(255)')
      .addColumn('trigger_type', 'varchar(16)', notNull)
      .addColumn('git_branch', 'varchar(1024)')
      .addColumn('git_commit', 'varchar(64)')
      .addColumn('to_version', 'varchar(255)')
      .addColumn('job', NAME)
      .addColumn('force', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('fk_webhook_event', 'bigint', (c) => c.references('tb_webhook_event.id'))
      .addColumn('context', longText(db)),
  ).execute();
  await db.schema.createIndex('ix_request_webhook_event').on('tb_deployment_request').column('fk_webhook_event').execute();

  await tableOptions(
    db,
    addId(db, db.schema.createTable('tb_deployment'))
      .addColumn('fk_request', 'bigint', (c) => c.notNull().references('tb_deployment_request.id'))
      .addColumn('fraise', NAME, notNull)
      .addColumn('environment', NAME, notNull)
      .addColumn('job', NAME)
      .addColumn('status', 'varchar(16)', notNull)
      .addColumn('requested_at', TIME, notNull)
      .addColumn('started_at', TIME)
      .addColumn('completed_at', TIME)
      .addColumn('duration_seconds', 'double precision')
      .addColumn('old_version', 'varchar(255)')
      .addColumn('new_version', 'varchar(255)')
      .addColumn('git_commit', 'varchar(64)')
      .addColumn('git_branch', 'varchar(1024)')
      .addColumn('target_provider', 'varchar(64)', notNull)
      .addColumn('target_config', 'text')
      .addColumn('error_message', 'text')
      .addColumn('details', longText(db))
      .addColumn('lock_key', 'varchar(320)')
      .addColumn('host_slot', 'varchar(320)')
      .addColumn('lease_owner', 'varchar(128)')
      .addColumn('lease_expires_at', TIME)
      .addColumn('heartbeat_at', TIME)
      .addColumn('touched_at', TIME)
      .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0)),
  ).execute();
  await db.schema.createIndex('ux_deployment_request').on('tb_deployment').column('fk_request').unique().execute();
  // One deployment IN_PROGRESS per (fraise, environment): NULLs are distinct on every dialect.
  await db.schema.createIndex('ux_deployment_lock').on('tb_deployment').column('lock_key').unique().execute();
  // Per-host concurrency across instances: a running deployment holds one of its host's slots.
  await db.schema.createIndex('ux_deployment_host_slot').on('tb_deployment').column('host_slot').unique().execute();
  await db.schema.createIndex('ix_deployment_pair').on('tb_deployment').columns(['fraise', 'environment', 'id']).execute();
  await db.schema.createIndex('ix_deployment_fraise').on('tb_deployment').columns(['fraise', 'id']).execute();
  await db.schema.createIndex('ix_deployment_status').on('tb_deployment').columns(['status', 'id']).execute();

  await tableOptions(
    db,
    addId(db, db.schema.createTable('tb_deployment_progress'))
      .addColumn('fk_deployment', 'bigint', (c) => c.notNull().references('tb_deployment.id'))
      .addColumn('sequence', 'integer', notNull)
      .addColumn('step', 'varchar(64)', notNull)
      .addColumn('progress', 'integer', notNull)
      .addColumn('message', 'text')
      .addColumn('created_at', TIME, notNull),
  ).execute();
  await db.schema
    .createIndex('ux_progress_sequence')
    .on('tb_deployment_progress')
    .columns(['fk_deployment', 'sequence'])
    .unique()
    .execute();

  await tableOptions(
    db,
    addId(db, db.schema.createTable('tb_fraise_state'))
      .addColumn('fraise', NAME, notNull)
      .addColumn('environment', NAME, notNull)
      .addColumn('current_version', 'varchar(255)')
      .addColumn('last_deployed_at', TIME)
      .addColumn('last_deployed_by', 'varchar(255)')
      .addColumn('status', 'varchar(16)', (c) => c.notNull().defaultTo('unknown'))
      .addColumn('target_provider', 'varchar(64)')
      .addColumn('fk_last_deployment', 'bigint')
      .addColumn('updated_at', TIME, notNull),
  ).execute();
  await db.schema.createIndex('ux_fraise_state_pair').on('tb_fraise_state').columns(['fraise', 'environment']).unique().execute();

  await tableOptions(
    db,
    db.schema
      .createTable('tb_deployment_daily_stats')
      .addColumn('day', 'varchar(10)', notNull)
      .addColumn('fraise', NAME, notNull)
      .addColumn('environment', NAME, notNull)
      .addColumn('total', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('successful', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('failed', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('rolled_back', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('duration_sum', 'double precision', (c) => c.notNull().defaultTo(0))
      .addColumn('duration_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('pk_deployment_daily_stats', ['day', 'fraise', 'environment']),
  ).execute();

  // The read side. Plain SQL that means the same on the three dialects (no ||, no date functions).
  await sql`
    CREATE VIEW v_deployment_history AS
    SELECT d.id, d.fraise, d.environment, d.job, d.status, r.trigger_type, r.requested_by, r.kind,
           r.fk_webhook_event, d.requested_at, COALESCE(d.started_at, d.requested_at) AS started_at,
           d.completed_at, d.duration_seconds, d.old_version, d.new_version, d.git_commit, d.git_branch,
           d.target_provider, d.target_config, d.error_message
    FROM tb_deployment d
    JOIN tb_deployment_request r ON r.id = d.fk_request`.execute(db);

  await sql`
    CREATE VIEW v_fraise_status AS
    SELECT fs.fraise, fs.environment, fs.current_version, fs.status, fs.target_provider,
           fs.last_deployed_at, fs.last_deployed_by, d.id AS last_deployment_id,
           d.status AS last_deployment_status, d.duration_seconds AS last_deploy_duration,
           d.git_commit AS last_git_commit
    FROM tb_fraise_state fs
    LEFT JOIN tb_deployment d ON d.id = (
      SELECT MAX(d2.id) FROM tb_deployment d2
      WHERE d2.fraise = fs.fraise AND d2.environment = fs.environment
    )`.execute(db);

  await sql`
    CREATE VIEW v_deployment_stats AS
    SELECT day, fraise, environment, total, successful, failed, rolled_back, duration_sum, duration_count
    FROM tb_deployment_daily_stats`.execute(db);

  await sql`
    CREATE VIEW v_recent_webhooks AS
    SELECT e.id, e.received_at, e.provider, e.event_type, e.delivery_id, e.repository, e.branch, e.tag,
           e.commit_sha, e.sender, e.commit_message, e.commit_author, e.outcome, e.reason, e.processed,
           e.fk_deployment AS deployment_id
    FROM tb_webhook_event e`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const view of ['v_recent_webhooks', 'v_deployment_stats', 'v_fraise_status', 'v_deployment_history']) {
    await db.schema.dropView(view).ifExists().execute();
  }
  for (const table of [
    'tb_deployment_daily_stats',
    'tb_fraise_state',
    'tb_deployment_progress',
    'tb_deployment',
    'tb_deployment_request',
    'tb_webhook_event',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
