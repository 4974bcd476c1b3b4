import { join, resolve } from 'node:path';
import { findConfigFile, type LoadedConfig, type LoadOptions, loadConfigFile } from '../config/load.js';
import { ConfigError, formatProblem } from '../config/problems.js';
import type { SettingsOverrides } from '../config/settings.js';
import { CliError, EXIT } from './exit-codes.js';
import { PACKAGE_ROOT } from './package-info.js';

export const EXAMPLE_CONFIG = join(PACKAGE_ROOT, 'fraises.example.yaml');

/** Whether `path` is the example shipped with Fraisier (what `npm start` falls back to). */
export function isBundledExample(path: string): boolean {
  return resolve(path) === EXAMPLE_CONFIG;
}

/** What a command says (on stderr, and serve in its log) when it uses the bundled example. */
export const EXAMPLE_NOTICE = `no fraises.yaml here; using the bundled example ${EXAMPLE_CONFIG} (pass --config or set FRAISIER_CONFIG)`;

export interface ConfigFlags {
  config?: string;
}

export interface FoundConfig {
  path: string;
  /** No --config, $FRAISIER_CONFIG nor a fraises.yaml in its places: the bundled example is used. */
  example: boolean;
}

export interface CliLoadOptions {
  overrides?: SettingsOverrides;
  env?: NodeJS.ProcessEnv;
  /** deferred: the command only reads, and a secret whose ${VAR} is unset may stay unavailable. */
  secrets?: LoadOptions['secrets'];
}

/**
 * The configuration file, found as `npm start` finds it: --config, $FRAISIER_CONFIG,
 * ./fraises.yaml, ./config/fraises.yaml, /opt/fraisier/fraises.yaml, then the bundled example, which is said on stderr (never on stdout, where
 * JSON or YAML may go).
 */
export function findCliConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): FoundConfig {
  const path = findConfigFile({ ...(flags.config ? { explicit: flags.config } : {}), env });
  if (path) return { path, example: false };
  process.stderr.write(`fraisier: ${EXAMPLE_NOTICE}\n`);
  return { path: EXAMPLE_CONFIG, example: true };
}

/** Finds and loads the configuration; a problem becomes a CliError (exit 2) listing every problem. */
export function loadCliConfig(flags: ConfigFlags, options: CliLoadOptions = {}): LoadedConfig & FoundConfig {
  const env = options.env ?? process.env;
  const found = findCliConfig(flags, env);
  try {
    return { ...loadConfigFile(found.path, { env, overrides: options.overrides ?? {}, secrets: options.secrets ?? 'required' }), ...found };
  } catch (error) {
    if (error instanceof ConfigError) {
      const lines = error.problems.filter((p) => p.severity === 'error').map(formatProblem);
      throw new CliError(`${found.path}: ${lines.length} problem${lines.length === 1 ? '' : 's'}\n${lines.join('\n')}`, EXIT.USAGE);
    }
    throw error;
  }
}
