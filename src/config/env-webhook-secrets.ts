import { BUILTIN_GIT_PROVIDERS, type BuiltinGitProvider } from './types.js';

/*
 * Webhook secrets from the environment, as the Python Fraisier read them, for a provider whose
 * git.<provider> section gives none. Precedence, per provider:
 *   1. the file's git.<provider>.webhook_secret / secret_token (the Python Fraisier's file
 *      value also won over the environment's);
 *   2. FRAISIER_WEBHOOK_SECRET_<PROVIDER> (e.g. _GITHUB), alone: the provider's own wins;
 *   3. FRAISIER_WEBHOOK_SECRET, then every other FRAISIER_WEBHOOK_SECRET_<NAME> by name (the
 *      Python Fraisier's per-environment ones, _STAGING...), each accepted, as there.
 * A fraise's own git.webhook_secret is not affected.
 */

const PREFIX = 'FRAISIER_WEBHOOK_SECRET';

export interface EnvWebhookSecrets {
  secrets: string[];
  /** The variables they came from (names only: never the values). */
  variables: string[];
}

export function webhookSecretsFromEnv(provider: BuiltinGitProvider, env: Record<string, string | undefined>): EnvWebhookSecrets {
  const own = `${PREFIX}_${provider.toUpperCase()}`;
  const ownValue = env[own];
  if (ownValue?.trim()) return { secrets: [ownValue], variables: [own] };
  const providerVariables = new Set(BUILTIN_GIT_PROVIDERS.map((name) => `${PREFIX}_${name.toUpperCase()}`));
  const others = Object.keys(env)
    .filter((name) => name.startsWith(`${PREFIX}_`) && !providerVariables.has(name))
    .sort();
  const found: EnvWebhookSecrets = { secrets: [], variables: [] };
  for (const name of [PREFIX, ...others]) {
    const value = env[name];
    if (!value?.trim() || found.secrets.includes(value)) continue;
    found.secrets.push(value);
    found.variables.push(name);
  }
  return found;
}
