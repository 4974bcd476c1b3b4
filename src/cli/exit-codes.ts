/** The CLI's exit codes: scripts rely on them. */
export const EXIT = {
  OK: 0,
  /** The operation failed: a deployment failed, something was not found. */
  FAILED: 1,
  /** Usage or configuration error. */
  USAGE: 2,
  /** The server or the store cannot be reached. */
  UNREACHABLE: 3,
} as const;

/** An error the CLI prints as one line and exits with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Ends the command with `exitCode` and no message: what went wrong was already printed. */
export function silentExit(exitCode: number): CliError {
  return new CliError('', exitCode);
}
