import { assertCan, type Principal } from '../auth/principal.js';
import type { EnvironmentConfig, FraiseConfig } from '../config/types.js';
import { requireSecrets } from '../config/unavailable-secrets.js';
import { BadInputError, FraisierError } from '../errors.js';
import type { HealthStatus } from '../model.js';
import type { AnyProvider, ProviderRegistry } from '../providers/registry.js';
import type { Catalog } from './catalog.js';

/*
 * What an environment's target says and does now, asked of its provider: recent logs, health
 * (containers' state on Compose, the health check or the service manager on bare metal), stop
 * and start. Nothing here is recorded: deployments are what change the recorded state.
 */

export const MAX_LOG_LINES = 10_000;

/** The target could not answer (no command configured, host unreachable, nothing deployed, ...). */
export class TargetUnavailableError extends FraisierError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

export interface TargetHealth {
  status: HealthStatus;
  message: string;
}

export interface TargetActionResult {
  success: boolean;
  message: string;
}

export class TargetService {
  constructor(
    private readonly catalog: Catalog,
    private readonly providers: ProviderRegistry,
  ) {}

  async logs(principal: Principal, fraise: string, environment: string, lines = 100): Promise<string> {
    const target = this.#target(principal, 'read', fraise, environment);
    if (!Number.isInteger(lines) || lines < 1 || lines > MAX_LOG_LINES) {
      throw new BadInputError(`lines must be between 1 and ${MAX_LOG_LINES} (got ${lines})`);
    }
    return this.#ask(target, 'cannot read logs', () => target.provider.logs(target, lines));
  }

  /** The target's health as its provider sees it now. */
  async health(principal: Principal, fraise: string, environment: string): Promise<TargetHealth> {
    const target = this.#target(principal, 'read', fraise, environment);
    return this.#ask(target, 'cannot check health', () => target.provider.healthCheck(target));
  }

  stop(principal: Principal, fraise: string, environment: string): Promise<TargetActionResult> {
    return this.#act(principal, fraise, environment, 'stop');
  }

  start(principal: Principal, fraise: string, environment: string): Promise<TargetActionResult> {
    return this.#act(principal, fraise, environment, 'start');
  }

  async #act(principal: Principal, fraise: string, environment: string, action: 'stop' | 'start'): Promise<TargetActionResult> {
    const target = this.#target(principal, 'deploy', fraise, environment);
    try {
      await this.#ask(target, `cannot ${action}`, () => target.provider[action](target));
      return { success: true, message: `${fraise}/${environment}: ${action === 'stop' ? 'stopped' : 'started'}` };
    } catch (error) {
      if (error instanceof TargetUnavailableError) return { success: false, message: error.message };
      throw error;
    }
  }

  #target(principal: Principal, scope: 'read' | 'deploy', fraise: string, environment: string): { fraise: FraiseConfig; env: EnvironmentConfig; provider: AnyProvider } {
    const env = this.catalog.environment(fraise, environment);
    assertCan(principal, scope, fraise, environment);
    requireSecrets(this.catalog.config, `ask the target of ${fraise}/${environment}`);
    const provider = this.providers.get(env.target.provider);
    if (!provider) {
      throw new TargetUnavailableError(
        `${fraise}/${environment}: target provider "${env.target.provider}" is not available in this Fraisier (available: ${this.providers.names().join(', ')})`,
      );
    }
    return { fraise: this.catalog.fraise(fraise), env, provider };
  }

  /** The provider's answer; its failure as one line naming the environment. */
  async #ask<T>(target: { fraise: FraiseConfig; env: EnvironmentConfig }, what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof FraisierError) throw error;
      const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
      const prefix = `${target.fraise.name}/${target.env.name}`;
      throw new TargetUnavailableError(message.startsWith(prefix) ? message : `${prefix}: ${what}: ${message}`);
    }
  }
}
