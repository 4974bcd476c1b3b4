import { GraphQLError } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import type { Logger } from 'pino';
import { type ErrorCode, FraisierError } from '../errors.js';

/** HTTP status for an error code, where the error decides the whole response. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  CONFLICT: 409,
  INVALID_SIGNATURE: 401,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  STORE_UNAVAILABLE: 503,
  CONFIG_INVALID: 500,
};

/** Expected errors that are the server's own trouble, not the client's mistake. */
const SERVER_FAULTS: ReadonlySet<ErrorCode> = new Set(['STORE_UNAVAILABLE', 'CONFIG_INVALID']);

/**
 * Expected errors (FraisierError) reach the client with their message and `extensions.code`,
 * and the log at info: a client's mistake (an unknown fraise, a bad input, a missing token) is
 * no fault of the server's. Anything else is a bug: logged in full at error, answered as
 * "Unexpected error." with no detail.
 */
export function maskError(error: unknown, message: string, logger: Logger): GraphQLError {
  const original = error instanceof GraphQLError ? error.originalError : error;
  const fraisier = findFraisierError(original);
  if (fraisier) {
    const path = error instanceof GraphQLError && error.path ? { path: error.path.join('.') } : {};
    if (SERVER_FAULTS.has(fraisier.code)) logger.error({ code: fraisier.code, ...path, err: fraisier }, fraisier.message);
    else logger.info({ code: fraisier.code, ...path }, `refused: ${fraisier.message}`);
    return createGraphQLError(fraisier.message, {
      ...(error instanceof GraphQLError ? { nodes: error.nodes, path: error.path } : {}),
      extensions: {
        code: fraisier.code,
        // Errors about who is asking decide the HTTP status of the whole answer.
        ...(fraisier.code === 'UNAUTHENTICATED' || fraisier.code === 'FORBIDDEN' || fraisier.code === 'STORE_UNAVAILABLE'
          ? { http: { status: HTTP_STATUS[fraisier.code] } }
          : {}),
      },
    });
  }
  if (error instanceof GraphQLError && !error.originalError) return error; // validation and parse errors
  logger.error({ err: original }, 'unexpected error in a resolver');
  return createGraphQLError(message, {
    ...(error instanceof GraphQLError ? { nodes: error.nodes, path: error.path } : {}),
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}

/** The FraisierError behind a GraphQL error, through originalError and cause. */
export function findFraisierError(error: unknown): FraisierError | undefined {
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    if (current instanceof FraisierError) return current;
    current = (current as { originalError?: unknown; cause?: unknown }).originalError ?? (current as { cause?: unknown }).cause;
  }
  return undefined;
}
