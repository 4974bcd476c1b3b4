import { PayloadSyntaxError, type WebhookHeaders } from './provider.js';

/*
 * Reading payloads that are signed but not necessarily well shaped. Every accessor checks the
 * type it expects and answers null (or an empty list) otherwise: `commits` as a string,
 * `ref: null` or a number where a name should be never throw, they read as "absent".
 */

export type JsonObject = Record<string, unknown>;

/** Parses a delivery body: JSON, or JSON form-encoded as `payload=...` (GitHub's and Gitea's form option). */
export function parseJsonBody(text: string, headers: WebhookHeaders): JsonObject {
  let source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const contentType = headers['content-type'] ?? '';
  if (contentType.startsWith('application/x-www-form-urlencoded') || (!contentType && source.startsWith('payload='))) {
    const payload = new URLSearchParams(source).get('payload');
    if (payload === null) throw new PayloadSyntaxError('the form-encoded body has no "payload" field');
    source = payload;
  }
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (error) {
    throw new PayloadSyntaxError(`the body is not JSON (${shorten((error as Error).message, 100)})`);
  }
  const object = asObject(value);
  if (!object) throw new PayloadSyntaxError(`the body is JSON but not an object (got ${Array.isArray(value) ? 'an array' : typeof value})`);
  return object;
}

export function asObject(value: unknown): JsonObject | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

/** `value[k1][k2]...`, or undefined as soon as a step is not an object. */
export function at(value: unknown, ...keys: string[]): unknown {
  let current = value;
  for (const key of keys) {
    const object = asObject(current);
    if (!object) return undefined;
    current = object[key];
  }
  return current;
}

/** A non-empty string at that path, else null. */
export function stringAt(value: unknown, ...keys: string[]): string | null {
  const found = at(value, ...keys);
  return typeof found === 'string' && found !== '' ? found : null;
}

/** The first non-null of several candidates. */
export function firstString(...values: (string | null | undefined)[]): string | null {
  for (const value of values) if (typeof value === 'string' && value !== '') return value;
  return null;
}

/** An array at that path, else an empty list. */
export function arrayAt(value: unknown, ...keys: string[]): unknown[] {
  const found = at(value, ...keys);
  return Array.isArray(found) ? found : [];
}

/** Every string among the values at these paths (for lists of URLs). */
export function strings(...values: unknown[]): string[] {
  return values.filter((v): v is string => typeof v === 'string' && v !== '');
}

function shorten(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max)}...`;
}
