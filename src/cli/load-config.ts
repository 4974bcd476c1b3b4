import { join, resolve } from 'node:path';
import { findConfigFile, type LoadedConfig, loadConfigFile } from '../config/load.js';
import { ConfigError, formatProblem } from '../config/problems.js';
import type { SettingsOverrides } from '../config/settings.js';
import { CliError, EXIT } from './exit-codes.js';
import { PACKAGE_ROOT } from './package-info.js';

export const EXAMPLE_CONFIG = join(PACKAGE_ROOT, 'fraises.example.yaml');

/** Whether `path` is the example shipped with Fraisier (what `npm start` falls back to). */
export function isBundledExample(path: string): boolean {
  return resolve(path) === EXAMPLE_CONFIG;
}

export interface ConfigFlags {
  config?: string;
  /** Use fraises.example.yaml when no configuration is found (what `npm start` does). */
  exampleFallback?: boolean;
}

/** The configuration file to use: --config, $FRAISIER_CONFIG, ./fraises.yaml (or the example); none is a CliError (exit 2). */
export function findCliConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): string {
  const path = findConfigFile({ ...(flags.config ? { explicit: flags.config } : {}), env, ...(flags.exampleFallback ? { fallback: EXAMPLE_CONFIG } : {}) });
  if (!path) {
    throw new CliError('no configuration found: pass --config, set FRAISIER_CONFIG, or create ./fraises.yaml (fraisier init)', EXIT.USAGE);
  }
  return path;
}

/** Finds and loads the configuration; a problem becomes a CliError (exit 2) listing every problem. */
export function loadCliConfig(flags: ConfigFlags, overrides: SettingsOverrides = {}, env: NodeJS.ProcessEnv = process.env): LoadedConfig & { path: string } {
  const path = findCliConfig(flags, env);
  try {
    return { ...loadConfigFile(path, { env, overrides }), path };
  } catch (error) {
    if (error instanceof ConfigError) {
      const lines = error.problems.filter((p) => p.severity === 'error').map(formatProblem);
      throw new CliError(`${path}: ${lines.length} problem${lines.length === 1 ? '' : 's'}\n${lines.join('\n')}`, EXIT.USAGE);
    }
    throw error;
  }
}
