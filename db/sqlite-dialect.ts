import type { DatabaseConnection, Driver, QueryCompiler, QueryResult, SqliteDialectConfig, TransactionSettings } from 'kysely';
import { CompiledQuery, SqliteDialect } from 'kysely';

/*
 * Kysely's SQLite dialect, with waits that never stop the event loop and always end.
 *
 * better-sqlite3 waits for another process's write lock inside SQLite's busy handler, on the
 * thread that answers requests: while a CLI or a backup held the file, /health froze and every
 * request queued behind the one asleep. Here the connection's own busy timeout is a few
 * milliseconds, and a statement that finds the file locked outside a transaction (BEGIN, or a
 * lone write) is tried again on a timer. Every use of the connection has a deadline counted
 * from when it was asked for (waiting for the connection included): past it, the caller gets
 * SQLITE_BUSY ("database is locked"), which the API answers as 503, store unavailable.
 *
 * Transactions begin IMMEDIATE, so SQLite's write lock is taken at BEGIN: a transaction that
 * read first could not take it later once another process committed (SQLITE_BUSY_SNAPSHOT,
 * which no wait cures).
 */

export interface SqliteWaitOptions {
  /** How long one use of the connection may wait, for the connection and for the file's lock (ms). */
  lockWaitMs: number;
}

export class WaitingSqliteDialect extends SqliteDialect {
  readonly #wait: SqliteWaitOptions;

  constructor(config: SqliteDialectConfig & SqliteWaitOptions) {
    super(config);
    this.#wait = { lockWaitMs: config.lockWaitMs };
  }

  override createDriver(): Driver {
    return new WaitingDriver(super.createDriver(), this.#wait);
  }
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** The error SQLite itself gives when the lock is not free, so callers treat both alike. */
export function lockedError(waitedMs: number): Error {
  return Object.assign(new Error(`database is locked (waited ${Math.round(waitedMs)} ms for another writer)`), { code: 'SQLITE_BUSY' });
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

class WaitingDriver implements Driver {
  /** Handed out to one caller at a time, first come first served. */
  #held = false;
  readonly #waiting: Waiter[] = [];
  /** When the holder asked for the connection: its statements' deadline runs from there. */
  #deadline = 0;
  #inTransaction = false;

  constructor(
    private readonly inner: Driver,
    private readonly wait: SqliteWaitOptions,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const asked = performance.now();
    if (this.#held) await this.#queue(asked);
    this.#held = true;
    this.#deadline = asked + this.wait.lockWaitMs;
    const connection = await this.inner.acquireConnection();
    return {
      executeQuery: <R>(query: CompiledQuery): Promise<QueryResult<R>> =>
        this.#inTransaction ? connection.executeQuery<R>(query) : this.#retrying(asked, () => connection.executeQuery<R>(query)),
      streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
    };
  }

  #queue(asked: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
          reject(lockedError(performance.now() - asked));
        }, this.wait.lockWaitMs),
      };
      this.#waiting.push(waiter);
    });
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await this.inner.releaseConnection(connection);
    const next = this.#waiting.shift();
    if (!next) {
      this.#held = false;
      return;
    }
    // Handed over while still held: nobody can slip in between.
    clearTimeout(next.timer);
    next.resolve();
  }

  /** Runs `statement`; while another process holds the file's lock, again a little later, until the deadline. */
  async #retrying<T>(asked: number, statement: () => Promise<T>): Promise<T> {
    for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
      try {
        return await statement();
      } catch (error) {
        if (!isBusy(error)) throw error;
        const left = this.#deadline - performance.now();
        if (left <= 0) throw lockedError(performance.now() - asked);
        await new Promise((resolve) => setTimeout(resolve, Math.min(left, pause * (0.5 + Math.random()))));
      }
    }
  }

  async beginTransaction(connection: DatabaseConnection, _settings: TransactionSettings): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    this.#inTransaction = true;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.inner.commitTransaction(connection);
    } finally {
      this.#inTransaction = false;
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.inner.rollbackTransaction(connection);
    } finally {
      this.#inTransaction = false;
    }
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

  async destroy(): Promise<void> {
    for (const waiter of this.#waiting.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('the store is closed'));
    }
    await this.inner.destroy();
  }
}
