import pino, { type Logger } from 'pino';

/**
 * JSON logs on stdout (pino). Fields that could hold a secret are redacted whatever the caller
 * logs; configuration values are never logged whole.
 */
export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'fraisier' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          'headers.authorization',
          '*.headers.authorization',
          'headers["x-gitlab-token"]',
          '*.headers["x-gitlab-token"]',
          'secret',
          '*.secret',
          'token',
          '*.token',
          'password',
          '*.password',
          'databaseUrl',
          '*.databaseUrl',
        ],
        censor: '********',
      },
    },
    options.destination,
  );
}

export type { Logger };
