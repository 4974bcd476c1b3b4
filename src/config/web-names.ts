import { isIPv6 } from 'node:net';

/*
 * Host names and web origins in one canonical spelling (lower case, no trailing dot, IPv4 in
 * dotted decimal, IPv6 compressed and bracketed, default ports dropped), so that what the
 * configuration lists and what a request names compare as plain strings.
 */

/** Letters, digits, dots, dashes, underscores; or a bracketed IPv6 address. Nothing a URL could read as a path or credentials. */
const HOSTNAME = /^(?:\[[0-9a-f:.]+\]|[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?)$/i;

/** `Example.COM.` → `example.com`, `::1` → `[::1]`; undefined when `name` is not a host name. */
export function canonicalHostname(name: string): string | undefined {
  const value = isIPv6(name) ? `[${name}]` : name;
  if (!HOSTNAME.test(value)) return undefined;
  try {
    return new URL(`http://${value}/`).hostname.replace(/\.$/, '');
  } catch {
    return undefined;
  }
}

/** `https://Example.com:443/` → `https://example.com`; undefined unless an http(s) origin (no path, query or credentials). */
export function canonicalOrigin(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  // An empty query or fragment (`?`, `#`) leaves no trace in the URL: look at the text too.
  if (url.username || url.password || url.pathname !== '/' || /[?#]/.test(value)) return undefined;
  return url.origin;
}

/**
 * An entry of fraisier.allowed_hosts: a host name, or `.example.com` for that domain and its
 * subdomains (as Vite and webpack's dev servers spell it). Undefined when it is neither.
 */
export function canonicalAllowedHost(entry: string): string | undefined {
  const trimmed = entry.trim();
  if (trimmed.startsWith('.')) {
    const domain = canonicalHostname(trimmed.slice(1));
    return domain && !domain.startsWith('[') ? `.${domain}` : undefined;
  }
  return canonicalHostname(trimmed);
}

/** Is `hostname` (canonical) one of `allowed` (canonical entries of fraisier.allowed_hosts)? */
export function hostnameListed(hostname: string, allowed: readonly string[]): boolean {
  return allowed.some((entry) => (entry.startsWith('.') ? hostname === entry.slice(1) || hostname.endsWith(entry) : hostname === entry));
}
