import type { z } from 'zod';
import { TARGET_SCHEMAS } from '../config/target-schemas.js';
import type { CommandRunner } from '../exec/runner.js';
import { BareMetalProvider } from './bare-metal/provider.js';
import { CoolifyProvider } from './coolify/provider.js';
import { DockerComposeProvider } from './docker-compose/provider.js';
import type { DeploymentProvider } from './provider.js';

/** A provider whatever its settings' type (each reads its own with `settingsOf`). */
export type AnyProvider = DeploymentProvider<unknown>;

/**
 * The target providers of one app, by name. Built-ins are registered by createApp; users add
 * their own with `register`. The configuration is validated against the schemas of every
 * provider Fraisier knows (registered, or planned with a published schema).
 */
export class ProviderRegistry {
  readonly #providers = new Map<string, AnyProvider>();

  register(provider: AnyProvider): this {
    if (this.#providers.has(provider.name)) throw new Error(`a target provider named "${provider.name}" is already registered`);
    this.#providers.set(provider.name, provider);
    return this;
  }

  get(name: string): AnyProvider | undefined {
    return this.#providers.get(name);
  }

  names(): string[] {
    return [...this.#providers.keys()];
  }

  /** Settings schemas for configuration validation: built-in schemas, then registered providers'. */
  schemas(): Record<string, z.ZodObject | null> {
    const schemas: Record<string, z.ZodObject | null> = { ...TARGET_SCHEMAS };
    for (const provider of this.#providers.values()) schemas[provider.name] = provider.configSchema;
    return schemas;
  }
}

/** The target providers Fraisier ships, then `extra` (a name taken twice is an error). */
export function createProviderRegistry(runner: CommandRunner, now: () => Date, extra: readonly AnyProvider[] = []): ProviderRegistry {
  const registry = new ProviderRegistry().register(new BareMetalProvider(runner, now)).register(new DockerComposeProvider(runner)).register(new CoolifyProvider());
  for (const provider of extra) registry.register(provider);
  return registry;
}
