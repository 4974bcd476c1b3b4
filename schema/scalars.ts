import { GraphQLError, Kind } from 'graphql';
import { builder } from './builder.js';

/** ISO-8601 UTC timestamps, e.g. "2026-11-21T10:00:00.000Z". */
export const DateTimeScalar = builder.scalarType('DateTime', {
  description: 'An ISO-8601 timestamp in UTC, e.g. "2026-11-21T10:00:00.000Z"',
  serialize: (value) => (typeof value === 'string' ? new Date(value).toISOString() : value.toISOString()),
  parseValue: (value) => parseDate(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be a string such as "2026-11-21T10:00:00Z"');
    return parseDate(ast.value);
  },
});

export const JSONScalar = builder.scalarType('JSON', {
  description: 'Any JSON value',
  serialize: (value) => value,
  parseValue: (value) => value,
});

function parseDate(value: unknown): Date {
  const date = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) {
    throw new GraphQLError(`DateTime must be an ISO-8601 timestamp such as "2026-11-21T10:00:00Z" (got ${JSON.stringify(value)})`, {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  return date;
}
