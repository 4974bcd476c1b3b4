import type { Deployment, DeploymentProgress, DeploymentResult, StatsReading, TrafficShare } from '../src/model.js';
import { MAX_LIST_LIMIT, MAX_PROGRESS_LIMIT } from '../src/services/queries.js';
import { builder } from './builder.js';
import { DeploymentStatusEnum, TriggerTypeEnum } from './enums.js';
import { DeploymentTargetRef, EnvironmentRef } from './fraise.js';
import { listSize } from './list-size.js';
import { DateTimeScalar } from './scalars.js';

/* Deployment, DeploymentProgress, DeploymentStats, DeploymentResult; their queries and mutations. */

export const TrafficShareRef = builder.objectRef<TrafficShare>('TrafficShare').implement({
  description: 'A slot and the share of the requests it takes',
  fields: (t) => ({
    slot: t.exposeString('slot'),
    port: t.exposeInt('port'),
    version: t.exposeString('version', { nullable: true, description: 'The commit the slot runs' }),
    weight: t.exposeInt('weight', { description: 'Share of the requests, 0..100' }),
  }),
});

export const DeploymentProgressRef = builder.objectRef<DeploymentProgress>('DeploymentProgress').implement({
  fields: (t) => ({
    deploymentId: t.exposeID('deploymentId'),
    step: t.exposeString('step'),
    progress: t.exposeInt('progress', { description: '0..100' }),
    message: t.exposeString('message', { nullable: true }),
    timestamp: t.field({ type: DateTimeScalar, resolve: (p) => p.timestamp }),
    sequence: t.exposeInt('sequence', { description: '1, 2, 3, ... per deployment, no gaps' }),
    traffic: t.field({
      type: [TrafficShareRef],
      nullable: true,
      description: 'Where the requests go from this event on, when the traffic moved here (a blue-green switch, a canary step, an abort); null on other events',
      resolve: (p) => p.traffic ?? null,
    }),
  }),
});

export const DeploymentRef = builder.objectRef<Deployment>('Deployment').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    fraise: t.exposeString('fraise'),
    environment: t.exposeString('environment'),
    job: t.exposeString('job', { nullable: true, description: 'Scheduled and backup fraises: the job this run is for' }),
    startedAt: t.field({
      type: DateTimeScalar,
      description: 'When it was requested, until it really starts; then when it started',
      resolve: (d) => d.startedAt,
    }),
    requestedAt: t.field({ type: DateTimeScalar, resolve: (d) => d.requestedAt }),
    completedAt: t.field({ type: DateTimeScalar, nullable: true, resolve: (d) => d.completedAt }),
    durationSeconds: t.exposeFloat('durationSeconds', { nullable: true }),
    oldVersion: t.exposeString('oldVersion', { nullable: true }),
    newVersion: t.exposeString('newVersion', { nullable: true }),
    status: t.field({ type: DeploymentStatusEnum, resolve: (d) => d.status }),
    triggeredBy: t.field({ type: TriggerTypeEnum, resolve: (d) => d.triggeredBy }),
    requestedBy: t.exposeString('requestedBy', { nullable: true }),
    target: t.field({ type: DeploymentTargetRef, resolve: (d) => d.target }),
    gitCommit: t.exposeString('gitCommit', { nullable: true }),
    gitBranch: t.exposeString('gitBranch', { nullable: true }),
    errorMessage: t.exposeString('errorMessage', { nullable: true }),
    pausedUntil: t.field({
      type: DateTimeScalar,
      nullable: true,
      description: 'While PAUSED by a timed hold: when it ends (null: until resumed or promoted)',
      resolve: (d) => d.pausedUntil,
    }),
    pauseMessage: t.exposeString('pauseMessage', { nullable: true, description: 'While PAUSED: why (the strategy\'s hold, or who paused it)' }),
    promoted: t.exposeBoolean('promoted', {
      description: 'promoteDeployment was asked: the remaining steps and pauses of its strategy are skipped',
    }),
    progress: t.field({
      type: [DeploymentProgressRef],
      description: `The progress events recorded, oldest first: at most \`limit\` (default and maximum ${MAX_PROGRESS_LIMIT}) after the sequence \`after\`; page on with the last sequence seen`,
      args: {
        after: t.arg.int({ description: 'Only events after this sequence (the last one seen); 0 or absent: from the first' }),
        limit: t.arg.int({ defaultValue: MAX_PROGRESS_LIMIT }),
      },
      extensions: listSize({ argument: 'limit', max: MAX_PROGRESS_LIMIT }),
      resolve: (d, args, ctx) => ctx.services.queries.progress(String(d.id), args.after ?? 0, args.limit ?? MAX_PROGRESS_LIMIT),
    }),
  }),
});

