import { EXIT } from '../exit-codes.js';

/*
 * One mapping from what went wrong to an exit code, for both modes: the services' error codes
 * locally, the API's `extensions.code` remotely.
 */

export function exitCodeFor(code: string | undefined): number {
  switch (code) {
    case 'BAD_USER_INPUT':
    case 'CONFIG_INVALID':
    case 'GRAPHQL_VALIDATION_FAILED':
    case 'GRAPHQL_PARSE_FAILED':
      return EXIT.USAGE;
    case 'STORE_UNAVAILABLE':
      return EXIT.UNREACHABLE;
    default:
      // NOT_FOUND, CONFLICT, FORBIDDEN, UNAUTHENTICATED, and anything unexpected: it failed.
      return EXIT.FAILED;
  }
}

/** The first line of an error's message (never a stack trace). */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim() || (error instanceof Error ? error.name : 'unknown error');
}
