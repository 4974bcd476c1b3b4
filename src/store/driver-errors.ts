/*
 * What a driver's error means, on any dialect: the codes differ between SQLite, PostgreSQL and
 * MySQL, the decisions taken on them (retry the transaction, answer "already there") do not.
 */

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
