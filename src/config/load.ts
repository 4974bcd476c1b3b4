import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { normalize } from './normalize.js';
import { ConfigError, type ConfigProblem, formatPath, type PathSegment } from './problems.js';
import { isSecretPath } from './secrets.js';
import { resolveSettings, type SettingsOverrides } from './settings.js';
import { TARGET_SCHEMAS } from './target-schemas.js';
import { BUILTIN_GIT_PROVIDERS, type FraisierConfig } from './types.js';
import { unusedKeys, validateRaw } from './validate.js';
import { expandEnv, lineOf, parseYaml } from './yaml-source.js';

/** "tokens[0]" → ["tokens", 0] */
function splitIndex(segment: string): (string | number)[] {
  const match = /^([^[]+)\[(\d+)\]$/.exec(segment);
  return match ? [match[1]!, Number(match[2])] : [segment];
}

export interface LoadOptions {
  /** Variables for ${VAR} expansion and FRAISIER_* settings (default: process.env). */
  env?: Record<string, string | undefined>;
  /** CLI flags: they win over the file and the environment. */
  overrides?: SettingsOverrides;
  /** Target providers and the schema of their settings (default: the built-in ones). */
  targetSchemas?: Record<string, z.ZodObject | null>;
  /** Names of registered custom Git providers. */
  customGitProviders?: readonly string[];
  /**
   * required (the default): every ${VAR} must be set. deferred: to read only (history, status,
   * config show...), a secret whose ${VAR} is unset is left out and listed in
   * config.unavailableSecrets, and requireSecrets refuses whatever would use it. The store's URL
   * is always required: reading needs it.
   */
  secrets?: 'required' | 'deferred';
}

export interface LoadedConfig {
  config: FraisierConfig;
  /** Worth saying, not worth refusing to start: unknown providers, webhooks that will be refused... */
  warnings: ConfigProblem[];
  /** Keys present in the file that Fraisier loads but does not act on yet. */
  unused: string[];
}

/** Parses and validates fraises.yaml text. Throws ConfigError with every problem found. */
export function parseConfig(text: string, options: LoadOptions & { path?: string } = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const { source, problems } = parseYaml(text);
  if (problems.length) throw new ConfigError(problems, options.path);
  const expansion = expandEnv(source, env, options.secrets === 'deferred' ? { defer: deferrable } : {});
  const data: unknown = source.doc.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError([{ severity: 'error', path: '(top level)', line: 1, message: 'expected a mapping with at least "fraises:"' }], options.path);
  }
  // Left out, never read as "": an empty webhook secret or token must not verify anything.
  leaveOut(data, expansion.unset.map((u) => u.path));
  const unavailableSecrets = expansion.unset.map((u) => ({ path: formatPath(u.path), variable: u.variable, ...(u.line ? { line: u.line } : {}) }));
  const { raw, problems: schemaProblems } = validateRaw(data, source);
  const all = [...expansion.problems, ...schemaProblems];
  if (!raw) throw new ConfigError(all, options.path);

  const normalized = normalize(raw, data, source, {
    targetSchemas: options.targetSchemas ?? TARGET_SCHEMAS,
    customGitProviders: options.customGitProviders ?? [],
  });
  const settings = resolveSettings(raw.fraisier, env, options.overrides, new Set(unavailableSecrets.map((u) => u.path)));
  // Settings problems name a key path (or a FRAISIER_* variable, which has no line).
  for (const problem of settings.problems) {
    const line = problem.path.startsWith('fraisier') ? lineOf(source, problem.path.split('.').flatMap(splitIndex)) : undefined;
    all.push(line ? { ...problem, line } : problem);
  }
  all.push(...normalized.problems);
  if (all.some((p) => p.severity === 'error')) throw new ConfigError(all, options.path);

  const config: FraisierConfig = {
    ...normalized.config,
    ...(options.path ? { path: options.path } : {}),
    settings: settings.settings,
    ...(unavailableSecrets.length ? { unavailableSecrets } : {}),
  };
  const warnings = [...all, ...refusedProviderWarnings(config)];
  return { config, warnings, unused: unusedKeys(data) };
}

export function loadConfigFile(path: string, options: LoadOptions = {}): LoadedConfig {
  const absolute = resolve(path);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError([{ severity: 'error', path: '(file)', message: `cannot read ${path}: ${reason}` }], path);
  }
  return parseConfig(text, { ...options, path });
}

/**
 * Where the configuration is: --config, then FRAISIER_CONFIG, then ./fraises.yaml, then the
 * fallback (npm start passes fraises.example.yaml). Undefined when there is none.
 */
export function findConfigFile(options: { explicit?: string; env?: Record<string, string | undefined>; cwd?: string; fallback?: string }): string | undefined {
  const cwd = options.cwd ?? process.cwd();
  if (options.explicit) return options.explicit;
  const fromEnv = (options.env ?? process.env).FRAISIER_CONFIG;
  if (fromEnv) return fromEnv;
  for (const candidate of ['fraises.yaml', 'fraises.yml']) {
    if (existsSync(resolve(cwd, candidate))) return resolve(cwd, candidate);
  }
  return options.fallback;
}

/** Built-in providers that will refuse every delivery because no secret is configured. */
export function providersWithoutSecret(config: FraisierConfig): string[] {
  return BUILTIN_GIT_PROVIDERS.filter((name) => (config.git.providers[name]?.secrets.length ?? 0) === 0);
}

/** Secrets may stay unset, except in the store's URL: reading needs the store. */
function deferrable(path: readonly PathSegment[], inUrlPassword: boolean): boolean {
  if (path.length === 2 && path[0] === 'fraisier' && path[1] === 'database') return false;
  return inUrlPassword || isSecretPath(path);
}

/** Deletes the values at these paths (in a list, the later items first, so the indices stay right). */
function leaveOut(data: object, paths: readonly PathSegment[][]): void {
  const unique = [...new Map(paths.map((path) => [formatPath(path), path])).values()];
  for (const path of unique.sort(laterFirst)) {
    let parent: unknown = data;
    for (const segment of path.slice(0, -1)) parent = (parent as Record<string | number, unknown> | undefined)?.[segment];
    const last = path[path.length - 1]!;
    if (Array.isArray(parent) && typeof last === 'number') parent.splice(last, 1);
    else if (parent && typeof parent === 'object') delete (parent as Record<string, unknown>)[String(last)];
  }
}

function laterFirst(a: readonly PathSegment[], b: readonly PathSegment[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const [x, y] = [a[i]!, b[i]!];
    if (x === y) continue;
    return typeof x === 'number' && typeof y === 'number' ? y - x : String(x).localeCompare(String(y));
  }
  return b.length - a.length;
}

function refusedProviderWarnings(config: FraisierConfig): ConfigProblem[] {
  const warnings: ConfigProblem[] = [];
  for (const name of providersWithoutSecret(config)) {
    // Its secret is there, only not loaded (read-only): not a provider without one.
    if (config.unavailableSecrets?.some((u) => u.path.startsWith(`git.${name}.`))) continue;
    const viaFraise = config.fraises.filter((f) => f.git?.provider === name && f.git.secrets.length > 0).map((f) => f.name);
    warnings.push({
      severity: 'warning',
      code: 'webhook-secret-missing',
      path: `git.${name}`,
      message:
        `no webhook secret: ${name} deliveries are refused` +
        (viaFraise.length ? ` (except for ${viaFraise.join(', ')}, which ${viaFraise.length === 1 ? 'has its' : 'have their'} own)` : '') +
        `; set git.${name}.${name === 'gitlab' ? 'secret_token' : 'webhook_secret'}`,
    });
  }
  return warnings;
}
