import type { IncomingHttpHeaders } from 'node:http';
import type { ServerSettings } from '../config/types.js';
import { canonicalHostname, canonicalOrigin, hostnameListed } from '../config/web-names.js';

/*
 * Who may talk to this server from a browser. Two checks, both before any route runs:
 *
 * - Host (DNS rebinding): a page on evil.example can make its name resolve to 127.0.0.1, and the
 *   browser then treats this server as evil.example's own, reads included. Such requests still
 *   say `Host: evil.example`, so an open API (no tokens) answers only to loopback names and to
 *   fraisier.allowed_hosts, as Vite's and webpack's dev servers do. With tokens a rebinding page
 *   has nothing to authenticate with, so the check applies only once allowed_hosts is set.
 * - Origin (cross-site requests): a page on another origin may POST JSON, open a WebSocket
 *   (browsers apply no CORS there) or subscribe. Any request that says it comes from a foreign
 *   origin (not this server's, not in fraisier.allowed_origins) is refused on the routes that
 *   can change state. Clients that are not browsers (the CLI, curl, Git providers) send no
 *   Origin and are let through: they cannot be steered by a web page.
 */

/** Why a request is refused: its status, a machine code and a sentence saying what to change. */
export interface Refusal {
  status: 403 | 421;
  code: 'FORBIDDEN' | 'MISDIRECTED_REQUEST';
  message: string;
}

type TrustSettings = Pick<ServerSettings, 'tokens' | 'allowedHosts' | 'allowedOrigins'>;

/** The Host header's name and port; undefined when it is not `name[:port]`. */
export function parseHost(header: string | undefined): { hostname: string; port?: number } | undefined {
  const match = header ? /^(\[[^\]]*\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(header.trim()) : null;
  const hostname = match ? canonicalHostname(match[1]!.replace(/^\[|\]$/g, '')) : undefined;
  if (!hostname) return undefined;
  return match![2] ? { hostname, port: Number(match![2]) } : { hostname };
}

/** localhost, *.localhost, 127.0.0.0/8, [::1] (and 127.x written as an IPv4-mapped IPv6 address). */
export function isLoopbackHostname(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname.endsWith('.localhost') ||
    /^127\.\d+\.\d+\.\d+$/.test(hostname) ||
    hostname === '[::1]' ||
    /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(hostname)
  );
}

/** Undefined when the Host header names this server; the refusal (421) otherwise. */
export function hostRefusal(header: string | undefined, settings: TrustSettings): Refusal | undefined {
  if (settings.tokens.length > 0 && settings.allowedHosts.length === 0) return undefined;
  const host = parseHost(header);
  if (host && (isLoopbackHostname(host.hostname) || hostnameListed(host.hostname, settings.allowedHosts))) return undefined;
  const named = host?.hostname ?? shown(header ?? '');
  return {
    status: 421,
    code: 'MISDIRECTED_REQUEST',
    message: header
      ? `this server does not answer to the host "${named}": it answers to loopback names (localhost, 127.0.0.1, [::1]) and to fraisier.allowed_hosts; if "${named}" is this server's name, add it there (or to FRAISIER_ALLOWED_HOSTS)`
      : 'the request has no Host header: name this server (localhost, 127.0.0.1, or a host in fraisier.allowed_hosts)',
  };
}

/**
 * Undefined when the request may act: it carries no Origin (not a browser, or a browser's
 * same-origin GET) and is not marked cross-site, or its Origin is this server's (same host and
 * port as the Host it was sent to) or listed. The refusal (403) otherwise.
 */
export function originRefusal(headers: IncomingHttpHeaders, settings: TrustSettings): Refusal | undefined {
  const { origin } = headers;
  if (origin !== undefined) {
    const canonical = canonicalOrigin(origin);
    if (canonical && (settings.allowedOrigins.includes(canonical) || sameHost(canonical, headers.host))) return undefined;
    return {
      status: 403,
      code: 'FORBIDDEN',
      message: `cross-origin request refused: the origin "${shown(origin)}" is not this server's and is not listed in fraisier.allowed_origins (or FRAISIER_ALLOWED_ORIGINS)`,
    };
  }
  // No Origin but marked cross-site: an <img>, <script> or no-cors fetch from another site. A
  // link followed to this server (a navigation) stays allowed.
  if (first(headers['sec-fetch-site']) === 'cross-site' && first(headers['sec-fetch-mode']) !== 'navigate') {
    return {
      status: 403,
      code: 'FORBIDDEN',
      message: 'cross-site request refused (Sec-Fetch-Site: cross-site): list the calling page\'s origin in fraisier.allowed_origins to allow it',
    };
  }
  return undefined;
}

/** The origin CORS grants to a request from `origin`: itself when listed, else none (never a reflection). */
export function corsOrigin(origin: string | null | undefined, settings: Pick<ServerSettings, 'allowedOrigins'>): string | undefined {
  const canonical = origin ? canonicalOrigin(origin) : undefined;
  return canonical && settings.allowedOrigins.includes(canonical) ? canonical : undefined;
}

/** Is `origin` the server the request was sent to? The Host header carries no scheme: a port it leaves out is the origin's default. */
function sameHost(origin: string, hostHeader: string | undefined): boolean {
  const host = parseHost(hostHeader);
  if (!host) return false;
  const url = new URL(origin);
  const defaultPort = url.protocol === 'https:' ? 443 : 80;
  return url.hostname === host.hostname && (url.port ? Number(url.port) : defaultPort) === (host.port ?? defaultPort);
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A header value as it may appear in an answer: short, one line. */
function shown(value: string): string {
  const line = value.replace(/[^\x20-\x7e]/g, '?');
  return line.length > 100 ? `${line.slice(0, 100)}...` : line;
}
