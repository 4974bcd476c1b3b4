import { can } from '../src/auth/principal.js';
import type { ApprovalRecord, GateState } from '../src/gates/types.js';
import { builder } from './builder.js';
import { streamOptions } from './context.js';
import { DeploymentRef } from './deployment.js';
import { ApprovalDecisionEnum, GateKindEnum } from './enums.js';
import { DateTimeScalar } from './scalars.js';

/* Gates (protection rules): Deployment.gates and waitingUntil, approve and reject, the deploymentWaiting subscription. */

export const GateApprovalRef = builder.objectRef<ApprovalRecord>('GateApproval').implement({
  description: 'An approver\'s decision on a deployment',
  fields: (t) => ({
    by: t.exposeString('by', { description: 'The token that decided' }),
    decision: t.field({ type: ApprovalDecisionEnum, resolve: (a) => a.decision }),
    at: t.field({ type: DateTimeScalar, resolve: (a) => a.at }),
    comment: t.exposeString('comment', { nullable: true, description: 'The approval\'s comment, or the rejection\'s reason' }),
  }),
});

export const DeploymentGateRef = builder.objectRef<GateState>('DeploymentGate').implement({
  description: 'One protection rule of the environment, as last evaluated for this deployment',
  fields: (t) => ({
    kind: t.field({ type: GateKindEnum, resolve: (g) => g.kind }),
    satisfied: t.exposeBoolean('satisfied'),
    message: t.exposeString('message', { description: 'What is met, or what is missing and until when' }),
    approvals: t.field({
      type: [GateApprovalRef],
      description: 'APPROVALS: every decision recorded so far, oldest first (other gates: empty)',
      resolve: (g) => g.approvals,
    }),
  }),
});

builder.objectFields(DeploymentRef, (t) => ({
  gates: t.field({
    type: [DeploymentGateRef],
    nullable: true,
    description:
      'The protection rules of its environment as last evaluated (freeze, window, promotion, approvals, wait timer, in that order); null when the environment has none or they were not evaluated yet',
    resolve: (d) => d.gates,
  }),
  waitingUntil: t.field({
    type: DateTimeScalar,
    nullable: true,
    description: 'While WAITING: when a gate may open (or close) by time alone (a window, a soak, a timer, an approval timeout); null otherwise, or when only a decision can change it',
    resolve: (d) => d.waitingUntil,
  }),
}));

builder.mutationFields((t) => ({
  approveDeployment: t.field({
    type: DeploymentRef,
    description:
      'Approves a deployment WAITING (or PENDING) on its environment\'s approvals gate (approve scope on that fraise and environment, one of its approvers; not who asked for it unless self_approval). Each token decides once. Once enough approved and the other gates are open, it starts',
    args: { id: t.arg.id({ required: true }), comment: t.arg.string() },
    resolve: (_root, args, ctx) => ctx.services.gates.approve(ctx.principal, String(args.id), args.comment ?? null),
  }),
  rejectDeployment: t.field({
    type: DeploymentRef,
    description: 'Rejects a deployment waiting on its environment\'s approvals gate (who may: as approveDeployment): it ends CANCELLED with the reason',
    args: { id: t.arg.id({ required: true }), reason: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.gates.reject(ctx.principal, String(args.id), args.reason),
  }),
}));

builder.subscriptionFields((t) => ({
  deploymentWaiting: t.field({
    type: DeploymentRef,
    description:
      'Deployments as they enter WAITING, and again each time their gates change while they wait (an approval, a window opening); optionally of one fraise and one environment. Live only: list deployments(status: WAITING) on (re)connection',
    args: { fraise: t.arg.string(), environment: t.arg.string() },
    subscribe: (_root, args, ctx) => {
      ctx.services.queries.assertCanRead(ctx.principal);
      return ctx.services.events.waiting(
        streamOptions(ctx),
        (d) => (args.fraise == null || d.fraise === args.fraise) && (args.environment == null || d.environment === args.environment) && can(ctx.principal, 'read', d.fraise, d.environment),
      );
    },
    resolve: (deployment) => deployment,
  }),
}));
