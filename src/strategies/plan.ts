import type { EnvironmentConfig } from '../config/types.js';

/*
 * The steps of a deployment under its environment's strategy: blue-green starts the release in
 * the idle slot instead of restarting the service, and after the health check switches the
 * traffic, watches, drains the old slot and stops it.
 */

export function strategyPlan(steps: string[], env: EnvironmentConfig): string[] {
  const strategy = env.strategy;
  if (strategy?.type !== 'blue-green') return steps;
  const after = ['switch', ...(env.healthCheck?.watch ? ['watch'] : []), 'drain', ...(strategy.keepPrevious ? [] : ['stop_previous'])];
  return steps.flatMap((step) => (step === 'restart' ? ['start'] : step === 'health_check' ? [step, ...after] : [step]));
}
