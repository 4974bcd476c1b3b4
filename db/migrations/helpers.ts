import {
  type ColumnDataType,
  type ColumnDefinitionBuilder,
  type CreateTableBuilder,
  type Expression,
  type Kysely,
  sql,
} from 'kysely';
import { dialectOf } from '../dialect.js';
import type { DialectName } from '../database-url.js';

type DataTypeExpression = ColumnDataType | Expression<unknown>;

/*
 * Column types that differ between dialects. Migrations are frozen: these helpers may gain new
 * functions but an existing one never changes what it returns.
 */

export type MigrationDialect = DialectName;

// Its home is db/dialect.ts; re-exported so that what migrations import keeps working.
export { dialectOf };

/** An auto-incremented 64-bit primary key. */
export function addId<T extends string>(db: Kysely<any>, table: CreateTableBuilder<T, never>): CreateTableBuilder<T, 'id'> {
  switch (dialectOf(db)) {
    case 'postgres':
      return table.addColumn('id', 'bigserial', (c) => c.primaryKey());
    case 'mysql':
      return table.addColumn('id', 'bigint', (c) => c.primaryKey().autoIncrement());
    case 'sqlite':
      // INTEGER PRIMARY KEY AUTOINCREMENT: the rowid, never reused after a delete.
      return table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  }
}

/** Text that may be long (payloads, messages): MySQL's TEXT stops at 64 KiB. */
export function longText(db: Kysely<any>): DataTypeExpression {
  return dialectOf(db) === 'mysql' ? sql`longtext` : 'text';
}

/**
 * MySQL tables in utf8mb4 with a binary collation, so that `main` and `Main` are two branches
 * there as they are on SQLite and PostgreSQL.
 */
export function tableOptions<T extends string, C extends string>(
  db: Kysely<any>,
  table: CreateTableBuilder<T, C>,
): CreateTableBuilder<T, C> {
  return dialectOf(db) === 'mysql' ? table.modifyEnd(sql`ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`) : table;
}

export const notNull = (c: ColumnDefinitionBuilder) => c.notNull();
