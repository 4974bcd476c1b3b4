import { type Kysely, sql } from 'kysely';

/*
 * Pause, resume and promote a running deployment, from whichever instance: an operator's request
 * is written on the deployment's row (as cancel_requested is), and the instance that runs it
 * reads it when told (in process, or LISTEN/NOTIFY on PostgreSQL) and at every lease renewal.
 *   pause_requested_by   who wants it paused (null: nobody); resume and promote clear it
 *   resume_requested_by  who asked to release the current pause; the holder clears it
 *   promoted_by          who promoted it (sticky): the remaining steps and pauses are skipped
 *   paused_until         while PAUSED by a timed hold: when it ends
 *   pause_message        while PAUSED: why
 * The history view shows the last three. Frozen: change it in a new migration.
 */

const HISTORY_WITHOUT_CONTROL = sql`
    CREATE VIEW v_deployment_history AS
    SELECT d.id, d.fraise, d.environment, d.job, d.status, r.trigger_type, r.requested_by, r.kind,
           r.fk_webhook_event, d.requested_at, COALESCE(d.started_at, d.requested_at) AS started_at,
           d.completed_at, d.duration_seconds, d.old_version, d.new_version, d.git_commit, d.git_branch,
           d.target_provider, d.target_config, d.error_message
    FROM tb_deployment d
    JOIN tb_deployment_request r ON r.id = d.fk_request`;

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tb_deployment').addColumn('pause_requested_by', 'varchar(200)').execute();
  await db.schema.alterTable('tb_deployment').addColumn('resume_requested_by', 'varchar(200)').execute();
  await db.schema.alterTable('tb_deployment').addColumn('promoted_by', 'varchar(200)').execute();
  await db.schema.alterTable('tb_deployment').addColumn('paused_until', 'varchar(32)').execute();
  await db.schema.alterTable('tb_deployment').addColumn('pause_message', 'varchar(1000)').execute();
  await db.schema.dropView('v_deployment_history').ifExists().execute();
  await sql`
    CREATE VIEW v_deployment_history AS
    SELECT d.id, d.fraise, d.environment, d.job, d.status, r.trigger_type, r.requested_by, r.kind,
           r.fk_webhook_event, d.requested_at, COALESCE(d.started_at, d.requested_at) AS started_at,
           d.completed_at, d.duration_seconds, d.old_version, d.new_version, d.git_commit, d.git_branch,
           d.target_provider, d.target_config, d.error_message, d.paused_until, d.pause_message, d.promoted_by
    FROM tb_deployment d
    JOIN tb_deployment_request r ON r.id = d.fk_request`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropView('v_deployment_history').ifExists().execute();
  await HISTORY_WITHOUT_CONTROL.execute(db);
  for (const column of ['pause_message', 'paused_until', 'promoted_by', 'resume_requested_by', 'pause_requested_by']) {
    await db.schema.alterTable('tb_deployment').dropColumn(column).execute();
  }
}
