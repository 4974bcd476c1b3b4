import { getOperationAST, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GraphQLContext } from '../../../schema/context.js';
import { can, principalName } from '../../auth/principal.js';
import type { Scope } from '../../config/types.js';

/** Mutations an approver runs: they need the `approve` scope, not `deploy` (an approver need not deploy). */
const APPROVE_MUTATIONS = new Set(['approveDeployment', 'rejectDeployment']);

/**
 * Queries and subscriptions need the `read` scope, mutations `deploy` (approveDeployment and
 * rejectDeployment `approve`; an operation with several mutations needs each one's); checked once
 * per operation before any resolver runs. A webhook principal may only run processWebhook.
 * (Per-fraise limits are checked by the services, which know which fraise is meant.)
 */
export function useOperationScopes(): Plugin<GraphQLContext> {
  const check = (args: { document: unknown; operationName?: string | null; contextValue: GraphQLContext }) => {
    const operation = getOperationAST(args.document as never, args.operationName ?? undefined);
    if (!operation) return undefined;
    const principal = args.contextValue.principal;
    const scopes = new Set<Scope>(
      operation.operation === 'mutation'
        ? operation.selectionSet.selections.map((s) => (s.kind === 'Field' && APPROVE_MUTATIONS.has(s.name.value) ? 'approve' : 'deploy'))
        : ['read'],
    );
    if (principal.kind === 'anonymous') {
      return error('authentication required: send Authorization: Bearer <token>', 'UNAUTHENTICATED', 401);
    }
    if (principal.kind === 'webhook') {
      const onlyWebhooks = operation.selectionSet.selections.every(
        (s) => s.kind === 'Field' && (s.name.value === 'processWebhook' || s.name.value === '__typename'),
      );
      return operation.operation === 'mutation' && onlyWebhooks ? undefined : error('a webhook delivery may only run processWebhook', 'FORBIDDEN', 403);
    }
    for (const scope of scopes) {
      if (!can(principal, scope)) return error(`token "${principalName(principal)}" lacks the ${scope} scope`, 'FORBIDDEN', 403);
    }
    return undefined;
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const refusal = check(args as never);
      if (refusal) setResultAndStopExecution({ errors: [refusal] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const refusal = check(args as never);
      if (refusal) setResultAndStopExecution({ errors: [refusal] });
    },
  };
}

function error(message: string, code: string, status: number): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status } } });
}
