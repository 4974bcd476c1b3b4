import type { EnvironmentConfig, FraiseConfig, FraisierConfig } from '../config/types.js';
import { suggest } from '../config/validate.js';
import { NotFoundError } from '../errors.js';

/** The configured fraises and environments, looked up by name with helpful NOT_FOUND errors. */
export class Catalog {
  readonly #byName: Map<string, FraiseConfig>;

  constructor(readonly config: FraisierConfig) {
    this.#byName = new Map(config.fraises.map((f) => [f.name, f]));
  }

  get fraises(): readonly FraiseConfig[] {
    return this.config.fraises;
  }

  findFraise(name: string): FraiseConfig | undefined {
    return this.#byName.get(name);
  }

  /** An environment of a fraise, or undefined when either is not configured (any more). */
  findEnvironment(fraise: string, environment: string): EnvironmentConfig | undefined {
    return this.#byName.get(fraise)?.environments.find((e) => e.name === environment);
  }

  fraise(name: string): FraiseConfig {
    const fraise = this.#byName.get(name);
    if (fraise) return fraise;
    const hint = suggest(name, [...this.#byName.keys()]);
    throw new NotFoundError(`unknown fraise "${name}"${hint ? `; did you mean "${hint}"?` : ''}`);
  }

  environment(fraiseName: string, environmentName: string): EnvironmentConfig {
    const fraise = this.fraise(fraiseName);
    const environment = fraise.environments.find((e) => e.name === environmentName);
    if (environment) return environment;
    const names = fraise.environments.map((e) => e.name);
    const hint = suggest(environmentName, names);
    throw new NotFoundError(
      `fraise "${fraiseName}" has no environment "${environmentName}"${hint ? `; did you mean "${hint}"?` : ` (it has ${names.join(', ')})`}`,
    );
  }

  /** Throws NOT_FOUND unless some fraise has an environment of this name. */
  assertEnvironmentName(name: string): void {
    const names = new Set(this.config.fraises.flatMap((f) => f.environments.map((e) => e.name)));
    if (names.has(name)) return;
    const hint = suggest(name, [...names]);
    throw new NotFoundError(`no fraise has an environment "${name}"${hint ? `; did you mean "${hint}"?` : ''}`);
  }

  /** Every configured (fraise, environment) pair. */
  pairs(): EnvironmentConfig[] {
    return this.config.fraises.flatMap((f) => f.environments);
  }
}
