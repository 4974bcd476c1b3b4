import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, Kysely, MysqlAdapter, MysqlDialect, PostgresAdapter, PostgresDialect, type QueryExecutor, type SqliteDatabase } from 'kysely';
import type { PoolOptions as MysqlPoolOptions } from 'mysql2';
import type pg from 'pg';
import type { Database } from './database.js';
import type { DatabaseTarget, DialectName } from './database-url.js';
import { InlineLimitsPlugin, preparedStatementPool } from './pg-prepared.js';
import { WaitingSqliteDialect } from './sqlite-dialect.js';

export type { DatabaseTarget, DialectName } from './database-url.js';
export { describeDatabaseUrl, parseDatabaseUrl } from './database-url.js';

/**
 * Which SQL dialect an open database (or a transaction on it) speaks, read from its adapter.
 * Typed by what it reads, so that databases of any schema (migrations use `Kysely<any>`) pass.
 */
export function dialectOf(db: { getExecutor(): QueryExecutor }): DialectName {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof PostgresAdapter) return 'postgres';
  if (adapter instanceof MysqlAdapter) return 'mysql';
  return 'sqlite';
}

export interface OpenOptions {
  /** PostgreSQL / MySQL pool size. */
  poolSize?: number;
  /**
   * The longest any one store call waits (ms): for a connection, another writer's lock, a locked
   * row or a stalled link. Past it the call fails as "store unavailable" (a webhook is answered
   * 503 and retried by its sender). Default 2,000.
   */
  waitTimeoutMs?: number;
  /** PostgreSQL / MySQL: how long to wait for a new connection before failing (ms). */
  connectTimeoutMs?: number;
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

/** The default of OpenOptions.waitTimeoutMs: with a connection to wait for too, a webhook is answered within 3 s. */
export const DEFAULT_WAIT_TIMEOUT_MS = 1_500;

export function openDatabase(target: DatabaseTarget, options: OpenOptions = {}): Kysely<Database> {
  const poolSize = options.poolSize ?? 10;
  const waitMs = options.waitTimeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  const connectTimeoutMs = options.connectTimeoutMs ?? waitMs;
  switch (target.dialect) {
    case 'sqlite': {
      const file = target.file === ':memory:' ? ':memory:' : resolve(target.file ?? 'fraisier.db');
      // Opened by the first query, not here: wiring an app does no I/O (PostgreSQL and MySQL
      // pools likewise connect on first use).
      const open = async (): Promise<SqliteDatabase> => {
        if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
        // SQLite's own busy handler sleeps on this thread: a few ms at most, then the dialect
        // waits on a timer (see sqlite-dialect.ts).
        const sqlite = new BetterSqlite3(file, { timeout: 5 });
        if (file !== ':memory:') sqlite.pragma('journal_mode = WAL');
        // NORMAL in WAL mode survives a process crash; only a power loss can drop the last commits.
        sqlite.pragma('synchronous = NORMAL');
        sqlite.pragma('foreign_keys = ON');
        return withStatementCache(sqlite);
      };
      return new Kysely<Database>({ dialect: new WaitingSqliteDialect({ database: open, lockWaitMs: waitMs }) });
    }
    case 'postgres': {
      // pg is loaded when the pool is first needed: a process on SQLite or MySQL never loads it.
      const createPool = async () => {
        const { default: pg } = await import('pg');
        const pool = new pg.Pool({
          connectionString: target.url,
          max: poolSize,
          connectionTimeoutMillis: connectTimeoutMs,
          // A locked row or table, or a slow statement, fails on the server after waitMs; a link
          // that stalls (no answer at all) fails on this side a little later.
          lock_timeout: waitMs,
          statement_timeout: waitMs,
          query_timeout: waitMs + 500,
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
        return preparedStatementPool(pool);
      };
      return new Kysely<Database>({ dialect: new PostgresDialect({ pool: createPool }), plugins: [new InlineLimitsPlugin()] });
    }
    case 'mysql': {
      const options: MysqlPoolOptions = {
        uri: target.url,
        connectionLimit: poolSize,
        connectTimeout: connectTimeoutMs,
        decimalNumbers: true,
        supportBigNumbers: true,
        bigNumberStrings: false,
        timezone: 'Z',
        charset: 'utf8mb4',
      };
      return new Kysely<Database>({
        dialect: new MysqlDialect({
          // mysql2 likewise, loaded when the pool is first needed.
          pool: async () => (await import('mysql2')).createPool(options),
          onCreateConnection: async (connection) => {
            // READ COMMITTED, as on PostgreSQL: under REPEATABLE READ, InnoDB's next-key locks
            // make concurrent enqueues and claims on one (fraise, environment) deadlock.
            await connection.executeQuery(CompiledQuery.raw('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED'));
            // A locked row or table fails after waitMs (in whole seconds), a slow statement too:
            // MariaDB's max_statement_time, MySQL's max_execution_time (which bounds reads only).
            const seconds = Math.max(1, Math.ceil(waitMs / 1000));
            await connection.executeQuery(CompiledQuery.raw(`SET SESSION innodb_lock_wait_timeout = ${seconds}, lock_wait_timeout = ${seconds}`));
            try {
              await connection.executeQuery(CompiledQuery.raw(`SET SESSION max_statement_time = ${waitMs / 1000}`));
            } catch {
              await connection.executeQuery(CompiledQuery.raw(`SET SESSION max_execution_time = ${waitMs}`));
            }
          },
        }),
      });
    }
  }
}
