import type { Kysely } from 'kysely';

/*
 * One run per cron occurrence, however many instances share the store. Each instance's scheduler
 * fires the same tick; the request of a scheduled run carries `<fraise>/<env>/<job>@<occurrence>`
 * and the unique index lets only the first insert in: the others fail and queue nothing. Manual
 * runs and deployments leave it null (every dialect lets several rows hold null under a unique
 * index). Frozen: change it in a new migration.
 */

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tb_deployment_request').addColumn('run_key', 'varchar(400)').execute();
  await db.schema.createIndex('ux_deployment_request_run_key').on('tb_deployment_request').column('run_key').unique().execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  // SQLite refuses to drop an indexed column: the index goes first.
  await db.schema.dropIndex('ux_deployment_request_run_key').on('tb_deployment_request').execute();
  await db.schema.alterTable('tb_deployment_request').dropColumn('run_key').execute();
}
