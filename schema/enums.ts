import { BUILTIN_GIT_PROVIDERS, FRAISE_TYPES } from '../src/config/types.js';
import { GATE_KINDS } from '../src/gates/types.js';
import { DEPLOYMENT_STATUSES, HEALTH_STATUSES, TRIGGER_TYPES } from '../src/model.js';
import { builder } from './builder.js';

/** GraphQL enums are upper case; the domain values they stand for are the store's lower case. */
function valuesOf<T extends string>(values: readonly T[]): Record<Uppercase<T>, { value: T }> {
  return Object.fromEntries(values.map((v) => [v.toUpperCase(), { value: v }])) as Record<Uppercase<T>, { value: T }>;
}

// In the contract's order (FRAISE_TYPES is in the configuration reference's).
export const FraiseTypeEnum = builder.enumType('FraiseType', {
  values: valuesOf(['api', 'worker', 'scheduled', 'custom', 'etl', 'backup'] as const satisfies readonly (typeof FRAISE_TYPES)[number][]),
});

export const DeploymentStatusEnum = builder.enumType('DeploymentStatus', {
  description:
    'WAITING: queued, held by a gate of its environment\'s protection rules (approvals, a deploy window, a freeze, promotion, a wait timer); see Deployment.gates. PAUSED: running, held between two steps by its strategy or an operator (its lease and target kept). SUPERSEDED: a queued deployment replaced by a newer commit for the same fraise and environment',
  values: valuesOf(DEPLOYMENT_STATUSES),
});

export const GateKindEnum = builder.enumType('GateKind', {
  description: 'A protection rule of an environment that a deployment passes before it starts',
  values: valuesOf(GATE_KINDS),
});

export const ApprovalDecisionEnum = builder.enumType('ApprovalDecision', { values: valuesOf(['approve', 'reject'] as const) });

export const TriggerTypeEnum = builder.enumType('TriggerType', { values: valuesOf(TRIGGER_TYPES) });

export const FraiseStatusEnum = builder.enumType('FraiseStatus', { values: valuesOf(HEALTH_STATUSES) });

export const WebhookProviderEnum = builder.enumType('WebhookProvider', {
  values: valuesOf([...BUILTIN_GIT_PROVIDERS, 'custom'] as const),
});
