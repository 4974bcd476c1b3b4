import type { EnvironmentConfig } from '../config/types.js';

/*
 * The steps of a deployment under its environment's strategy: blue-green starts the release in
 * the idle slot instead of restarting the service, and after the health check switches the
 * traffic, watches, drains the old slot and stops it. Rolling restarts each batch of hosts once
 * it is out of the upstream and drained, and puts it back after its health check (the steps
 * before, fetch to compile, run on every host first; backup and migrate on one only).
 */

export function strategyPlan(steps: string[], env: EnvironmentConfig): string[] {
  const strategy = env.strategy;
  if (strategy?.type === 'rolling') {
    return steps.flatMap((step) => (step === 'restart' ? ['take_out', 'drain', step] : step === 'health_check' ? [step, 'put_back'] : [step]));
  }
  if (strategy?.type !== 'blue-green') return steps;
  const after = ['switch', ...(env.healthCheck?.watch ? ['watch'] : []), 'drain', ...(strategy.keepPrevious ? [] : ['stop_previous'])];
  return steps.flatMap((step) => (step === 'restart' ? ['start'] : step === 'health_check' ? [step, ...after] : [step]));
}
