/**
 * The errors Fraisier expects. Each carries a machine `code`: the API maps it to
 * `extensions.code` (and the webhook route to an HTTP status), the CLI to an exit code.
 * Anything else that escapes is a bug and is masked before it reaches a client.
 */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'CONFLICT'
  | 'INVALID_SIGNATURE'
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'STORE_UNAVAILABLE'
  | 'CONFIG_INVALID';

export class FraisierError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class NotFoundError extends FraisierError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

export class BadInputError extends FraisierError {
  constructor(message: string) {
    super('BAD_USER_INPUT', message);
  }
}

export class UnauthenticatedError extends FraisierError {
  constructor(message = 'authentication required: send Authorization: Bearer <token>') {
    super('UNAUTHENTICATED', message);
  }
}

export class ForbiddenError extends FraisierError {
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

export class ConflictError extends FraisierError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

export class InvalidSignatureError extends FraisierError {
  constructor(message: string) {
    super('INVALID_SIGNATURE', message);
  }
}

/** The store could not be reached or failed mid-write; callers should retry later (HTTP 503). */
export class StoreUnavailableError extends FraisierError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_UNAVAILABLE', message, options);
  }
}

export function isFraisierError(error: unknown): error is FraisierError {
  return error instanceof FraisierError;
}
