import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../../db/database.js';
import { type DatabaseTarget, describeDatabaseUrl, type DialectName, type OpenOptions, openDatabase, parseDatabaseUrl } from '../../db/dialect.js';
import { isMigrated, migrateToLatest } from '../../db/migrate.js';
import { StoreUnavailableError } from '../errors.js';
import { DEADLOCK_CODES } from './driver-errors.js';

/** A database handle or an open transaction: what every repository function takes first. */
export type Db = Kysely<Database> | Transaction<Database>;

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
  /** The URL as configured, password included: for connecting, never for logs. */
  readonly url: string;
  /** The URL without its password, for logs. */
  readonly description: string;
  migrate(): Promise<string[]>;
  /** Reachable and migrated; the reason when not. */
  readiness(): Promise<{ ready: true } | { ready: false; reason: string }>;
  close(): Promise<void>;
}

/** How long migrating waits for another process that migrates or writes. */
const MIGRATION_WAIT_MS = 60_000;

/**
 * A store for `url` (a bad URL throws here). Nothing is opened yet: the first query opens the
 * SQLite file or the pool's first connection, so wiring an app does no I/O.
 */
export function createStore(url: string, options: OpenOptions = {}): Store {
  const target: DatabaseTarget = parseDatabaseUrl(url);
  const db = openDatabase(target, options);
  let closed = false;
  return {
    db,
    dialect: target.dialect,
    url: target.url,
    description: describeDatabaseUrl(target.url),
    async migrate() {
      // Migrations wait for another process's and may run long statements: they get a connection
      // of their own, without the deadlines of request work (an in-memory SQLite has only one).
      if (target.dialect === 'sqlite' && target.file === ':memory:') return migrateToLatest(db);
      const admin = openDatabase(target, { ...options, poolSize: 1, waitTimeoutMs: MIGRATION_WAIT_MS });
      try {
        return await migrateToLatest(admin);
      } finally {
        await admin.destroy();
      }
    },
    async readiness() {
      try {
        await sql`select 1`.execute(db);
      } catch (error) {
        return { ready: false, reason: `store unreachable: ${storeErrorMessage(error)}` };
      }
      try {
        if (!(await isMigrated(db))) return { ready: false, reason: 'migrations not applied yet' };
      } catch (error) {
        return { ready: false, reason: `cannot read migrations: ${storeErrorMessage(error)}` };
      }
      return { ready: true };
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

const TRANSIENT_CODES = new Set([
  // network
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  // PostgreSQL: admin shutdown, crash shutdown, cannot connect now, connection failures
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '53300',
  // PostgreSQL: statement_timeout, lock_timeout (the store's deadlines: see db/dialect.ts)
  '57014',
  '55P03',
  ...DEADLOCK_CODES,
  // MySQL / MariaDB
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_STATEMENT_TIMEOUT',
  'ER_QUERY_TIMEOUT',
  'ER_QUERY_INTERRUPTED',
  'ER_SERVER_SHUTDOWN',
  // SQLite
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_IOERR',
  'SQLITE_FULL',
]);

const TRANSIENT_MESSAGES = /connection terminated|connection (is )?closed|timeout exceeded when trying to connect|cannot use a pool after calling end|server has gone away|lost connection|connect ECONNREFUSED|client has encountered a connection error|database is locked|query read timeout|max_statement_time exceeded|maximum statement execution time exceeded|lock wait timeout exceeded/i;

/** An error that says "the store is not available now" rather than "this request is wrong". */
export function isTransientStoreError(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (current instanceof StoreUnavailableError) return true;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (TRANSIENT_CODES.has(code) || code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_IOERR'))) {
      return true;
    }
    const message = (current as { message?: unknown }).message;
    if (typeof message === 'string' && TRANSIENT_MESSAGES.test(message)) return true;
    if (current instanceof AggregateError && current.errors.some(isTransientStoreError)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Runs a store operation; a transient failure becomes StoreUnavailableError (→ 503, retry later). */
export async function guardStore<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (isTransientStoreError(error) && !(error instanceof StoreUnavailableError)) {
      throw new StoreUnavailableError(`the store is unavailable: ${storeErrorMessage(error)}`, { cause: error });
    }
    throw error;
  }
}

function storeErrorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Driver messages may carry the connection string; keep them free of passwords.
  return describeDatabaseUrl(message.split('\n')[0] ?? message);
}
