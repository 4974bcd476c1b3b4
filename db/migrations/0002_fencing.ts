import type { Kysely } from 'kysely';
import { notNull, tableOptions } from './helpers.js';

/*
 * Fencing and leftover processes. A claim takes the next generation of its lock key (a counter
 * per (fraise, environment[, job]) in tb_target_fence) and keeps it on the deployment row
 * (`fence`): writes of a stale holder, whose generation is no longer the row's, are refused.
 * The process group of the command a deployment is running is recorded on its row, so that a
 * restarted Fraisier can end what a dead one left running. Frozen: change it in a new migration.
 */

export async function up(db: Kysely<any>): Promise<void> {
  await tableOptions(
    db,
    db.schema
      .createTable('tb_target_fence')
      .addColumn('lock_key', 'varchar(320)', (c) => c.notNull().primaryKey())
      .addColumn('generation', 'bigint', notNull),
  ).execute();
  await db.schema.alterTable('tb_deployment').addColumn('fence', 'bigint').execute();
  await db.schema.alterTable('tb_deployment').addColumn('process_group', 'integer').execute();
  await db.schema.alterTable('tb_deployment').addColumn('process_identity', 'varchar(128)').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tb_deployment').dropColumn('process_identity').execute();
  await db.schema.alterTable('tb_deployment').dropColumn('process_group').execute();
  await db.schema.alterTable('tb_deployment').dropColumn('fence').execute();
  await db.schema.dropTable('tb_target_fence').ifExists().execute();
}
