import type { TargetActionResult, TargetHealth } from '../src/services/targets.js';
import { builder } from './builder.js';
import { FraiseStatusEnum } from './enums.js';

/*
 * An environment's target now, asked of its provider: logs and health (queries), stop and start
 * (mutations). Contract additions: targetHealth, stopEnvironment, startEnvironment.
 */

const TargetHealthRef = builder.objectRef<TargetHealth>('TargetHealth').implement({
  description: "What the target says of the environment's health now (not the recorded status)",
  fields: (t) => ({
    status: t.field({ type: FraiseStatusEnum, resolve: (h) => h.status }),
    message: t.exposeString('message', { description: 'e.g. "1 container running, 1 healthy by its HEALTHCHECK"' }),
  }),
});

const TargetActionResultRef = builder.objectRef<TargetActionResult>('TargetActionResult').implement({
  fields: (t) => ({
    success: t.exposeBoolean('success'),
    message: t.exposeString('message'),
  }),
});

builder.queryFields((t) => ({
  logs: t.string({
    description:
      'The last `lines` lines (at most 10000) of the environment\'s logs, as its target provider reports them (journalctl on bare metal, `compose logs` on Docker Compose). Needs the read scope.',
    args: {
      fraise: t.arg.string({ required: true }),
      environment: t.arg.string({ required: true }),
      lines: t.arg.int({ defaultValue: 100 }),
    },
    resolve: (_root, args, ctx) => ctx.services.targets.logs(ctx.principal, args.fraise, args.environment, args.lines ?? 100),
  }),
  targetHealth: t.field({
    type: TargetHealthRef,
    description:
      "The environment's health asked of its target now: its health check when configured, else the service manager (bare metal) or the containers' state and HEALTHCHECK (Docker Compose). Needs the read scope.",
    args: { fraise: t.arg.string({ required: true }), environment: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.targets.health(ctx.principal, args.fraise, args.environment),
  }),
}));

builder.mutationFields((t) => ({
  stopEnvironment: t.field({
    type: TargetActionResultRef,
    description: "Stops the environment's service (systemctl stop, `compose stop`); the deployed version stays. Needs the deploy scope.",
    args: { fraise: t.arg.string({ required: true }), environment: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.targets.stop(ctx.principal, args.fraise, args.environment),
  }),
  startEnvironment: t.field({
    type: TargetActionResultRef,
    description: "Starts the environment's service again (systemctl start, `compose start`). Needs the deploy scope.",
    args: { fraise: t.arg.string({ required: true }), environment: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.targets.start(ctx.principal, args.fraise, args.environment),
  }),
}));
