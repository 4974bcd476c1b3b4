import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, Kysely, MysqlDialect, PostgresDialect, type SqliteDatabase } from 'kysely';
import { createPool as createMysqlPool } from 'mysql2';
import pg from 'pg';
import type { Database } from './database.js';
import type { DatabaseTarget } from './database-url.js';
import { InlineLimitsPlugin, preparedStatementPool } from './pg-prepared.js';
import { startCheckpointer } from './sqlite-checkpointer.js';
import { FifoSqliteDialect } from './sqlite-fifo.js';
import { SqliteWriteLock } from './sqlite-write-lock.js';

export type { DatabaseTarget, DialectName } from './database-url.js';
export { describeDatabaseUrl, parseDatabaseUrl } from './database-url.js';

export interface OpenOptions {
  /** PostgreSQL / MySQL pool size. */
  poolSize?: number;
  /** SQLite busy timeout in ms: how long a writer waits for another one. */
  busyTimeoutMs?: number;
  /** PostgreSQL / MySQL: how long to wait for a connection before failing (ms). */
  connectTimeoutMs?: number;
  /** SQLite file: checkpoint the WAL from a worker thread (default true; see sqlite-checkpointer.ts). */
  checkpointInWorker?: boolean | { intervalMs?: number; restartPages?: number };
  /** Told of failures in background work (the checkpoint worker), which has no caller to throw to. */
  onBackgroundError?: (error: Error) => void;
}

/**
 * Kysely's SQLite driver prepares every query anew; preparing costs more than running a small
 * statement (about 100 µs for one that reads a view). Prepared statements are kept by SQL text,
 * the most recently used first; a statement still being iterated is never handed out twice.
 */
function withStatementCache(sqlite: BetterSqlite3.Database, capacity = 256): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      const cached = cache.get(sql);
      if (cached && !cached.busy) {
        cache.delete(sql);
        cache.set(sql, cached);
        return cached;
      }
      const statement = sqlite.prepare(sql);
      cache.set(sql, statement);
      if (cache.size > capacity) cache.delete(cache.keys().next().value!);
      return statement;
    },
  } as SqliteDatabase;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

export interface OpenedDatabase {
  db: Kysely<Database>;
  /** SQLite only: the connection under Kysely, for synchronous batches (see Store.withSqlite). */
  sqlite?: BetterSqlite3.Database;
  /** SQLite file with a checkpoint worker: taken for every write (see sqlite-write-lock.ts). */
  writeLock?: SqliteWriteLock;
  /** SQLite file only: stops the WAL checkpoint worker (before db.destroy()). */
  stopCheckpointer?: () => Promise<void>;
}

export function openDatabase(target: DatabaseTarget, options: OpenOptions = {}): OpenedDatabase {
  const poolSize = options.poolSize ?? 10;
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  switch (target.dialect) {
    case 'sqlite': {
      const file = target.file === ':memory:' ? ':memory:' : resolve(target.file ?? 'fraisier.db');
      if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
      const sqlite = new BetterSqlite3(file, { timeout: options.busyTimeoutMs ?? 5_000 });
      if (file !== ':memory:') sqlite.pragma('journal_mode = WAL');
      // NORMAL in WAL mode survives a process crash; only a power loss can drop the last commits.
      sqlite.pragma('synchronous = NORMAL');
      sqlite.pragma('foreign_keys = ON');
      const checkpointed = file !== ':memory:' && options.checkpointInWorker !== false;
      // Another thread writes to the file (the checkpoint worker's RESTART): both take this lock.
      const writeLock = checkpointed ? new SqliteWriteLock() : undefined;
      const db = new Kysely<Database>({ dialect: new FifoSqliteDialect({ database: withStatementCache(sqlite), ...(writeLock ? { writeLock } : {}) }) });
      if (!writeLock) return { db, sqlite };
      const tuning = typeof options.checkpointInWorker === 'object' ? options.checkpointInWorker : {};
      const checkpointer = startCheckpointer(sqlite, file, writeLock, { ...tuning, ...(options.onBackgroundError ? { onError: options.onBackgroundError } : {}) });
      return { db, sqlite, writeLock, stopCheckpointer: () => checkpointer.stop() };
    }
    case 'postgres': {
      const pool = new pg.Pool({
        connectionString: target.url,
        max: poolSize,
        connectionTimeoutMillis: connectTimeoutMs,
        // Per-pool parsers (not pg's global ones): ids and counts come back as numbers.
        types: {
          getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
            oid === INT8_OID || oid === NUMERIC_OID
              ? (value: string) => Number(value)
              : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
        },
      });
      // A dropped idle connection must not crash the process; the next query reconnects.
      pool.on('error', () => {});
      // Nor a connection dropped while checked out (pg-pool removes its listener then), between two
      // statements of a transaction: the next query on it rejects, and that is what callers see.
      pool.on('connect', (client) => client.on('error', () => {}));
      return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparedStatementPool(pool) }), plugins: [new InlineLimitsPlugin()] }) };
    }
    case 'mysql': {
      const pool = createMysqlPool({
        uri: target.url,
        connectionLimit: poolSize,
        connectTimeout: connectTimeoutMs,
        decimalNumbers: true,
        supportBigNumbers: true,
        bigNumberStrings: false,
        timezone: 'Z',
        charset: 'utf8mb4',
      });
      return {
        db: new Kysely<Database>({
          dialect: new MysqlDialect({
            pool,
            // READ COMMITTED, as on PostgreSQL: under REPEATABLE READ, InnoDB's next-key locks
            // make concurrent enqueues and claims on one (fraise, environment) deadlock.
            onCreateConnection: async (connection) => {
              await connection.executeQuery(CompiledQuery.raw('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED'));
            },
          }),
        }),
      };
    }
  }
}
