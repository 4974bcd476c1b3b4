import type { CanaryStrategy, EnvironmentConfig } from '../config/types.js';

/*
 * The steps of a deployment under its environment's strategy: blue-green starts the release in
 * the idle slot instead of restarting the service, and after the health check switches the
 * traffic, watches, drains the old slot and stops it. A canary goes through its weights instead
 * of the one switch, each step followed by its analysis (the last one, 100, is the switch).
 * Rolling restarts each batch of hosts once it is out of the upstream and drained, and puts it
 * back after its health check (the steps before, fetch to compile, run on every host first;
 * backup and migrate on one only); once every host is back, a deployment (not a rollback, as
 * recreate) watches them all.
 * Recreate watches a deployment (not a rollback: there is nothing older it would go back to)
 * after its health check.
 */

export function strategyPlan(steps: string[], env: EnvironmentConfig, kind: 'deploy' | 'rollback' = 'deploy'): string[] {
  const strategy = env.strategy;
  if (strategy?.type === 'rolling') {
    const rolled = steps.flatMap((step) => (step === 'restart' ? ['take_out', 'drain', step] : step === 'health_check' ? [step, 'put_back'] : [step]));
    return kind === 'deploy' && env.healthCheck?.watch ? [...rolled, 'watch'] : rolled;
  }
  if (strategy?.type !== 'blue-green' && strategy?.type !== 'canary') {
    if (kind === 'rollback' || !env.healthCheck?.watch) return steps;
    return steps.flatMap((step) => (step === 'health_check' ? [step, 'watch'] : [step]));
  }
  // A canary's rollback (a checkout of a kept version) is blue-green's: all the traffic at once.
  const stepped = strategy.type === 'canary' && !steps.includes('checkout');
  const moves = stepped ? canarySteps(strategy) : ['switch', ...(env.healthCheck?.watch ? ['watch'] : [])];
  const after = [...moves, 'drain', ...(strategy.keepPrevious ? [] : ['stop_previous'])];
  return steps.flatMap((step) => (step === 'restart' ? ['start'] : step === 'health_check' ? [step, ...after] : [step]));
}

/** canary_10, analysis_10, ..., switch (the step at 100), analysis_100. */
export function canarySteps(strategy: CanaryStrategy): string[] {
  return strategy.steps.flatMap((weight) => [canaryStepName(weight), `analysis_${weight}`]);
}

export function canaryStepName(weight: number): string {
  return weight === 100 ? 'switch' : `canary_${weight}`;
}
