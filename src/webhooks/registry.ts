import { BUILTIN_GIT_PROVIDERS, isBuiltinGitProvider } from '../config/types.js';
import { bitbucket } from './bitbucket.js';
import { gitea } from './gitea.js';
import { github } from './github.js';
import { gitlab } from './gitlab.js';
import type { GitProvider, WebhookHeaders } from './provider.js';

/*
 * The Git providers one app knows: the four built-ins, then whatever was registered. One
 * registry per app (createApp makes it), never a module-level one: two apps in one process
 * (as in tests) do not share providers.
 */

/** Names that reach a built-in under another name (`/webhook/forgejo` is Gitea's). */
const ALIASES: Readonly<Record<string, string>> = { forgejo: 'gitea', gogs: 'gitea' };

/** Built-ins in detection order: Gitea first (it also sends X-GitHub-Event), GitHub last. */
const BUILTINS: readonly GitProvider[] = [gitea, gitlab, bitbucket, github];

const CUSTOM_NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;

/** A provider found by name, with the name its deliveries are stored under. */
export interface ResolvedProvider {
  provider: GitProvider;
  /** `github` ... or `custom:<name>`. */
  storedName: string;
  custom: boolean;
}

export class GitProviderRegistry {
  readonly #custom = new Map<string, GitProvider>();

  /**
   * Adds a provider, reachable at `/webhook/<name>` and tried after the built-ins when a
   * delivery names none. Its deliveries are stored as `custom:<name>`.
   */
  register(provider: GitProvider): void {
    const name = provider?.name;
    if (typeof name !== 'string' || !CUSTOM_NAME.test(name)) {
      throw new TypeError(`a Git provider name is 1 to 40 lower-case letters, digits, "-" or "_" (got ${JSON.stringify(name)})`);
    }
    if (isBuiltinGitProvider(name) || name in ALIASES || name === 'custom') {
      throw new TypeError(`"${name}" is a built-in Git provider; register yours under another name`);
    }
    if (this.#custom.has(name)) throw new TypeError(`a Git provider named "${name}" is already registered`);
    for (const method of ['detect', 'verify', 'parse'] as const) {
      if (typeof provider[method] !== 'function') throw new TypeError(`Git provider "${name}" has no ${method}() function`);
    }
    this.#custom.set(name, provider);
  }

  /** By route name (`github`, `forgejo`, `mygit`) or stored name (`custom:mygit`). */
  resolve(name: string): ResolvedProvider | undefined {
    const lower = name.toLowerCase();
    const customName = lower.startsWith('custom:') ? lower.slice('custom:'.length) : undefined;
    if (customName === undefined) {
      const builtin = BUILTINS.find((p) => p.name === (ALIASES[lower] ?? lower));
      if (builtin) return { provider: builtin, storedName: builtin.name, custom: false };
    }
    const custom = this.#custom.get(customName ?? lower);
    return custom ? { provider: custom, storedName: `custom:${custom.name}`, custom: true } : undefined;
  }

  /** The provider that sent these headers: built-ins in the documented order, then custom ones. */
  detect(headers: WebhookHeaders): ResolvedProvider | undefined {
    for (const provider of BUILTINS) if (provider.detect(headers)) return { provider, storedName: provider.name, custom: false };
    for (const provider of this.#custom.values()) {
      let matches = false;
      try {
        matches = provider.detect(headers) === true;
      } catch {
        // A custom detect() that throws simply does not claim the delivery.
      }
      if (matches) return { provider, storedName: `custom:${provider.name}`, custom: true };
    }
    return undefined;
  }

  /** Every provider name a route accepts. */
  names(): string[] {
    return [...BUILTIN_GIT_PROVIDERS, ...Object.keys(ALIASES), ...this.#custom.keys()];
  }
}

export function createGitProviderRegistry(custom: readonly GitProvider[] = []): GitProviderRegistry {
  const registry = new GitProviderRegistry();
  for (const provider of custom) registry.register(provider);
  return registry;
}

/** `registerGitProvider(app.gitProviders, { name, detect, verify, parse })`. */
export function registerGitProvider(registry: GitProviderRegistry, provider: GitProvider): void {
  registry.register(provider);
}

/** The name a fraise's `git.provider` means (aliases resolved, lower case). */
export function canonicalProviderName(name: string): string {
  const lower = name.toLowerCase();
  return ALIASES[lower] ?? lower;
}
