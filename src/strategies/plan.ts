import type { EnvironmentConfig } from '../config/types.js';

/*
 * The steps of a deployment under its environment's strategy: blue-green starts the release in
 * the idle slot instead of restarting the service, and after the health check switches the
 * traffic, watches, drains the old slot and stops it. Recreate watches a deployment (not a
 * rollback: there is nothing older it would go back to) after its health check.
 */

export function strategyPlan(steps: string[], env: EnvironmentConfig, kind: 'deploy' | 'rollback' = 'deploy'): string[] {
  const strategy = env.strategy;
  if (strategy?.type !== 'blue-green') {
    if (kind === 'rollback' || !env.healthCheck?.watch) return steps;
    return steps.flatMap((step) => (step === 'health_check' ? [step, 'watch'] : [step]));
  }
  const after = ['switch', ...(env.healthCheck?.watch ? ['watch'] : []), 'drain', ...(strategy.keepPrevious ? [] : ['stop_previous'])];
  return steps.flatMap((step) => (step === 'restart' ? ['start'] : step === 'health_check' ? [step, ...after] : [step]));
}
