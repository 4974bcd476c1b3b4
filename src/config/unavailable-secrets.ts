import { FraisierError } from '../errors.js';
import type { FraisierConfig } from './types.js';

/*
 * A configuration loaded to read (history, status, list, config show...) need not have its
 * secrets: their ${VAR}s may be unset. Such a secret is unavailable, not empty: it is left out of
 * the model (an empty webhook secret or token must never verify anything), listed here, and
 * whatever would use secrets refuses to start, naming each key and its variable.
 */

/** A secret whose ${VAR} is not set, in a configuration loaded with `secrets: 'deferred'`. */
export interface UnavailableSecret {
  /** Its key path, e.g. git.github.webhook_secret */
  path: string;
  /** The environment variable it needs. */
  variable: string;
  line?: number;
}

/** Something needed secrets that were not loaded. */
export class SecretsUnavailableError extends FraisierError {
  readonly secrets: readonly UnavailableSecret[];

  constructor(purpose: string, secrets: readonly UnavailableSecret[]) {
    const each = secrets.map((s) => `${s.path} needs ${s.variable}, which is not set${s.line ? ` (line ${s.line})` : ''}`);
    super('CONFIG_INVALID', `cannot ${purpose}: ${each.join('; ')}`);
    this.secrets = secrets;
  }
}

/** Throws unless every secret of the configuration was loaded: before serving, deploying, asking a target. */
export function requireSecrets(config: FraisierConfig, purpose: string): void {
  const missing = config.unavailableSecrets ?? [];
  if (missing.length) throw new SecretsUnavailableError(purpose, missing);
}