/* What the deployments recorded say about an environment, beside what runs there. */
builder.objectFields(EnvironmentRef, (t) => ({
  lastAttempt: t.field({
    type: DeploymentRef,
    nullable: true,
    description:
      'The newest deployment that ran here and ended, whatever it came to (a failure, a rollback, a cancellation): differs from what runs when the last attempt did not succeed',
    resolve: (env, _args, ctx) => ctx.services.queries.lastAttempt(env.fraise, env.name),
  }),
  rollbackVersion: t.string({
    nullable: true,
    description: 'What a rollback without toVersion would go back to: the newest successful version other than currentVersion; null when there is nothing to roll back to',
    resolve: async (env, _args, ctx) => {
      const current = (await ctx.loaders.fraiseStates()).get(`${env.fraise}/${env.name}`)?.currentVersion ?? null;
      return ctx.services.queries.rollbackVersion(env.fraise, env.name, current);
    },
  }),
}));

export const DeploymentStatsRef = builder.objectRef<StatsReading>('DeploymentStats').implement({
  description: 'Finished deployments (successful, failed, rolled back) started within the period',
  fields: (t) => ({
    total: t.exposeInt('total'),
    successful: t.exposeInt('successful'),
    failed: t.exposeInt('failed'),
    rolledBack: t.exposeInt('rolledBack'),
    avgDurationSeconds: t.exposeFloat('avgDurationSeconds', { nullable: true }),
    successRate: t.exposeFloat('successRate', { description: 'percent, 0..100' }),
    deploymentFrequency: t.float({
      description: 'DORA: successful deployments per day over the last `days` days',
      resolve: async (s) => (await s.dora()).deploymentFrequency,
    }),
    leadTimeSeconds: t.float({
      nullable: true,
      description: "DORA lead time for changes: the median time from a commit (its committer date) to its deployment's SUCCESS, in seconds",
      resolve: async (s) => (await s.dora()).leadTimeSeconds,
    }),
    changeFailureRate: t.float({
      nullable: true,
      description: 'DORA change failure rate: FAILED or ROLLED_BACK among the deployments that ran to an outcome, percent 0..100',
      resolve: async (s) => (await s.dora()).changeFailureRate,
    }),
    timeToRestoreSeconds: t.float({
      nullable: true,
      description: 'DORA time to restore: the median time from a failure (the first of a run) to the next SUCCESS of the same fraise and environment, in seconds',
      resolve: async (s) => (await s.dora()).timeToRestoreSeconds,
    }),
  }),
});

export const DeploymentResultRef = builder.objectRef<DeploymentResult>('DeploymentResult').implement({
  fields: (t) => ({
    success: t.exposeBoolean('success'),
    message: t.exposeString('message', { nullable: true }),
    dryRun: t.exposeBoolean('dryRun'),
    plan: t.exposeStringList('plan', { description: 'The steps that will run (or would run, for a dry run), in order' }),
    deployment: t.field({
      type: DeploymentRef,
      nullable: true,
      description: 'The queued deployment; null for a dry run or a refusal',
      resolve: (r) => r.deployment,
    }),
  }),
});

