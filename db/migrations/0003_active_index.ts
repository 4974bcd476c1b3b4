import type { Kysely } from 'kysely';

/*
 * The deployments of a pair that wait or run, found without reading the pair's history: every
 * push reads them to order its commit (deploymentHeads) and supersedes the pending ones. With
 * only (fraise, environment, id) and (status, id) to choose from, SQLite's planner takes the
 * pair's index and reads every deployment the pair ever had, per push. Frozen: change it in a
 * new migration.
 */

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('ix_deployment_pair_status').on('tb_deployment').columns(['fraise', 'environment', 'status', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('ix_deployment_pair_status').on('tb_deployment').execute();
}
