import { parseConfig } from '../../src/config/load.js';
import { ConfigError, formatProblem } from '../../src/config/problems.js';

/** The errors a configuration is refused with, one formatted line each; throws when it loads. */
export function configErrors(text: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(text, { env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.filter((p) => p.severity === 'error').map(formatProblem);
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}