builder.queryFields((t) => ({
  deployments: t.field({
    type: [DeploymentRef],
    description: 'Newest first. `limit` is at most 100; page with `before` (the last id seen).',
    args: {
      fraise: t.arg.string(),
      environment: t.arg.string(),
      limit: t.arg.int({ defaultValue: 20 }),
      status: t.arg({ type: DeploymentStatusEnum }),
      before: t.arg.id(),
      since: t.arg({ type: DateTimeScalar }),
    },
    extensions: listSize({ argument: 'limit', max: MAX_LIST_LIMIT }),
    resolve: (_root, args, ctx) => ctx.services.queries.deployments(ctx.principal, args),
  }),
  deployment: t.field({
    type: DeploymentRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.queries.deployment(ctx.principal, String(args.id)),
  }),
  stats: t.field({
    type: DeploymentStatsRef,
    args: {
      fraise: t.arg.string(),
      days: t.arg.int({ defaultValue: 30 }),
      environment: t.arg.string(),
    },
    resolve: (_root, args, ctx) => ctx.services.queries.stats(ctx.principal, args),
  }),
}));

builder.mutationType({
  fields: (t) => ({
    deploy: t.field({
      type: DeploymentResultRef,
      args: {
        fraise: t.arg.string({ required: true }),
        environment: t.arg.string({ required: true }),
        dryRun: t.arg.boolean({ defaultValue: false }),
        force: t.arg.boolean({ defaultValue: false }),
        commit: t.arg.string({ description: 'Deploy this commit instead of the head of the environment\'s branch' }),
        triggeredBy: t.arg({ type: TriggerTypeEnum, description: 'MANUAL for a person at a terminal (the CLI); API otherwise' }),
      },
      resolve: (_root, args, ctx) =>
        ctx.services.deployments.deploy(ctx.principal, {
          fraise: args.fraise,
          environment: args.environment,
          dryRun: args.dryRun ?? false,
          force: args.force ?? false,
          commit: args.commit ?? null,
          trigger: args.triggeredBy === 'manual' ? 'manual' : 'api',
        }),
    }),
    rollback: t.field({
      type: DeploymentResultRef,
      args: {
        fraise: t.arg.string({ required: true }),
        environment: t.arg.string({ required: true }),
        toVersion: t.arg.string(),
        triggeredBy: t.arg({ type: TriggerTypeEnum, description: 'MANUAL for a person at a terminal (the CLI); API otherwise' }),
      },
      resolve: (_root, args, ctx) =>
        ctx.services.deployments.rollback(ctx.principal, {
          fraise: args.fraise,
          environment: args.environment,
          toVersion: args.toVersion ?? null,
          trigger: args.triggeredBy === 'manual' ? 'manual' : 'api',
        }),
    }),
    cancelDeployment: t.field({
      type: DeploymentRef,
      description:
        'A queued deployment (PENDING, or WAITING on a gate) ends CANCELLED at once; an IN_PROGRESS or PAUSED one is stopped at its next step boundary (a paused one at once), its running command is terminated, and it ends CANCELLED',
      args: { id: t.arg.id({ required: true }) },
      resolve: (_root, args, ctx) => ctx.services.deployments.cancel(ctx.principal, String(args.id)),
    }),
    pauseDeployment: t.field({
      type: DeploymentRef,
      description:
        'A running deployment pauses at its next step boundary (status PAUSED, its lease and target kept) until resumed, promoted or cancelled; during a strategy\'s hold it stays paused past the hold. Who paused it is recorded in its progress',
      args: { id: t.arg.id({ required: true }) },
      resolve: (_root, args, ctx) => ctx.services.deployments.control(ctx.principal, 'pause', String(args.id)),
    }),
    resumeDeployment: t.field({
      type: DeploymentRef,
      description: 'Ends the pause of a PAUSED deployment (an operator\'s, or a strategy\'s hold), or withdraws a pause asked for and not yet taken',
      args: { id: t.arg.id({ required: true }) },
      resolve: (_root, args, ctx) => ctx.services.deployments.control(ctx.principal, 'resume', String(args.id)),
    }),
    promoteDeployment: t.field({
      type: DeploymentRef,
      description: 'Skips the remaining steps and pauses of a running deployment\'s strategy (a canary goes to 100%), ending its pause if it is PAUSED',
      args: { id: t.arg.id({ required: true }) },
      resolve: (_root, args, ctx) => ctx.services.deployments.control(ctx.principal, 'promote', String(args.id)),
    }),
  }),
});
