import type { JobConfig } from '../src/config/types.js';
import { builder } from './builder.js';
import { DeploymentResultRef } from './deployment.js';
import { TriggerTypeEnum } from './enums.js';
import { EnvironmentRef } from './fraise.js';

/* Job: the jobs of an environment (scheduled and backup fraises), as configured; runJob runs one now. */

export const JobRef = builder.objectRef<JobConfig>('Job').implement({
  description: 'A job of a scheduled or backup fraise, run on its cron schedule (or by its systemd timer), and on demand by runJob',
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    schedule: t.exposeString('schedule', { nullable: true, description: 'Cron expression, UTC; null: run on demand (runJob) or by a systemd timer' }),
    systemdTimer: t.exposeString('systemdTimer', { nullable: true }),
    dependsOn: t.exposeStringList('dependsOn', { description: 'Jobs of the same environment that run first' }),
  }),
});

builder.objectField(EnvironmentRef, 'jobs', (t) => t.field({ type: [JobRef], resolve: (env) => env.jobs }));

builder.mutationField('runJob', (t) =>
  t.field({
    type: DeploymentResultRef,
    description:
      'Queues a run of one of the environment\'s jobs now (deploy scope), whether it has a schedule or not. A job never runs over itself: behind a running run it waits its turn; when a run is already waiting, nothing is queued (success false)',
    args: {
      fraise: t.arg.string({ required: true }),
      environment: t.arg.string({ required: true }),
      job: t.arg.string({ required: true }),
      triggeredBy: t.arg({ type: TriggerTypeEnum, description: 'MANUAL for a person at a terminal (the CLI); API otherwise' }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.deployments.runJob(ctx.principal, {
        fraise: args.fraise,
        environment: args.environment,
        job: args.job,
        trigger: args.triggeredBy === 'manual' ? 'manual' : 'api',
      }),
  }),
);
