import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/*
 * Signature checks shared by the providers. Everything compares raw bytes in constant time;
 * a malformed header is simply "no match" (never an exception), and nothing here ever returns
 * or formats the expected value.
 */

const HEX_SHA256 = /^[0-9a-f]{64}$/;
const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;

/** HMAC-SHA256 of `body` under `key`. */
export function hmacSha256(key: string | Buffer, ...parts: Buffer[]): Buffer {
  const hmac = createHmac('sha256', key);
  for (const part of parts) hmac.update(part);
  return hmac.digest();
}

/** Constant-time equality of two byte strings; different lengths are unequal, not an error. */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) {
    // Spend the same time as a real comparison so the length is not what answers fast.
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/**
 * The 32 digest bytes of `value` when it is exactly `prefix` + 64 lower-case hex digits (what
 * GitHub, Gitea and Bitbucket send); undefined for anything else: `sha1=...`, upper case, a
 * truncated value, spaces, another prefix.
 */
export function parseHexDigest(value: string | null | undefined, prefix = ''): Buffer | undefined {
  if (typeof value !== 'string' || !value.startsWith(prefix)) return undefined;
  const hex = value.slice(prefix.length);
  return HEX_SHA256.test(hex) ? Buffer.from(hex, 'hex') : undefined;
}

/** The 32 digest bytes of a standard base64 HMAC-SHA256 (44 characters), or undefined. */
export function parseBase64Digest(value: string): Buffer | undefined {
  return BASE64_SHA256.test(value) ? Buffer.from(value, 'base64') : undefined;
}

/**
 * The secret whose HMAC-SHA256 of `body` equals `digest`, or undefined. Every secret is
 * tried (no early exit), so the time taken does not say which one matched.
 */
export function findHmacSecret(body: Buffer, digest: Buffer, secrets: readonly string[]): string | undefined {
  let found: string | undefined;
  for (const secret of secrets) {
    if (safeEqual(hmacSha256(secret, body), digest) && found === undefined) found = secret;
  }
  return found;
}

/**
 * The secret equal to a token sent in clear (GitLab's X-Gitlab-Token). Both sides are hashed
 * first, so the comparison is over equal lengths whatever was sent.
 */
export function findTokenSecret(token: string, secrets: readonly string[]): string | undefined {
  const presented = createHash('sha256').update(token, 'utf8').digest();
  let found: string | undefined;
  for (const secret of secrets) {
    if (safeEqual(createHash('sha256').update(secret, 'utf8').digest(), presented) && found === undefined) found = secret;
  }
  return found;
}
