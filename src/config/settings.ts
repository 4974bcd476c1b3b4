import { createHash } from 'node:crypto';
import proxyaddr from 'proxy-addr';
import { parseDatabaseUrl } from '../../db/database-url.js';
import type { ConfigProblem } from './problems.js';
import { type RawSettings, toBytes, toSeconds } from './raw-schema.js';
import { SCOPES, type Scope, type ServerSettings, type TokenConfig } from './types.js';
import { canonicalAllowedHost, canonicalOrigin } from './web-names.js';

/*
 * Fraisier's own settings: `fraisier:` in the file, each overridable by a FRAISIER_* variable,
 * and the CLI flags over both.
 */

export const DEFAULT_DATABASE_URL = 'sqlite:./fraisier.db';
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;
export const DEFAULT_PAYLOAD_LIMIT = 1024 * 1024;
export const MAX_PAYLOAD_LIMIT = 25 * 1024 * 1024;
export const DEFAULT_RESPONSE_LIMIT = 8 * 1024 * 1024;

export interface SettingsOverrides {
  host?: string;
  port?: number;
  databaseUrl?: string;
}

export function resolveSettings(
  raw: RawSettings | undefined,
  env: Record<string, string | undefined>,
  overrides: SettingsOverrides = {},
  /** Key paths of secrets left unavailable (a configuration loaded to read only). */
  unavailable: ReadonlySet<string> = new Set(),
): { settings: ServerSettings; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const fail = (path: string, message: string) => problems.push({ severity: 'error', path, message });

  let host = DEFAULT_HOST;
  let port = DEFAULT_PORT;
  const listen = raw?.listen;
  if (typeof listen === 'number') port = listen;
  else if (typeof listen === 'string') {
    const parsed = parseListen(listen);
    if (parsed) ({ host, port } = { host: parsed.host ?? host, port: parsed.port ?? port });
    else fail('fraisier.listen', `expected "host:port", got "${listen}"`);
  } else if (listen) {
    host = listen.host ?? host;
    port = listen.port ?? port;
  }
  if (env.FRAISIER_LISTEN) {
    const parsed = parseListen(env.FRAISIER_LISTEN);
    if (parsed) ({ host, port } = { host: parsed.host ?? host, port: parsed.port ?? port });
    else fail('FRAISIER_LISTEN', `expected "host:port", got "${env.FRAISIER_LISTEN}"`);
  }
  if (env.FRAISIER_HOST) host = env.FRAISIER_HOST;
  if (env.FRAISIER_PORT) {
    const value = intFromEnv(env.FRAISIER_PORT, 0, 65535);
    if (value === undefined) fail('FRAISIER_PORT', `expected a port number, got "${env.FRAISIER_PORT}"`);
    else port = value;
  }
  if (overrides.host) host = overrides.host;
  if (overrides.port !== undefined) port = overrides.port;

  // An empty variable counts as unset, as for FRAISIER_CONFIG (`FRAISIER_DATABASE_URL= fraisier serve`).
  const [databaseUrl, databaseSource] =
    overrides.databaseUrl !== undefined
      ? [overrides.databaseUrl, '--database']
      : env.FRAISIER_DATABASE_URL
        ? [env.FRAISIER_DATABASE_URL, 'FRAISIER_DATABASE_URL']
        : [raw?.database ?? DEFAULT_DATABASE_URL, 'fraisier.database'];
  try {
    parseDatabaseUrl(databaseUrl);
  } catch (error) {
    fail(databaseSource, (error as Error).message);
  }

  const tokens: TokenConfig[] = [];
  (raw?.tokens ?? []).forEach((token, index) => {
    const path = `fraisier.tokens[${index}]`;
    // Still a token (a configuration without tokens is open), one that matches nothing.
    const isUnavailable = unavailable.has(`${path}.token`) || unavailable.has(`${path}.sha256`);
    if (!isUnavailable && !token.token === !token.sha256) return void fail(path, 'give exactly one of "token" and "sha256"');
    tokens.push({
      name: token.name,
      sha256: isUnavailable ? null : token.sha256 ? token.sha256.toLowerCase() : sha256(token.token!),
      scopes: expandScopes(token.scopes),
      ...(token.fraises ? { fraises: new Set(token.fraises) } : {}),
      ...(token.environments ? { environments: new Set(token.environments) } : {}),
      ...(token.groups ? { groups: new Set(token.groups) } : {}),
    });
  });
  if (env.FRAISIER_TOKENS) {
    const parsed = parseTokensEnv(env.FRAISIER_TOKENS);
    if (typeof parsed === 'string') fail('FRAISIER_TOKENS', parsed);
    else tokens.push(...parsed);
  }
  const names = new Set<string>();
  for (const token of tokens) {
    if (names.has(token.name)) fail('fraisier.tokens', `two tokens are named "${token.name}"`);
    names.add(token.name);
  }

  let global = 4;
  let perHost = 1;
  if (typeof raw?.concurrency === 'number') global = raw.concurrency;
  else if (raw?.concurrency) {
    global = raw.concurrency.global ?? global;
    perHost = raw.concurrency.per_host ?? perHost;
  }
  if (env.FRAISIER_CONCURRENCY) {
    const value = intFromEnv(env.FRAISIER_CONCURRENCY, 1, 1000);
    if (value === undefined) fail('FRAISIER_CONCURRENCY', `expected a number ≥ 1, got "${env.FRAISIER_CONCURRENCY}"`);
    else global = value;
  }

  let payloadLimitBytes = DEFAULT_PAYLOAD_LIMIT;
  const payloadLimit = raw?.webhook?.payload_limit ?? raw?.payload_limit;
  if (payloadLimit !== undefined) payloadLimitBytes = toBytes(payloadLimit);
  if (env.FRAISIER_PAYLOAD_LIMIT) {
    const value = /^\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB)?$/i.test(env.FRAISIER_PAYLOAD_LIMIT)
      ? toBytes(/[a-z]$/i.test(env.FRAISIER_PAYLOAD_LIMIT) ? env.FRAISIER_PAYLOAD_LIMIT : Number(env.FRAISIER_PAYLOAD_LIMIT))
      : undefined;
    if (value === undefined) fail('FRAISIER_PAYLOAD_LIMIT', `expected a size such as 1MiB, got "${env.FRAISIER_PAYLOAD_LIMIT}"`);
    else payloadLimitBytes = value;
  }
  if (payloadLimitBytes > MAX_PAYLOAD_LIMIT) {
    fail('fraisier.webhook.payload_limit', `at most 25MiB (GitHub's own cap), got ${payloadLimitBytes} bytes`);
  }

  let rateLimit = { requests: 120, windowSeconds: 60 };
  const rawRate = raw?.webhook?.rate_limit;
  if (rawRate === false) rateLimit = { requests: 0, windowSeconds: 60 };
  else if (rawRate) rateLimit = { requests: rawRate.requests, windowSeconds: rawRate.per ? toSeconds(rawRate.per) : 60 };
  if (env.FRAISIER_RATE_LIMIT) {
    const value = intFromEnv(env.FRAISIER_RATE_LIMIT, 0, 1_000_000_000);
    if (value === undefined) fail('FRAISIER_RATE_LIMIT', `expected deliveries per minute, got "${env.FRAISIER_RATE_LIMIT}"`);
    else rateLimit = { requests: value, windowSeconds: 60 };
  }

  let trustProxy: boolean | string[] = raw?.webhook?.trust_proxy ?? false;
  if (env.FRAISIER_TRUST_PROXY) {
    const value = env.FRAISIER_TRUST_PROXY.trim();
    trustProxy = value === 'true' ? true : value === 'false' ? false : value.split(',').map((s) => s.trim()).filter(Boolean);
  }
  if (Array.isArray(trustProxy)) {
    try {
      proxyaddr.compile(trustProxy);
    } catch (error) {
      fail(env.FRAISIER_TRUST_PROXY ? 'FRAISIER_TRUST_PROXY' : 'fraisier.webhook.trust_proxy', `${(error as Error).message}: expected IP addresses, CIDR ranges ("10.0.0.0/8") or loopback, linklocal, uniquelocal`);
    }
  }

  const allowedOrigins = namesSetting(raw?.allowed_origins, env.FRAISIER_ALLOWED_ORIGINS, 'allowed_origins', canonicalOrigin, fail, {
    expected: 'an origin such as "https://ci.example.com" (scheme, host and port; no path)',
    star: 'list each origin: "*" would let any web page deploy',
  });
  const allowedHosts = namesSetting(raw?.allowed_hosts, env.FRAISIER_ALLOWED_HOSTS, 'allowed_hosts', canonicalAllowedHost, fail, {
    expected: 'a host name such as "fraisier.example.com", or ".example.com" for its subdomains (no scheme, no port)',
    star: 'list each host name: "*" would let any DNS name reach this server (DNS rebinding)',
  });
  let responseLimitBytes = raw?.response_limit !== undefined ? toBytes(raw.response_limit) : DEFAULT_RESPONSE_LIMIT;
  if (env.FRAISIER_RESPONSE_LIMIT) {
    const value = sizeFromEnv(env.FRAISIER_RESPONSE_LIMIT);
    if (value === undefined || value < 1) fail('FRAISIER_RESPONSE_LIMIT', `expected a size such as 8MiB, got "${env.FRAISIER_RESPONSE_LIMIT}"`);
    else responseLimitBytes = value;
  }

  let publicUrl: string | undefined;
  const rawPublicUrl = env.FRAISIER_PUBLIC_URL || raw?.public_url;
  if (rawPublicUrl) {
    publicUrl = canonicalPublicUrl(rawPublicUrl);
    if (publicUrl === undefined) {
      fail(env.FRAISIER_PUBLIC_URL ? 'FRAISIER_PUBLIC_URL' : 'fraisier.public_url', `expected the http(s) address people open the dashboard at, such as "https://deploy.example.com" (no credentials, query or fragment), got ${JSON.stringify(rawPublicUrl)}`);
    }
  }

  let introspection: boolean | null = raw?.introspection ?? null;
  if (env.FRAISIER_INTROSPECTION) introspection = env.FRAISIER_INTROSPECTION === 'true';

  const settings: ServerSettings = {
    host,
    port,
    databaseUrl,
    tokens,
    concurrency: { global, perHost },
    webhook: {
      payloadLimitBytes,
      rateLimit,
      trustProxy,
      storePayload: raw?.webhook?.store_payload ?? true,
    },
    http: {
      headersTimeoutMs: raw?.http?.headers_timeout !== undefined ? toSeconds(raw.http.headers_timeout) * 1000 : 10_000,
      requestTimeoutMs: raw?.http?.request_timeout !== undefined ? toSeconds(raw.http.request_timeout) * 1000 : 30_000,
    },
    websocket: {
      maxBufferedBytes: raw?.websocket?.max_buffered !== undefined ? toBytes(raw.websocket.max_buffered) : 1024 * 1024,
      stallTimeoutMs: raw?.websocket?.stall_timeout !== undefined ? toSeconds(raw.websocket.stall_timeout) * 1000 : 10_000,
      maxSubscriptions: raw?.websocket?.max_subscriptions ?? 100,
      maxQueuedEvents: raw?.websocket?.max_queued_events ?? 10_000,
    },
    introspection,
    responseLimitBytes,
    graphiql: raw?.graphiql ?? true,
    allowedOrigins,
    allowedHosts,
    lease: leaseSettings(raw?.lease),
    pollIntervalSeconds: raw?.poll_interval !== undefined ? toSeconds(raw.poll_interval) : 5,
    drainTimeoutSeconds: raw?.drain_timeout !== undefined ? toSeconds(raw.drain_timeout) : 30,
    logLevel: env.FRAISIER_LOG_LEVEL ?? raw?.log_level ?? 'info',
    ...(env.FRAISIER_INSTANCE_ID || raw?.instance_id ? { instanceId: env.FRAISIER_INSTANCE_ID ?? raw?.instance_id } : {}),
    ...(publicUrl ? { publicUrl } : {}),
  };
  // A holder gives its lease up when it could not renew it for 2·ttl/3: renewing at most every
  // ttl/3 leaves it a second try before that.
  if (settings.lease.heartbeatSeconds > settings.lease.ttlSeconds / 3 + 1e-9) {
    fail('fraisier.lease', `the heartbeat (${settings.lease.heartbeatSeconds}s) must be at most a third of the ttl (${settings.lease.ttlSeconds}s): the lease is renewed every heartbeat and given up after 2/3 of the ttl without a renewal`);
  }
  return { settings, problems };
}

