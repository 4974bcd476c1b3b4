import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import type { DialectName } from '../../db/database-url.js';
import { createStore, type Store } from '../../src/store/store.js';

/*
 * The three dialects every store test runs against. Each test file gets databases of its own
 * (a temp file, or a database created on the server), so files run in parallel. A server that
 * cannot be reached skips its dialect, except under CI, where it fails the run.
 */

export type { DialectName };

export const PG_ADMIN_URL = process.env.FRAISIER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_ADMIN_URL = process.env.FRAISIER_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

export interface TestDatabase {
  dialect: DialectName;
  url: string;
  /** Drops the database (and its files). */
  drop(): Promise<void>;
}

export interface DialectFixture {
  name: DialectName;
  /** Resolves with a reason when the dialect's server cannot be reached (never under CI: it throws). */
  unavailable(): Promise<string | undefined>;
  createDatabase(): Promise<TestDatabase>;
}

const random = () => Math.random().toString(36).slice(2, 10);

function probeOnce(check: () => Promise<void>, label: string): () => Promise<string | undefined> {
  let result: Promise<string | undefined> | undefined;
  return () =>
    (result ??= check().then(
      () => undefined,
      (error: unknown) => {
        const reason = `${label} unreachable: ${(error as Error).message}`;
        if (process.env.CI) throw new Error(`${reason} (under CI every dialect must run)`);
        return reason;
      },
    ));
}

export const DIALECTS: DialectFixture[] = [
  {
    name: 'sqlite',
    unavailable: async () => undefined,
    async createDatabase() {
      const dir = mkdtempSync(join(tmpdir(), 'fraisier-test-'));
      return {
        dialect: 'sqlite',
        url: `sqlite:${join(dir, 'fraisier.db')}`,
        drop: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 'postgres',
    unavailable: probeOnce(async () => {
      const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3_000 });
      await client.connect();
      await client.end();
    }, `PostgreSQL at ${PG_ADMIN_URL}`),
    async createDatabase() {
      const name = `fraisier_t_${random()}`;
      await pgAdmin(`CREATE DATABASE ${name}`);
      const url = new URL(PG_ADMIN_URL);
      url.pathname = `/${name}`;
      return {
        dialect: 'postgres',
        url: url.toString(),
        drop: () => pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
      };
    },
  },
  {
    name: 'mysql',
    unavailable: probeOnce(async () => {
      const connection = await createConnection({ uri: MYSQL_ADMIN_URL, connectTimeout: 3_000 });
      await connection.end();
    }, `MySQL/MariaDB at ${MYSQL_ADMIN_URL}`),
    async createDatabase() {
      const name = `fraisier_t_${random()}`;
      await mysqlAdmin(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      const url = new URL(MYSQL_ADMIN_URL);
      url.pathname = `/${name}`;
      return {
        dialect: 'mysql',
        url: url.toString(),
        drop: () => mysqlAdmin(`DROP DATABASE IF EXISTS ${name}`),
      };
    },
  },
];

async function pgAdmin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

async function mysqlAdmin(statement: string): Promise<void> {
  const connection = await createConnection({ uri: MYSQL_ADMIN_URL });
  try {
    await connection.query(statement);
  } finally {
    await connection.end();
  }
}

export interface TestStore {
  store: Store;
  database: TestDatabase;
  dispose(): Promise<void>;
}

/** A migrated store on a fresh database of `dialect`; `dispose` closes it and drops the database. */
export async function openTestStore(dialect: DialectFixture, options: { poolSize?: number } = {}): Promise<TestStore> {
  const database = await dialect.createDatabase();
  const store = createStore(database.url, { poolSize: options.poolSize ?? 5 });
  await store.migrate();
  return {
    store,
    database,
    async dispose() {
      await store.close();
      await database.drop();
    },
  };
}
