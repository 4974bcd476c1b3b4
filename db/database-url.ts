/*
 * Store URLs: which dialect, which file or server. Kept apart from the drivers so that
 * configuration checks can read a URL without loading them.
 */

export type DialectName = 'sqlite' | 'postgres' | 'mysql';

export interface DatabaseTarget {
  dialect: DialectName;
  /** The URL as configured (may hold a password: never log it, use `describe`). */
  url: string;
  /** SQLite: the file path or `:memory:` */
  file?: string;
}

/** Parses `sqlite:./fraisier.db`, `sqlite::memory:`, `postgres://...`, `mysql://...`. */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  const trimmed = url.trim();
  if (trimmed.startsWith('sqlite:')) {
    let file = trimmed.slice('sqlite:'.length);
    if (file.startsWith('//')) file = file.slice(2); // sqlite:///abs/path → /abs/path
    if (file === '') throw new Error('database URL "sqlite:" names no file; use sqlite:./fraisier.db');
    return { dialect: 'sqlite', url: trimmed, file };
  }
  if (/^postgres(ql)?:\/\//.test(trimmed)) return { dialect: 'postgres', url: trimmed };
  if (/^(mysql|mariadb):\/\//.test(trimmed)) return { dialect: 'mysql', url: trimmed.replace(/^mariadb:/, 'mysql:') };
  throw new Error(
    `database URL ${JSON.stringify(describeDatabaseUrl(trimmed))} is not supported: use sqlite:./fraisier.db, postgres://... or mysql://...`,
  );
}

/** The URL with any password replaced, for logs and errors. */
export function describeDatabaseUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}
