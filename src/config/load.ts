import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { normalize } from './normalize.js';
import { ConfigError, type ConfigProblem, formatPath, type PathSegment } from './problems.js';
import { isNotificationSecretPath } from './notification-schemas.js';
import { isSecretPath } from './secrets.js';
import { resolveSettings, type SettingsOverrides } from './settings.js';
import { TARGET_SCHEMAS } from './target-schemas.js';
import { webhookSecretsFromEnv } from './env-webhook-secrets.js';
import { isReadLater } from './read-later.js';
import { checkApprovers } from './protection.js';
import { BUILTIN_GIT_PROVIDERS, type FraisierConfig, type GitConfig } from './types.js';
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
  /** Why some of them are not used, or what does their work here (by key path). */
  unusedNotes: Record<string, string>;
  /** Unset ${VAR}s left as written where systemd or a shell reads the value later (see read-later.ts). */
  leftAsWritten: { path: string; variable: string; line?: number }[];
  /** Providers whose webhook secrets came from FRAISIER_WEBHOOK_SECRET* (variable names, never values). */
  secretsFromEnv: Record<string, string[]>;
}

/** Parses and validates fraises.yaml text. Throws ConfigError with every problem found. */
export function parseConfig(text: string, options: LoadOptions & { path?: string } = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const { source, problems } = parseYaml(text);
  if (problems.length) throw new ConfigError(problems, options.path);
  const expansion = expandEnv(source, env, { passThrough: isReadLater, ...(options.secrets === 'deferred' ? { defer: deferrable } : {}) });
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
    unavailable: new Set(unavailableSecrets.map((u) => u.path)),
  });
  const settings = resolveSettings(raw.fraisier, env, options.overrides, new Set(unavailableSecrets.map((u) => u.path)));
  // Settings problems name a key path (or a FRAISIER_* variable, which has no line).
  for (const problem of settings.problems) {
    const line = problem.path.startsWith('fraisier') ? lineOf(source, problem.path.split('.').flatMap(splitIndex)) : undefined;
    all.push(line ? { ...problem, line } : problem);
  }
  // Whether enough tokens may approve each approvals gate: known once the tokens are.
  checkApprovers(normalized.config.fraises, settings.settings.tokens, raw, (severity, path, message, key) =>
    void all.push({ severity, path: formatPath(key === undefined ? path : [...path, key]), line: lineOf(source, path, key), message }),
  );
  // A value whose ${VAR} is unset was already reported: what the schema says of the empty value left behind is noise.
  const unexpanded = new Set(expansion.problems.map((p) => p.path));
  all.push(...normalized.problems.filter((p) => !unexpanded.has(p.path)));
  if (all.some((p) => p.severity === 'error')) throw new ConfigError(all, options.path);

  const secretsFromEnv = addEnvWebhookSecrets(normalized.config.git, env, new Set(unavailableSecrets.map((u) => u.path.split('.').slice(0, 2).join('.'))));
  const config: FraisierConfig = {
    ...normalized.config,
    ...(options.path ? { path: options.path } : {}),
    settings: settings.settings,
    ...(unavailableSecrets.length ? { unavailableSecrets } : {}),
  };
  const warnings = [...all, ...refusedProviderWarnings(config)];
  const unused = unusedKeys(data);
  return {
    config,
    warnings,
    unused: unused.map((u) => u.path),
    unusedNotes: Object.fromEntries(unused.filter((u) => u.note).map((u) => [u.path, u.note!])),
    leftAsWritten: expansion.leftAsWritten.map((u) => ({ path: formatPath(u.path), variable: u.variable, ...(u.line ? { line: u.line } : {}) })),
    secretsFromEnv,
  };
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

/** Where the Python Fraisier's installations keep their configuration: looked for last. */
export const SYSTEM_CONFIG_FILE = '/opt/fraisier/fraises.yaml';

/**
 * Where the configuration is: --config, then FRAISIER_CONFIG, then ./fraises.yaml (or .yml),
 * ./config/fraises.yaml, /opt/fraisier/fraises.yaml (the Python Fraisier's order), then the
 * fallback (the bundled example). Undefined when there is none.
 */
export function findConfigFile(options: {
  explicit?: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
  fallback?: string;
  /** Default SYSTEM_CONFIG_FILE; tests name one of their own. */
  systemFile?: string;
}): string | undefined {
  const cwd = options.cwd ?? process.cwd();
  if (options.explicit) return options.explicit;
  const fromEnv = (options.env ?? process.env).FRAISIER_CONFIG;
  if (fromEnv) return fromEnv;
  const candidates = [resolve(cwd, 'fraises.yaml'), resolve(cwd, 'fraises.yml'), resolve(cwd, 'config', 'fraises.yaml'), options.systemFile ?? SYSTEM_CONFIG_FILE];
  return candidates.find((candidate) => existsSync(candidate)) ?? options.fallback;
}

/**
 * Built-in providers given no secret by the file take FRAISIER_WEBHOOK_SECRET* (see
 * env-webhook-secrets.ts); `skip` names sections (git.<provider>) whose secret the file gives but
 * is unavailable. Returns the variables each provider's secrets came from.
 */
function addEnvWebhookSecrets(git: GitConfig, env: Record<string, string | undefined>, skip: ReadonlySet<string>): Record<string, string[]> {
  const used: Record<string, string[]> = {};
  for (const name of BUILTIN_GIT_PROVIDERS) {
    const provider = git.providers[name];
    if (!provider || provider.secrets.length > 0 || skip.has(`git.${name}`)) continue;
    const found = webhookSecretsFromEnv(name, env);
    if (found.secrets.length === 0) continue;
    provider.secrets = found.secrets;
    used[name] = found.variables;
  }
  return used;
}

/** Built-in providers that will refuse every delivery because no secret is configured. */
export function providersWithoutSecret(config: FraisierConfig): string[] {
  return BUILTIN_GIT_PROVIDERS.filter((name) => (config.git.providers[name]?.secrets.length ?? 0) === 0);
}

/** Secrets may stay unset, except in the store's URL: reading needs the store. */
function deferrable(path: readonly PathSegment[], inUrlPassword: boolean): boolean {
  if (path.length === 2 && path[0] === 'fraisier' && path[1] === 'database') return false;
  return inUrlPassword || isSecretPath(path) || isNotificationSecretPath(path);
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
        `; set git.${name}.${name === 'gitlab' ? 'secret_token' : 'webhook_secret'} (or FRAISIER_WEBHOOK_SECRET_${name.toUpperCase()})`,
    });
  }
  return warnings;
}
