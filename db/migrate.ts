import { type Kysely, type Migration, type MigrationResultSet, Migrator, sql } from 'kysely';
import type { Database } from './database.js';
import { dialectOf } from './dialect.js';
import * as m0001 from './migrations/0001_initial.js';
import * as m0002 from './migrations/0002_fencing.js';
import * as m0003 from './migrations/0003_active_index.js';
import * as m0004 from './migrations/0004_job_run_key.js';
import * as m0005 from './migrations/0005_deployment_control.js';
import * as m0006 from './migrations/0006_progress_traffic.js';
import * as m0007 from './migrations/0007_notification_outbox.js';
import * as m0008 from './migrations/0008_commit_time.js';
import * as m0009 from './migrations/0009_gates.js';

/** Every migration, in order. Names are frozen once released. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_fencing': m0002,
  '0003_active_index': m0003,
  '0004_job_run_key': m0004,
  '0005_deployment_control': m0005,
  '0006_progress_traffic': m0006,
  '0007_notification_outbox': m0007,
  '0008_commit_time': m0008,
  '0009_gates': m0009,
};

export const MIGRATION_TABLE = 'tb_schema_migration';
export const MIGRATION_LOCK_TABLE = 'tb_schema_migration_lock';

function migrator(db: Kysely<Database>, disableTransactions = false): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
    disableTransactions,
  });
}

/**
 * Kysely takes no lock on SQLite (it assumes one connection) and opens a deferred transaction, so
 * two processes can both read "nothing applied" and both create the tables. On SQLite the whole
 * run happens inside `BEGIN IMMEDIATE` on one connection instead: the second process waits for
 * the write lock (busy_timeout), then reads the bookkeeping the first one committed.
 */
async function migrateSqlite(db: Kysely<Database>): Promise<MigrationResultSet> {
  return db.connection().execute(async (connection) => {
    await sql`begin immediate`.execute(connection);
    let result: MigrationResultSet;
    try {
      result = await migrator(connection, true).migrateToLatest();
    } catch (error) {
      await sql`rollback`.execute(connection);
      throw error;
    }
    await sql.raw(result.error ? 'rollback' : 'commit').execute(connection);
    return result;
  });
}


export interface MigrationStatus {
  name: string;
  executedAt: Date | null;
}

/**
 * Applies the pending migrations. Safe to run twice, and from several processes at once: Kysely
 * holds a lock while migrating (an advisory lock on PostgreSQL, GET_LOCK on MySQL; on SQLite we
 * hold the write lock ourselves, see migrateSqlite); the one race it leaves (two processes creating the bookkeeping tables
 * at the same moment) fails one of them, which then retries and finds everything applied.
 */
export async function migrateToLatest(db: Kysely<Database>, options: { attempts?: number } = {}): Promise<string[]> {
  const attempts = options.attempts ?? 8;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const result: MigrationResultSet = dialectOf(db) === 'sqlite' ? await migrateSqlite(db) : await migrator(db).migrateToLatest();
    if (!result.error) return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    lastError = result.error;
    const failed = result.results?.find((r) => r.status === 'Error');
    if (failed) {
      // A migration itself failed: retrying would not help.
      throw new Error(`migration ${failed.migrationName} failed: ${errorMessage(result.error)}`, { cause: result.error });
    }
    await new Promise((resolve) => setTimeout(resolve, 50 * attempt + Math.random() * 50));
  }
  throw new Error(`could not apply migrations: ${errorMessage(lastError)}`, { cause: lastError });
}

export async function migrationStatus(db: Kysely<Database>): Promise<MigrationStatus[]> {
  const list = await migrator(db).getMigrations();
  return list.map((m) => ({ name: m.name, executedAt: m.executedAt ?? null }));
}

/** True when every known migration has been applied. */
export async function isMigrated(db: Kysely<Database>): Promise<boolean> {
  const list = await migrationStatus(db);
  return list.every((m) => m.executedAt !== null);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
