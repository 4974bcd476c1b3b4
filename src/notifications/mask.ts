import { MASK, maskUrlCredentials } from '../config/secrets.js';

/*
 * What is recorded or logged about an attempt never holds a destination's secrets: a service may
 * echo its URL back in an error, and a network error names the host and sometimes the path.
 * Every secret value of the destination is replaced, and so is each long part of a secret URL
 * past its host (the token of a Slack or Discord hook is a segment of its path, a Teams
 * signature a query value), and any URL's credentials.
 */

export function secretMasker(secrets: readonly string[]): (text: string) => string {
  const pieces = new Set<string>();
  for (const secret of secrets) {
    pieces.add(secret);
    try {
      const url = new URL(secret);
      for (const segment of url.pathname.split('/')) if (tokenLike(segment)) pieces.add(segment);
      if (url.search.length > 1) pieces.add(url.search.slice(1));
      for (const value of url.searchParams.values()) if (tokenLike(value)) pieces.add(value);
      if (url.password) pieces.add(url.password);
    } catch {
      // not a URL: the value itself is masked
    }
  }
  // Longest first, so that a piece inside a longer one does not leave the rest of it behind.
  const ordered = [...pieces].filter((p) => p.length >= 4).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const piece of ordered) out = out.split(piece).join(MASK);
    return maskUrlCredentials(out);
  };
}

/** A part of a URL that may be a credential: long, or shorter with digits or capitals ("services" is not). */
function tokenLike(part: string): boolean {
  return part.length >= 16 || (part.length >= 8 && !/^[a-z-]+$/.test(part));
}
