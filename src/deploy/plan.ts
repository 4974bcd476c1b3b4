import type { EnvironmentConfig, FraiseConfig, JobConfig } from '../config/types.js';

/*
 * The steps a deployment runs, in order, from the fraise's type and its environment's
 * configuration: what a dry run shows and what the pipeline executes.
 */

export type DeploymentKind = 'deploy' | 'rollback' | 'job';

export function planDeployment(fraise: FraiseConfig, env: EnvironmentConfig, kind: DeploymentKind, job?: JobConfig): string[] {
  if (kind === 'job') return [`run:${job?.name ?? 'job'}`];
  if (kind === 'rollback') {
    return ['preflight', 'checkout', 'restart', 'health_check'];
  }
  const steps = ['preflight', 'fetch'];
  if (env.install) steps.push('install');
  if (env.build) steps.push('build');
  switch (fraise.type) {
    case 'api':
    case 'worker':
      if (env.database?.backupBeforeDeploy) steps.push('backup');
      if (migrates(env)) steps.push('migrate');
      if (env.compile) steps.push('compile');
      steps.push('restart', 'health_check');
      break;
    case 'etl':
      steps.push('run');
      break;
    case 'scheduled':
    case 'backup':
      steps.push('register_jobs');
      break;
    case 'custom':
      steps.push(...env.steps.map((s) => s.name));
      if (env.healthCheck) steps.push('health_check');
      break;
  }
  return steps;
}

/**
 * Whether the environment's database has migrations to run: a command is configured, or it
 * is a confiture (PostgreSQL) project.
 */
export function migrates(env: EnvironmentConfig): boolean {
  const db = env.database;
  if (!db) return false;
  if (db.commands.migrate || db.commands.rebuild || db.commands.restore || db.restore) return true;
  return db.confitureConfig !== undefined || db.type === 'postgresql' || db.type === 'postgres';
}
