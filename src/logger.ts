import pino, { type Logger } from 'pino';

/**
 * JSON logs on stdout (pino). Fields that could hold a secret are redacted whatever the caller
 * logs; configuration values are never logged whole.
 */
export function createLogger(options: { level?: string; destination?: pino.DestinationStream; mixin?: (line: object) => object } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      // Tracing on: trace_id and span_id on the lines about a deployment (tracing.ts).
      ...(options.mixin ? { mixin: options.mixin } : {}),
      base: { service: 'fraisier' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // The top level by pino's own redaction (exact paths cost nothing measurable); one and two
      // levels down by censorNested, which does what the wildcard paths `*.token` did: pino's
      // redaction of those cost 16 to 20 µs a line, three times the line itself, and every
      // webhook delivery writes one.
      redact: { paths: [...SENSITIVE, ...HEADER_SECRETS.map((name) => `headers["${name}"]`)], censor: CENSOR },
      formatters: { log: censorNested },
    },
    options.destination,
  );
}

const CENSOR = '********';
/** Keys whose value is never logged, at any of the first three levels of a log line. */
const SENSITIVE = ['authorization', 'secret', 'token', 'password', 'databaseUrl'];
/** Header names (lower case, as node:http gives them) under a `headers` object. */
const HEADER_SECRETS = ['authorization', 'x-gitlab-token'];

/**
 * The log line with every `<field>.<sensitive>` and `<field>.headers.<secret header>` censored,
 * in a copy: the caller's objects are left as they were. Errors are serialized first (pino's
 * serializer) when they carry such a property, so the message and stack survive the copy.
 */
export function censorNested(line: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key in line) {
    const value = line[key];
    if (value === null || typeof value !== 'object' || Array.isArray(value)) continue;
    const censored = censorObject(value as Record<string, unknown>);
    if (censored !== value) (copy ??= { ...line })[key] = censored;
  }
  return copy ?? line;
}

function censorObject(value: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  const own = () => (copy ??= value instanceof Error ? (pino.stdSerializers.err(value) as unknown as Record<string, unknown>) : { ...value });
  for (const name of SENSITIVE) if (Object.hasOwn(value, name)) own()[name] = CENSOR;
  const headers = value.headers;
  if (headers !== null && typeof headers === 'object' && HEADER_SECRETS.some((name) => Object.hasOwn(headers, name))) {
    const censored: Record<string, unknown> = { ...(headers as Record<string, unknown>) };
    for (const name of HEADER_SECRETS) if (Object.hasOwn(censored, name)) censored[name] = CENSOR;
    own().headers = censored;
  }
  return copy ?? value;
}

export type { Logger };
