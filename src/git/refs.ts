/*
 * Ref names from outside (webhook payloads, API arguments) are checked before anything uses
 * them, with the rules of `git check-ref-format --branch`, plus ours: no leading "-" (it would
 * read as an option), no control characters, at most 255 characters. `--upload-pack=touch x`
 * or `$(id)` never reach a command line; and when a valid name does, it comes after
 * `--end-of-options`.
 */

export const MAX_REF_LENGTH = 255;

/** Why `name` is not a safe branch or tag name, or undefined when it is. */
export function refNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > MAX_REF_LENGTH) return `is longer than ${MAX_REF_LENGTH} characters`;
  if (name.startsWith('-')) return 'starts with "-"';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'contains control characters';
  if (/[ ~^:?*[\\]/.test(name)) return 'contains one of: space ~ ^ : ? * [ \\';
  if (name.includes('..')) return 'contains ".."';
  if (name.includes('@{')) return 'contains "@{"';
  if (name === '@') return 'is "@"';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return 'has an empty path component';
  if (name.endsWith('.')) return 'ends with "."';
  for (const component of name.split('/')) {
    if (component.startsWith('.')) return 'has a component starting with "."';
    if (component.endsWith('.lock')) return 'has a component ending with ".lock"';
  }
  if (name === 'HEAD') return 'is "HEAD"';
  return undefined;
}

export function isSafeRefName(name: string): boolean {
  return refNameProblem(name) === undefined;
}

/** A full 40-hex (SHA-1) or 64-hex (SHA-256) object id. */
export function isFullCommitSha(value: string): boolean {
  return /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(value);
}

/** An abbreviated or full commit id as a user may type it (7 to 64 hex characters). */
/** A version as shown: a commit id by its first 12 characters, anything else (a tag, a label) whole. */
export function shortVersion(version: string): string {
  return /^[0-9a-f]{40,64}$/.test(version) ? version.slice(0, 12) : version;
}

/** Whether two commit ids name the same commit: full ids compare whole, one typed short (7 characters at least) by prefix. */
export function sameCommit(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x === y || (x.length >= 7 && y.startsWith(x)) || (y.length >= 7 && x.startsWith(y));
}

export function isCommitish(value: string): boolean {
  return /^[0-9a-f]{7,64}$/i.test(value);
}

/** The all-zero id providers send as `after` for a deleted branch. */
export function isZeroSha(value: string | null | undefined): boolean {
  return !!value && /^0+$/.test(value);
}

/** Splits refs/heads/x and refs/tags/x; anything else is neither. */
export function parseRef(ref: string): { branch?: string; tag?: string } {
  if (ref.startsWith('refs/heads/')) return { branch: ref.slice('refs/heads/'.length) };
  if (ref.startsWith('refs/tags/')) return { tag: ref.slice('refs/tags/'.length) };
  return {};
}

/** Glob match for tag patterns such as "v*" or "release-*": only * and ? are special. */
export function matchesGlob(value: string, pattern: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return regex.test(value);
}
