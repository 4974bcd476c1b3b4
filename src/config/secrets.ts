/*
 * Secrets never leave the process: not in logs, errors, `config show`, nor in the API's
 * DeploymentTarget.config. A value is secret when its key says so, and a URL's password is.
 */

const SECRET_KEY = /(secret|token|password|passwd|passphrase|webhook[_-]?url|routing[_-]?key|api[_-]?key|private[_-]?key|credential|access[_-]?key|consumer[_-]?key|application[_-]?key|sha256)/i;
const NOT_SECRET_KEY = /^(token_url|tokens_url|identity_file|known_hosts|secret_path)$/i;

export const MASK = '********';

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) && !NOT_SECRET_KEY.test(key);
}

/** Replaces the password of a URL such as postgres://user:pass@host/db. */
export function maskUrlPassword(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/i, `$1${MASK}@`);
}

/**
 * Every URL's user information in a text (an error message, a line of output) masked: a token
 * often stands there alone (https://<token>@host/...), with no password to tell it by.
 */
export function maskUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@'"]+@/gi, `$1${MASK}@`);
}

/** A deep copy with every secret replaced by a mask. */
export function maskSecrets<T>(value: T): T {
  return mask(value, undefined) as T;
}

function mask(value: unknown, key: string | undefined): unknown {
  if (key !== undefined && isSecretKey(key)) {
    if (value === undefined || value === null || value === '') return value;
    if (Array.isArray(value)) return value.map((item) => (item && typeof item === 'object' ? mask(item, undefined) : MASK));
    if (typeof value === 'object') return mask(value, undefined);
    return MASK;
  }
  if (typeof value === 'string') return maskUrlPassword(value);
  if (Array.isArray(value)) return value.map((item) => mask(item, undefined));
  if (value instanceof Set) return [...value].map((item) => mask(item, undefined));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v, k)]));
  }
  return value;
}

/** The key that names a value at `path`: its own key, or its list's key for a list item. */
export function isSecretPath(path: readonly (string | number)[]): boolean {
  for (let i = path.length - 1; i >= 0; i--) {
    const segment = path[i];
    if (typeof segment === 'string') return isSecretKey(segment);
  }
  return false;
}

/** Whether the text at `offset` of `value` lies in the password of a URL such as postgres://user:pass@host/db. */
export function inUrlPassword(value: string, offset: number): boolean {
  const match = /^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^@\s]*)@/i.exec(value);
  return match !== null && offset >= match[1]!.length && offset < match[1]!.length + match[2]!.length;
}
