import type { EnvironmentConfig } from '../../src/config/types.js';
import type { DeployContext, DeployOutcome, DeploymentProvider, HealthResult } from '../../src/providers/provider.js';

/*
 * A target provider for tests of DeploymentControl: its deploy runs what the test hands it
 * (`script`), with the real context the dispatcher gives (the run's control, signal, reporter),
 * as a strategy would: holds, checkpoints, cleanup on cancel. Registered in an app's own registry.
 */

export type Script = (ctx: DeployContext) => Promise<void>;

export class HoldProvider implements DeploymentProvider<Record<string, unknown>> {
  readonly name = 'test-hold';
  readonly configSchema = null;
  /** What the next deployment does (the tests of one file run one after the other). */
  script: Script = async () => {};

  settingsOf(env: EnvironmentConfig): Record<string, unknown> {
    return env.target.config;
  }

  plan(): string[] {
    return ['deploy'];
  }

  async deploy(ctx: DeployContext): Promise<DeployOutcome> {
    await ctx.reporter.step('deploy', 10, 'Deploying');
    await this.script(ctx);
    return { version: ctx.commit ?? 'unknown', health: 'healthy' };
  }

  async rollback(ctx: DeployContext, toVersion: string): Promise<DeployOutcome> {
    await this.script(ctx);
    return { version: toVersion, health: 'healthy' };
  }

  async runJob(): Promise<void> {}

  async healthCheck(): Promise<HealthResult> {
    return { status: 'healthy', message: 'test' };
  }

  async logs(): Promise<string> {
    return '';
  }

  async stop(): Promise<void> {}

  async start(): Promise<void> {}

  hostOf(env: EnvironmentConfig): string {
    return `test:${env.fraise}/${env.name}`;
  }
}

/** A promise and the function that resolves it: a gate a script waits at until the test opens it. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
