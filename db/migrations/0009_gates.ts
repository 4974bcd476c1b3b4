import { type Kysely, sql } from 'kysely';
import { addId, longText, notNull, tableOptions } from './helpers.js';

/*
 * Gates (protection rules, docs/gates.md): a queued deployment of a protected environment may
 * wait (status `waiting`) before it starts. On tb_deployment:
 *   gates               JSON of the last GateState[] recorded (null: unprotected, or never evaluated)
 *   waiting_since       when it first waited (the approvals timeout counts from it)
 *   wake_at             while waiting: when the verdict may change by time alone
 *   freeze_override_by  the admin token whose forced deploy goes through a freeze
 *   gate_version        bumped by every verdict and decision recorded: a compare-and-set, so that
 *                       of two instances evaluating the same deployment one records it, once
 * tb_deployment_approval holds each approver's decision (one per deployment and actor). The
 * history view shows the gates and until when it waits. Frozen: change it in a new migration.
 */

const NAME = 'varchar(200)';
const TIME = 'varchar(32)';

const HISTORY_WITHOUT_GATES = sql`
    CREATE VIEW v_deployment_history AS
    SELECT d.id, d.fraise, d.environment, d.job, d.status, r.trigger_type, r.requested_by, r.kind,
           r.fk_webhook_event, d.requested_at, COALESCE(d.started_at, d.requested_at) AS started_at,
           d.completed_at, d.duration_seconds, d.old_version, d.new_version, d.git_commit, d.git_branch,
           d.target_provider, d.target_config, d.error_message, d.paused_until, d.pause_message, d.promoted_by
    FROM tb_deployment d
    JOIN tb_deployment_request r ON r.id = d.fk_request`;

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tb_deployment').addColumn('gates', longText(db)).execute();
  await db.schema.alterTable('tb_deployment').addColumn('waiting_since', TIME).execute();
  await db.schema.alterTable('tb_deployment').addColumn('wake_at', TIME).execute();
  await db.schema.alterTable('tb_deployment').addColumn('freeze_override_by', NAME).execute();
  await db.schema.alterTable('tb_deployment').addColumn('gate_version', 'integer', (c) => c.notNull().defaultTo(0)).execute();

  await tableOptions(
    db,
    addId(db, db.schema.createTable('tb_deployment_approval'))
      .addColumn('fk_deployment', 'bigint', (c) => c.notNull().references('tb_deployment.id'))
      .addColumn('actor', NAME, notNull)
      .addColumn('decision', 'varchar(16)', notNull)
      .addColumn('comment', 'text')
      .addColumn('at', TIME, notNull),
  ).execute();
  // One decision per approver and deployment: a second one is refused by the store itself.
  await db.schema.createIndex('ux_deployment_approval').on('tb_deployment_approval').columns(['fk_deployment', 'actor']).unique().execute();

  await db.schema.dropView('v_deployment_history').ifExists().execute();
  await sql`
    CREATE VIEW v_deployment_history AS
    SELECT d.id, d.fraise, d.environment, d.job, d.status, r.trigger_type, r.requested_by, r.kind,
           r.fk_webhook_event, d.requested_at, COALESCE(d.started_at, d.requested_at) AS started_at,
           d.completed_at, d.duration_seconds, d.old_version, d.new_version, d.git_commit, d.git_branch,
           d.target_provider, d.target_config, d.error_message, d.paused_until, d.pause_message, d.promoted_by,
           d.gates, d.wake_at
    FROM tb_deployment d
    JOIN tb_deployment_request r ON r.id = d.fk_request`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropView('v_deployment_history').ifExists().execute();
  await HISTORY_WITHOUT_GATES.execute(db);
  await db.schema.dropTable('tb_deployment_approval').ifExists().execute();
  for (const column of ['gate_version', 'freeze_override_by', 'wake_at', 'waiting_since', 'gates']) {
    await db.schema.alterTable('tb_deployment').dropColumn(column).execute();
  }
}
