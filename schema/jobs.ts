import type { JobConfig } from '../src/config/types.js';
import { builder } from './builder.js';
import { EnvironmentRef } from './fraise.js';

/* Job: the scheduled jobs of an environment (scheduled and backup fraises), as configured. */

export const JobRef = builder.objectRef<JobConfig>('Job').implement({
  description: 'A job of a scheduled or backup fraise, run on its cron schedule (or by its systemd timer)',
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    schedule: t.exposeString('schedule', { nullable: true, description: 'Cron expression, UTC; null: run on demand or by a systemd timer' }),
    systemdTimer: t.exposeString('systemdTimer', { nullable: true }),
    dependsOn: t.exposeStringList('dependsOn', { description: 'Jobs of the same environment that run first' }),
  }),
});

builder.objectField(EnvironmentRef, 'jobs', (t) => t.field({ type: [JobRef], resolve: (env) => env.jobs }));
