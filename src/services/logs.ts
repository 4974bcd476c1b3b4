import { assertCan, type Principal } from '../auth/principal.js';
import { BadInputError, FraisierError } from '../errors.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { Catalog } from './catalog.js';

export const MAX_LOG_LINES = 10_000;

/** The target could not produce logs (no logs command configured, host unreachable, ...). */
export class LogsUnavailableError extends FraisierError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

/** Recent logs of a (fraise, environment), from its target provider's `logs()`. */
export class LogService {
  constructor(
    private readonly catalog: Catalog,
    private readonly providers: ProviderRegistry,
  ) {}

  async logs(principal: Principal, fraise: string, environment: string, lines = 100): Promise<string> {
    const env = this.catalog.environment(fraise, environment);
    assertCan(principal, 'read', fraise, environment);
    if (!Number.isInteger(lines) || lines < 1 || lines > MAX_LOG_LINES) {
      throw new BadInputError(`lines must be between 1 and ${MAX_LOG_LINES} (got ${lines})`);
    }
    const provider = this.providers.get(env.target.provider);
    if (!provider) {
      throw new LogsUnavailableError(
        `${fraise}/${environment}: target provider "${env.target.provider}" is not available in this Fraisier (available: ${this.providers.names().join(', ')})`,
      );
    }
    try {
      return await provider.logs({ fraise: this.catalog.fraise(fraise), env }, lines);
    } catch (error) {
      if (error instanceof FraisierError) throw error;
      const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
      const prefix = `${fraise}/${environment}`;
      throw new LogsUnavailableError(message.startsWith(prefix) ? message : `${prefix}: cannot read logs: ${message}`);
    }
  }
}
