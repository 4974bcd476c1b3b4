import { builder } from './builder.js';

/* Query logs: recent output of a fraise's environment, from its target provider. */

builder.queryFields((t) => ({
  logs: t.string({
    description:
      'The last `lines` lines (at most 10000) of the environment\'s logs, as its target provider reports them (e.g. journalctl on bare metal). Needs the read scope.',
    args: {
      fraise: t.arg.string({ required: true }),
      environment: t.arg.string({ required: true }),
      lines: t.arg.int({ defaultValue: 100 }),
    },
    resolve: (_root, args, ctx) => ctx.services.logs.logs(ctx.principal, args.fraise, args.environment, args.lines ?? 100),
  }),
}));
