import type { Kysely } from 'kysely';

/*
 * Where the traffic goes, recorded with the progress event that moved it (a blue-green switch,
 * a canary step): JSON, a list of {slot, port, version, weight}; null on every other event.
 * Frozen: change it in a new migration.
 */

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tb_deployment_progress').addColumn('traffic', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tb_deployment_progress').dropColumn('traffic').execute();
}
