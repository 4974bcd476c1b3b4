import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import type { GraphQLSchema } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import { createLoaders, type GraphQLContext } from '../../schema/context.js';
import { authenticate, type Principal } from '../auth/principal.js';
import type { ServerSettings } from '../config/types.js';
import type { AppServices } from '../services/app-services.js';
import { maskError } from './errors.js';
import { createGraphiQL } from './graphiql.js';
import { corsOrigin } from './origin.js';
import { useListCost } from './plugins/use-list-cost.js';
import { useOperationScopes } from './plugins/use-operation-scopes.js';
import { useResponseLimit } from './plugins/use-response-limit.js';
import { type SinkContext, useSharedSubscriptionExecution } from './plugins/use-shared-subscription-execution.js';

/**
 * What yoga's context factory receives on HTTP (request) or over graphql-ws (principal set at
 * connect, and a sink the subscription's events are pushed into).
 */
export interface ServerContext extends SinkContext {
  request?: Request;
  principal?: Principal;
  /** Set by the WebSocket transport: cuts that client off. */
  dropConnection?: () => void;
}

export type FraisierYoga = YogaServerInstance<ServerContext, GraphQLContext>;

export interface YogaOptions {
  schema: GraphQLSchema;
  services: AppServices;
  settings: ServerSettings;
  logger: Logger;
  production: boolean;
}

/**
 * Query limits: what the dashboard, the CLI and GraphiQL need, and no more. maxCost counts a list
 * as its limit times what is selected in it (use-list-cost.ts): one deployment with a full page
 * of progress (1,000 events) fits; fifteen aliases of it do not.
 */
const LIMITS = { maxDepth: 10, maxAliases: 15, maxTokens: 2_000, maxCost: 10_000, maxDirectives: 50 };

/** What a client reads of an unexpected error (maskError logs the rest). */
const UNEXPECTED = 'Unexpected error.';

export function createFraisierYoga(options: YogaOptions): FraisierYoga {
  const { services, settings, production } = options;
  const introspection = settings.introspection ?? !production;
  const plugins: Plugin[] = [
    EnvelopArmorPlugin({
      maxDepth: { n: LIMITS.maxDepth, flattenFragments: true },
      maxAliases: { n: LIMITS.maxAliases },
      maxTokens: { n: LIMITS.maxTokens },
      // Replaced by useListCost, which counts list sizes.
      costLimit: { enabled: false },
      maxDirectives: { n: LIMITS.maxDirectives },
      blockFieldSuggestion: { enabled: production },
    }) as Plugin,
    // A simple (form or text) request cannot carry this header without a CORS preflight.
    useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf', 'apollo-require-preflight'] }) as Plugin,
    useOperationScopes() as Plugin,
    useSharedSubscriptionExecution({ maskError: (error) => maskError(error, UNEXPECTED, options.logger) }) as Plugin,
    // After the scope check: who may not ask at all learns that first.
    useListCost({ maxCost: LIMITS.maxCost }),
    useResponseLimit({ maxBytes: settings.responseLimitBytes, setting: 'fraisier.response_limit' }),
  ];
  if (!introspection) plugins.push(useDisableIntrospection() as Plugin);
  // From installed files, not yoga's default CDN: GraphiQL works offline (graphiql.ts).
  const graphiql = settings.graphiql ? createGraphiQL() : undefined;
  if (graphiql) plugins.push(graphiql.plugin);

  return createYoga<ServerContext, GraphQLContext>({
    schema: options.schema,
    graphqlEndpoint: '/graphql',
    graphiql: settings.graphiql ? { title: 'Fraisier', subscriptionsProtocol: 'WS' } : false,
    ...(graphiql ? { renderGraphiQL: graphiql.render } : {}),
    landingPage: false,
    batching: false,
    // CORS only for fraisier.allowed_origins, each answered with itself; yoga's default would
    // echo any Origin back with credentials. (Foreign origins are refused before yoga: origin.ts.)
    cors: (request) => {
      const origin = corsOrigin(request.headers.get('origin'), settings);
      return origin ? { origin: [origin], credentials: true, methods: ['GET', 'POST'], maxAge: 600 } : false;
    },
    logging: {
      debug: (...args) => options.logger.debug({ yoga: args }, 'yoga'),
      info: (...args) => options.logger.info({ yoga: args }, 'yoga'),
      warn: (...args) => options.logger.warn({ yoga: args }, 'yoga'),
      // yoga logs every error maskError replaced, at error: maskError has logged it already, at
      // the level it deserves (a client's mistake is not an error of the server's).
      error: (...args) =>
        args.length > 0 && args.every((arg) => arg instanceof Error) ? options.logger.debug({ yoga: args }, 'yoga: masked error') : options.logger.error({ yoga: args }, 'yoga'),
    },
    maskedErrors: { maskError: (error, message) => maskError(error, message, options.logger), errorMessage: UNEXPECTED },
    plugins,
    context: ({ request, principal: given, dropConnection }): GraphQLContext => {
      const principal = given ?? authenticate(request?.headers.get('authorization'), settings.tokens);
      return {
        principal,
        services,
        loaders: createLoaders(services, principal),
        ...(request?.signal ? { signal: request.signal } : {}),
        ...(dropConnection ? { dropConnection } : {}),
      };
    },
  });
}
