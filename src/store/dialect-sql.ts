import { type Insertable, sql } from 'kysely';
import type { Database } from '../../db/database.js';
import { dialectOf } from '../../db/dialect.js';
import type { Db } from './store.js';

/*
 * The few statements that are written differently per dialect. Everything else in the
 * repositories is plain Kysely that means the same on SQLite, PostgreSQL and MySQL.
 */

type TableWithId = 'tb_deployment_request' | 'tb_deployment' | 'tb_webhook_event' | 'tb_deployment_progress' | 'tb_fraise_state';

/** Inserts one row and gives back its generated id (RETURNING, or MySQL's insertId). */
export async function insertReturningId<T extends TableWithId>(db: Db, table: T, values: Insertable<Database[T]>): Promise<number> {
  if (dialectOf(db) === 'mysql') {
    const result = await db.insertInto(table).values(values as never).executeTakeFirstOrThrow();
    return Number(result.insertId);
  }
  const row = await db
    .insertInto(table)
    .values(values as never)
    .returning('id' as never)
    .executeTakeFirstOrThrow();
  return Number((row as unknown as { id: number | string }).id);
}

/** Deadlock and serialization failures: the transaction was chosen as the victim; running it again works. */
export const DEADLOCK_CODES: ReadonlySet<string> = new Set(['40001', '40P01', 'ER_LOCK_DEADLOCK']);

/** True when `error` (or what caused it) is a deadlock or serialization failure. */
export function isDeadlock(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const { code } = current as { code?: unknown };
    if (typeof code === 'string' && DEADLOCK_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** True for a unique-constraint violation, on any dialect. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; errno?: unknown; message?: unknown };
  return (
    e?.code === '23505' || // PostgreSQL
    e?.code === 'ER_DUP_ENTRY' || // MySQL / MariaDB
    e?.errno === 1062 ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    (typeof e?.message === 'string' && /UNIQUE constraint failed/.test(e.message))
  );
}

export interface DailyStatsDelta {
  day: string;
  fraise: string;
  environment: string;
  total: number;
  successful: number;
  failed: number;
  rolledBack: number;
  durationSum: number;
  durationCount: number;
}

/** Adds a finished deployment to its day's counters (insert, or add to the existing row). */
export async function addDailyStats(db: Db, delta: DailyStatsDelta): Promise<void> {
  const values = {
    day: delta.day,
    fraise: delta.fraise,
    environment: delta.environment,
    total: delta.total,
    successful: delta.successful,
    failed: delta.failed,
    rolled_back: delta.rolledBack,
    duration_sum: delta.durationSum,
    duration_count: delta.durationCount,
  };
  const counters = ['total', 'successful', 'failed', 'rolled_back', 'duration_sum', 'duration_count'] as const;
  if (dialectOf(db) === 'mysql') {
    await db
      .insertInto('tb_deployment_daily_stats')
      .values(values)
      .onDuplicateKeyUpdate(Object.fromEntries(counters.map((c) => [c, sql<number>`${sql.ref(c)} + VALUES(${sql.ref(c)})`])))
      .execute();
    return;
  }
  await db
    .insertInto('tb_deployment_daily_stats')
    .values(values)
    .onConflict((oc) =>
      oc
        .columns(['day', 'fraise', 'environment'])
        .doUpdateSet((eb) => Object.fromEntries(counters.map((c) => [c, eb(`tb_deployment_daily_stats.${c}`, '+', eb.ref(`excluded.${c}`))]))),
    )
    .execute();
}
