/*
 * Strings from payloads on their way into the store and into messages. The store keeps them as
 * pushed, within what every dialect accepts (PostgreSQL refuses NUL, MySQL refuses lone
 * surrogates, varchar columns have a length); messages show them escaped and short, so a
 * branch name holding ANSI escapes or newlines cannot reshape a log line or a terminal.
 */

// eslint-disable-next-line no-control-regex
const NUL = /\u0000/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A value every dialect stores: NUL and lone surrogates replaced, at most `maxChars` characters. */
export function storable(value: string | null | undefined, maxChars: number): string | null {
  if (typeof value !== 'string') return null;
  let result = value.replace(NUL, '\ufffd').replace(LONE_SURROGATE, '\ufffd');
  if (result.length > maxChars) {
    result = result.slice(0, maxChars);
    // Do not cut a surrogate pair in two.
    if (/[\ud800-\udbff]$/.test(result)) result = result.slice(0, -1);
  }
  return result;
}

/**
 * A value quoted for a message: control, format and non-ASCII-printable characters escaped
 * (`\u001b`), at most `max` characters shown.
 */
export function shown(value: string, max = 64): string {
  const cut = value.length > max ? `${value.slice(0, max)}...` : value;
  // eslint-disable-next-line no-control-regex
  const escaped = cut.replace(/[\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff"\\]/g, (c) =>
    c === '"' || c === '\\' ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `"${escaped}"${value.length > max ? ` (${value.length} characters)` : ''}`;
}

/** The first 12 characters of a commit id. */
export function shortSha(sha: string): string {
  return sha.slice(0, 12);
}
