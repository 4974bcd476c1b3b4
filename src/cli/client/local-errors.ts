import { isFraisierError } from '../../errors.js';
import { isTransientStoreError } from '../../store/store.js';
import { CliError, EXIT } from '../exit-codes.js';
import { exitCodeFor, firstLine } from './errors.js';

/** A local-mode failure as a CliError: the service's error code, or the store out of reach (3). */
export function localError(error: unknown, where: string): CliError {
  if (error instanceof CliError) return error;
  if (isFraisierError(error) && error.code !== 'STORE_UNAVAILABLE') return new CliError(firstLine(error), exitCodeFor(error.code));
  if (isTransientStoreError(error)) {
    return new CliError(`cannot reach the store ${where}: ${firstLine(error).replace(/^the store is unavailable: /, '')}`, EXIT.UNREACHABLE);
  }
  return new CliError(firstLine(error), EXIT.FAILED);
}
