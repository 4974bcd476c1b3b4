import type { Kysely } from 'kysely';

/*
 * When the deployed commit was made (its committer date, ISO 8601 with its offset, as
 * `git show -s --format=%cI` prints it): the start of DORA's lead time for changes, which ends
 * at the deployment's SUCCESS. Null for deployments before this migration, jobs, and
 * deployments without a repository. Frozen: change it in a new migration.
 */

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tb_deployment').addColumn('commit_time', 'varchar(40)').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tb_deployment').dropColumn('commit_time').execute();
}
