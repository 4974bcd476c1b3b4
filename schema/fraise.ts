import { can } from '../src/auth/principal.js';
import { maskSecrets } from '../src/config/secrets.js';
import type { DatabaseConfig, EnvironmentConfig, FraiseConfig } from '../src/config/types.js';
import type { TargetSnapshot } from '../src/model.js';
import { builder } from './builder.js';
import { FraiseStatusEnum, FraiseTypeEnum } from './enums.js';
import { DateTimeScalar, JSONScalar } from './scalars.js';

/* Fraise, Environment, DeploymentTarget, DatabaseConfig; queries fraises, fraise, status. */

export const DeploymentTargetRef = builder.objectRef<TargetSnapshot>('DeploymentTarget').implement({
  description: 'Where an environment runs. `config` never contains a secret.',
  fields: (t) => ({
    provider: t.exposeString('provider'),
    config: t.field({
      type: JSONScalar,
      nullable: true,
      // Masked here too, whatever the caller built the snapshot from.
      resolve: (target) => (target.config ? maskSecrets(target.config) : null),
    }),
  }),
});

export const DatabaseConfigRef = builder.objectRef<DatabaseConfig>('DatabaseConfig').implement({
  fields: (t) => ({
    type: t.exposeString('type', { description: 'sqlite | postgresql | mysql | sqlserver' }),
    name: t.exposeString('name', { nullable: true }),
    strategy: t.exposeString('strategy', { description: 'apply | migrate | rebuild | restore_migrate' }),
  }),
});

export const EnvironmentRef = builder.objectRef<EnvironmentConfig>('Environment').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    target: t.field({ type: DeploymentTargetRef, resolve: (env) => env.target }),
    branch: t.exposeString('branch', { nullable: true, description: 'The branch whose pushes deploy it' }),
    currentVersion: t.string({
      nullable: true,
      resolve: async (env, _args, ctx) => (await ctx.loaders.fraiseStates()).get(`${env.fraise}/${env.name}`)?.currentVersion ?? null,
    }),
    lastDeployedAt: t.field({
      type: DateTimeScalar,
      nullable: true,
      resolve: async (env, _args, ctx) => (await ctx.loaders.fraiseStates()).get(`${env.fraise}/${env.name}`)?.lastDeployedAt ?? null,
    }),
    status: t.field({
      type: FraiseStatusEnum,
      resolve: async (env, _args, ctx) => (await ctx.loaders.fraiseStates()).get(`${env.fraise}/${env.name}`)?.status ?? 'unknown',
    }),
  }),
});

export const FraiseRef = builder.objectRef<FraiseConfig>('Fraise').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    type: t.field({ type: FraiseTypeEnum, resolve: (f) => f.type }),
    description: t.exposeString('description', { nullable: true }),
    database: t.field({ type: DatabaseConfigRef, nullable: true, resolve: (f) => f.database ?? null }),
    environments: t.field({
      type: [EnvironmentRef],
      resolve: (f, _args, ctx) => f.environments.filter((e) => can(ctx.principal, 'read', f.name, e.name)),
    }),
  }),
});

builder.queryType({
  fields: (t) => ({
    fraises: t.field({
      type: [FraiseRef],
      description: 'Every configured fraise, in the order of the configuration file',
      resolve: (_root, _args, ctx) => {
        ctx.services.queries.assertCanRead(ctx.principal);
        return ctx.services.catalog.fraises.filter((f) => can(ctx.principal, 'read', f.name));
      },
    }),
    fraise: t.field({
      type: FraiseRef,
      nullable: true,
      args: { name: t.arg.string({ required: true }) },
      resolve: (_root, args, ctx) => {
        const fraise = ctx.services.catalog.fraise(args.name);
        ctx.services.queries.assertCanRead(ctx.principal, fraise.name);
        return fraise;
      },
    }),
    status: t.field({
      type: FraiseStatusEnum,
      args: { fraise: t.arg.string({ required: true }), environment: t.arg.string({ required: true }) },
      resolve: (_root, args, ctx) => ctx.services.queries.status(ctx.principal, args.fraise, args.environment),
    }),
  }),
});