/** ttl 30 s by default; the heartbeat defaults to a third of the ttl. */
function leaseSettings(raw: NonNullable<RawSettings>['lease']): { ttlSeconds: number; heartbeatSeconds: number } {
  const ttlSeconds = raw?.ttl !== undefined ? toSeconds(raw.ttl) : 30;
  return { ttlSeconds, heartbeatSeconds: raw?.heartbeat !== undefined ? toSeconds(raw.heartbeat) : ttlSeconds / 3 };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** admin ⊃ deploy ⊃ read, admin ⊃ approve ⊃ read: deploying does not approve (a CI token must not pass its own gate). */
export function expandScopes(scopes: readonly Scope[]): Set<Scope> {
  const out = new Set<Scope>(scopes);
  if (out.has('admin')) {
    out.add('deploy');
    out.add('approve');
  }
  if (out.has('deploy') || out.has('approve')) out.add('read');
  return out;
}

export function parseListen(value: string): { host?: string; port?: number } | undefined {
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return { port: Number(trimmed) };
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(trimmed);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port > 65535) return undefined;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/**
 * A list of names from the file, or from its variable (comma-separated; it wins when set and not
 * empty), each in canonical form; an entry that is not a name is reported by its path.
 */
function namesSetting(
  fromFile: readonly string[] | undefined,
  fromEnv: string | undefined,
  key: string,
  canonical: (entry: string) => string | undefined,
  fail: (path: string, message: string) => void,
  explain: { expected: string; star: string },
): string[] {
  const variable = `FRAISIER_${key.toUpperCase()}`;
  const entries = fromEnv?.trim()
    ? fromEnv.split(',').map((entry, index) => ({ entry: entry.trim(), path: `${variable}[${index}]` })).filter((e) => e.entry)
    : (fromFile ?? []).map((entry, index) => ({ entry, path: `fraisier.${key}[${index}]` }));
  const names: string[] = [];
  for (const { entry, path } of entries) {
    if (entry.trim() === '*') {
      fail(path, explain.star);
      continue;
    }
    const name = canonical(entry.trim());
    if (name === undefined) fail(path, `expected ${explain.expected}, got ${JSON.stringify(entry)}`);
    else if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** `https://Deploy.example.com/fraisier/` → `https://deploy.example.com/fraisier`; undefined when not such an address. */
function canonicalPublicUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || /[?#]/.test(value)) return undefined;
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** "1MiB", "512KB" or a number of bytes. */
function sizeFromEnv(value: string): number | undefined {
  if (!/^\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB)?$/i.test(value)) return undefined;
  return toBytes(/[a-z]$/i.test(value) ? value : Number(value));
}

function intFromEnv(value: string, min: number, max: number): number | undefined {
  if (!/^\d+$/.test(value.trim())) return undefined;
  const n = Number(value);
  return n >= min && n <= max ? n : undefined;
}

/** FRAISIER_TOKENS="ci:<token>:deploy,viewer:<token>:read" (scopes joined by "+"). */
function parseTokensEnv(value: string): TokenConfig[] | string {
  const tokens: TokenConfig[] = [];
  for (const entry of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, token, scopeList] = entry.split(':');
    if (!name || !token || !scopeList) return 'expected name:token:scope[+scope],... (e.g. ci:<token>:deploy)';
    if (token.length < 16) return `token "${name}" needs at least 16 characters`;
    const scopes = scopeList.split('+');
    const bad = scopes.find((s) => !(SCOPES as readonly string[]).includes(s));
    if (bad) return `token "${name}": unknown scope "${bad}" (read, deploy, approve, admin)`;
    tokens.push({ name, sha256: sha256(token), scopes: expandScopes(scopes as Scope[]) });
  }
  return tokens;
}
