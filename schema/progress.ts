import { can } from '../src/auth/principal.js';
import { builder } from './builder.js';
import { streamOptions } from './context.js';
import { DeploymentProgressRef, DeploymentRef } from './deployment.js';

/* Subscriptions: live deployments, over graphql-ws and SSE. */

builder.subscriptionType({
  fields: (t) => ({
    deploymentProgress: t.field({
      type: DeploymentProgressRef,
      description:
        'A late subscriber first receives the progress already recorded for that deployment, in order, then the live events; the stream completes when the deployment ends.',
      args: { deploymentId: t.arg.id({ required: true }) },
      subscribe: async (_root, args, ctx) => {
        // Checks the id and the caller's access (NOT_FOUND otherwise) before streaming anything.
        await ctx.services.queries.deployment(ctx.principal, String(args.deploymentId));
        return ctx.services.events.progress(String(args.deploymentId), streamOptions(ctx));
      },
      resolve: (event) => event,
    }),
    deploymentStarted: t.field({
      type: DeploymentRef,
      subscribe: (_root, _args, ctx) => {
        ctx.services.queries.assertCanRead(ctx.principal);
        return ctx.services.events.started(streamOptions(ctx), (d) => can(ctx.principal, 'read', d.fraise, d.environment));
      },
      resolve: (deployment) => deployment,
    }),
    deploymentCompleted: t.field({
      type: DeploymentRef,
      subscribe: (_root, _args, ctx) => {
        ctx.services.queries.assertCanRead(ctx.principal);
        return ctx.services.events.completed(streamOptions(ctx), (d) => can(ctx.principal, 'read', d.fraise, d.environment));
      },
      resolve: (deployment) => deployment,
    }),
  }),
});
