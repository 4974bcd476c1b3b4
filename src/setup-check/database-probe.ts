import type { DatabaseConfig } from '../config/types.js';

/*
 * Whether an environment's database answers, from this machine: a connection and `SELECT 1`
 * (PostgreSQL, MySQL/MariaDB), or opening the file read-only (SQLite). Each within a timeout;
 * the drivers load only when a database of theirs is checked.
 */

export type DatabaseKind = 'postgres' | 'mysql' | 'sqlite';

export interface DatabaseProbeTarget {
  kind: DatabaseKind;
  /** The URL, or the SQLite file. */
  location: string;
}

const TIMEOUT_MS = 5_000;

/** What to connect to, or undefined when the configuration names no URL or file. */
export function probeTarget(db: DatabaseConfig): DatabaseProbeTarget | undefined {
  const url = db.url;
  if (url) {
    if (/^postgres(ql)?:\/\//i.test(url)) return { kind: 'postgres', location: url };
    if (/^(mysql|mariadb):\/\//i.test(url)) return { kind: 'mysql', location: url.replace(/^mariadb:/i, 'mysql:') };
    if (/^sqlite:/i.test(url)) return { kind: 'sqlite', location: url.replace(/^sqlite:(\/\/)?/i, '') };
    if (/^file:/i.test(url)) return { kind: 'sqlite', location: new URL(url).pathname };
  }
  if (/^sqlite/i.test(db.type) && db.path) return { kind: 'sqlite', location: db.path };
  return undefined;
}

export async function probeDatabase(target: DatabaseProbeTarget): Promise<void> {
  if (target.kind === 'postgres') {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: target.location, connectionTimeoutMillis: TIMEOUT_MS, query_timeout: TIMEOUT_MS });
    // An error on an idle client must not be an unhandled 'error' event.
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
    } finally {
      await client.end().catch(() => {});
    }
    return;
  }
  if (target.kind === 'mysql') {
    const mysql = await import('mysql2/promise');
    const connection = await mysql.createConnection({ uri: target.location, connectTimeout: TIMEOUT_MS });
    try {
      await connection.query('SELECT 1');
    } finally {
      await connection.end().catch(() => {});
    }
    return;
  }
  const { default: Sqlite } = await import('better-sqlite3');
  const db = new Sqlite(target.location, { readonly: true, fileMustExist: true, timeout: TIMEOUT_MS });
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } finally {
    db.close();
  }
}
