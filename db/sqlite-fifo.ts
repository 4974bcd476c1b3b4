import type { DatabaseConnection, Driver, QueryCompiler, QueryResult, SqliteDialectConfig, TransactionSettings } from 'kysely';
import { CompiledQuery, SqliteDialect } from 'kysely';
import type { SqliteWriteLock } from './sqlite-write-lock.js';

/*
 * Kysely's SQLite driver serialises its single connection with a mutex whose every release
 * wakes every waiter (they all await one promise, then race to take it again): with a hundred
 * concurrent webhook deliveries, each commit woke a hundred tasks. This dialect queues the
 * waiters first-come first-served, so a release hands the connection to exactly one.
 *
 * Another thread's connection may write to the same file (the WAL checkpoint worker's RESTART):
 * every write here, a statement outside a transaction or a whole transaction, first takes the
 * process's write lock (sqlite-write-lock.ts), waiting for it without stopping the event loop.
 * Transactions begin IMMEDIATE, so SQLite's own lock is taken at BEGIN too: a deferred
 * transaction that read first could not take it after another connection (another process)
 * committed (SQLITE_BUSY_SNAPSHOT, which no busy timeout waits out).
 */
export class FifoSqliteDialect extends SqliteDialect {
  readonly #writeLock: SqliteWriteLock | undefined;

  constructor(config: SqliteDialectConfig & { writeLock?: SqliteWriteLock }) {
    super(config);
    this.#writeLock = config.writeLock;
  }

  override createDriver(): Driver {
    return new FifoDriver(super.createDriver(), this.#writeLock);
  }
}

/** A statement that may write (anything but a read): it waits for the write lock. */
function mayWrite(sql: string): boolean {
  return !/^\s*(select|pragma\s+\w+\s*$|explain)/i.test(sql);
}

class FifoDriver implements Driver {
  #held = false;
  readonly #waiting: (() => void)[] = [];
  /** The write lock is held for the transaction in progress. */
  #locked = false;

  constructor(
    private readonly inner: Driver,
    private readonly writeLock: SqliteWriteLock | undefined,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    if (this.#held) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#held = true;
    const connection = await this.inner.acquireConnection();
    const lock = this.writeLock;
    if (!lock) return connection;
    return {
      executeQuery: <R>(query: CompiledQuery): Promise<QueryResult<R>> =>
        this.#locked || !mayWrite(query.sql) ? connection.executeQuery<R>(query) : lock.with(() => connection.executeQuery<R>(query)),
      streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
    };
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await this.inner.releaseConnection(connection);
    const next = this.#waiting.shift();
    // Handed over while still held: nobody can slip in between.
    if (next) next();
    else this.#held = false;
  }

  async beginTransaction(connection: DatabaseConnection, _settings: TransactionSettings): Promise<void> {
    if (this.writeLock) {
      await this.writeLock.acquire();
      this.#locked = true;
    }
    try {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    } catch (error) {
      this.#unlock();
      throw error;
    }
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.inner.commitTransaction(connection);
    } finally {
      this.#unlock();
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.inner.rollbackTransaction(connection);
    } finally {
      this.#unlock();
    }
  }

  #unlock(): void {
    if (!this.#locked) return;
    this.#locked = false;
    this.writeLock!.release();
  }

  savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.inner.savepoint!(connection, name, compile);
  }

  rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.inner.rollbackToSavepoint!(connection, name, compile);
  }

  releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.inner.releaseSavepoint!(connection, name, compile);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}
