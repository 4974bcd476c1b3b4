import type { FraisierConfig } from '../config/types.js';
import { normalizeEvent } from './normalize.js';
import { parseJsonBody } from './payload.js';
import { type DeliveryDescription, type NormalizedEvent, PayloadSyntaxError, type VerifyContext, type VerifyOutcome, type WebhookHeaders } from './provider.js';
import { canonicalProviderName, type ResolvedProvider } from './registry.js';

/*
 * The two steps before anything is written: which secrets may have signed a delivery and
 * whether one did (fail closed: none configured, none matching, a custom verify() that throws
 * or names a secret it was not given, all mean "invalid"); then reading what it says.
 */

export interface ProviderSecrets {
  /** Every secret a delivery may be signed with: the provider's and its fraises' own. */
  all: string[];
  /** The provider's own (`git.<name>`, or a custom provider's `secrets`). */
  provider: string[];
}

/** The name a fraise's `git.provider` uses for this provider. */
export function providerName(resolved: ResolvedProvider): string {
  return resolved.custom ? resolved.provider.name : resolved.storedName;
}

export function providerSecrets(config: FraisierConfig, resolved: ResolvedProvider): ProviderSecrets {
  const name = providerName(resolved);
  const own = resolved.custom ? (resolved.provider.secrets ?? []) : (config.git.providers[name]?.secrets ?? []);
  const fraises = config.fraises
    .filter((f) => canonicalProviderName(f.git?.provider ?? config.git.defaultProvider) === name)
    .flatMap((f) => f.git?.secrets ?? []);
  const valid = (s: unknown): s is string => typeof s === 'string' && s !== '';
  return { provider: own.filter(valid), all: [...new Set([...own, ...fraises].filter(valid))] };
}

export function verifyDelivery(resolved: ResolvedProvider, context: Omit<VerifyContext, 'secrets'>, secrets: ProviderSecrets): VerifyOutcome {
  const name = providerName(resolved);
  if (secrets.all.length === 0) {
    const hint = resolved.custom
      ? `give the registered provider its secrets, or a fraise with git.provider: ${name} its git.webhook_secret`
      : `set git.${name}.${name === 'gitlab' ? 'secret_token' : 'webhook_secret'} or FRAISIER_WEBHOOK_SECRET_${name.toUpperCase()}`;
    return { valid: false, reason: `no webhook secret is configured for ${name}: every ${name} delivery is refused (${hint})` };
  }
  let outcome: VerifyOutcome;
  try {
    outcome = resolved.provider.verify({ body: context.body, headers: context.headers, signature: context.signature, secrets: secrets.all, now: context.now });
  } catch (error) {
    return { valid: false, reason: `the ${name} provider could not verify the delivery: ${(error as Error).message}` };
  }
  if (outcome?.valid === true && secrets.all.includes(outcome.secret)) return outcome;
  return { valid: false, reason: outcome?.valid === false && typeof outcome.reason === 'string' ? outcome.reason : 'the signature does not match any configured secret' };
}

/** The delivery read, or why it could not be: `syntax` when the body is not JSON (answered 400). */
export type ReadDelivery = { event: NormalizedEvent } | { unreadable: string; syntax: boolean };

export function readDelivery(
  resolved: ResolvedProvider,
  delivery: { body: Buffer; text: string; headers: WebhookHeaders; event: string | null; deliveryId: string | null },
): ReadDelivery {
  let json: ReturnType<typeof parseJsonBody> | undefined;
  try {
    const parsed = resolved.provider.parse({
      body: delivery.body,
      text: delivery.text,
      headers: delivery.headers,
      event: delivery.event,
      deliveryId: delivery.deliveryId,
      json: () => (json ??= parseJsonBody(delivery.text, delivery.headers)),
    });
    return { event: normalizeEvent(parsed, { provider: resolved.storedName, event: delivery.event, deliveryId: delivery.deliveryId }) };
  } catch (error) {
    if (error instanceof PayloadSyntaxError) return { unreadable: error.message, syntax: true };
    return { unreadable: `the ${providerName(resolved)} payload could not be read: ${(error as Error)?.message ?? String(error)}`, syntax: false };
  }
}

/** What the headers say of a delivery (event, delivery id, signature); nothing when a custom describe() throws. */
export function describeDelivery(resolved: ResolvedProvider, headers: WebhookHeaders): DeliveryDescription {
  const none: DeliveryDescription = { event: null, deliveryId: null, signature: null };
  if (!resolved.provider.describe) return none;
  try {
    return resolved.provider.describe(headers) ?? none;
  } catch {
    // A custom describe() that throws describes nothing; verify() still decides.
    return none;
  }
}
