import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult, print } from 'graphql';
import { isAsyncIterable, mapAsyncIterator, type Plugin } from 'graphql-yoga';
import type { GraphQLContext } from '../../../schema/context.js';
import { principalName } from '../../auth/principal.js';

/*
 * A thousand dashboards watching one deployment send the same subscription; graphql-js would
 * execute its selection for every event once per subscriber. This plugin executes it once per
 * event and shares the result among the subscribers of the same operation (same document,
 * variables and principal, so that access checks still apply per caller). The bus hands every
 * subscriber the same event object, which keys the cache; the cache goes with the event.
 */

type Result = ExecutionResult | Promise<ExecutionResult>;

export function useSharedSubscriptionExecution(): Plugin<GraphQLContext> {
  const results = new WeakMap<object, Map<string, Result>>();
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(async (args: ExecutionArgs) => {
        const source = await createSourceEventStream(args);
        if (!isAsyncIterable(source)) return source;
        const context = args.contextValue as GraphQLContext | undefined;
        const key = [
          print(args.document),
          args.operationName ?? '',
          JSON.stringify(args.variableValues ?? {}),
          context?.principal ? `${context.principal.kind}:${principalName(context.principal)}` : '',
        ].join('\u0000');
        return mapAsyncIterator(source, (payload: unknown) => {
          if (payload === null || typeof payload !== 'object') return execute({ ...args, rootValue: payload });
          let byOperation = results.get(payload);
          if (!byOperation) results.set(payload, (byOperation = new Map()));
          let result = byOperation.get(key);
          if (!result) {
            result = execute({ ...args, rootValue: payload });
            byOperation.set(key, result);
          }
          return result;
        });
      });
    },
  };
}
