import DataLoader from 'dataloader';
import type { Principal } from '../src/auth/principal.js';
import { NotFoundError } from '../src/errors.js';
import type { Deployment, FraiseState } from '../src/model.js';
import type { AppServices } from '../src/services/app-services.js';

/** What every resolver receives: who asks, the app's services, and per-request caches. */
export interface GraphQLContext {
  principal: Principal;
  services: AppServices;
  loaders: RequestLoaders;
  /** Aborted when the request (or the subscription) ends. */
  signal?: AbortSignal;
  /** Cuts the client's connection at once (over WebSocket): for a subscriber that cannot keep up. */
  dropConnection?: () => void;
}

/** How a subscription resolver binds its stream to the caller. */
export function streamOptions(ctx: GraphQLContext) {
  return { ...(ctx.signal ? { signal: ctx.signal } : {}), ...(ctx.dropConnection ? { onTooSlow: ctx.dropConnection } : {}) };
}

export interface RequestLoaders {
  /** Every state row, read once per request however many environments ask. */
  fraiseStates(): Promise<Map<string, FraiseState>>;
  /** As queries.deployment; the ids asked for in one tick (a list's rows) are read in one query. */
  deployment: DataLoader<string, Deployment>;
}

/** The caches of one request, made by one principal: what they hold is what it may read. */
export function createLoaders(services: AppServices, principal: Principal): RequestLoaders {
  let states: Promise<Map<string, FraiseState>> | undefined;
  return {
    fraiseStates: () => (states ??= services.queries.fraiseStates()),
    deployment: new DataLoader<string, Deployment>(async (ids) => {
      const found = await services.queries.deploymentsById(principal, ids);
      return ids.map((id) => found.get(id) ?? new NotFoundError(`no deployment with id "${id}"`));
    }),
  };
}
