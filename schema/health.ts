import { can } from '../src/auth/principal.js';
import type { EnvironmentStatusChange } from '../src/model.js';
import { builder } from './builder.js';
import { streamOptions } from './context.js';
import { FraiseStatusEnum } from './enums.js';
import { DateTimeScalar } from './scalars.js';

/* EnvironmentStatusChange; subscription environmentStatusChanged (the health monitor's changes). */

export const EnvironmentStatusChangeRef = builder.objectRef<EnvironmentStatusChange>('EnvironmentStatusChange').implement({
  description: "A change of an environment's health seen by the monitor (every monitor.interval), recorded in Environment.status before it is sent.",
  fields: (t) => ({
    fraise: t.exposeString('fraise'),
    environment: t.exposeString('environment'),
    status: t.field({ type: FraiseStatusEnum, resolve: (c) => c.status }),
    previous: t.field({ type: FraiseStatusEnum, resolve: (c) => c.previous }),
    message: t.exposeString('message', { description: 'What the check said (an HTTP status, a connection error)' }),
    at: t.field({ type: DateTimeScalar, resolve: (c) => c.at }),
  }),
});

builder.subscriptionFields((t) => ({
  environmentStatusChanged: t.field({
    type: EnvironmentStatusChangeRef,
    description: 'Each change of an environment\'s health (HEALTHY, DEGRADED, DOWN), optionally of one fraise and one environment. No replay: read Environment.status on (re)connection.',
    args: { fraise: t.arg.string(), environment: t.arg.string() },
    subscribe: (_root, args, ctx) => {
      ctx.services.queries.assertCanRead(ctx.principal);
      return ctx.services.events.environmentStatus(
        streamOptions(ctx),
        (c) => (args.fraise == null || c.fraise === args.fraise) && (args.environment == null || c.environment === args.environment) && can(ctx.principal, 'read', c.fraise, c.environment),
      );
    },
    resolve: (change) => change,
  }),
}));
