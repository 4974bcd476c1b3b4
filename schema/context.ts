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
  /** As queries.deployment; the ids asked for in one turn (a list's rows) are read in one query. */
  deployment(principal: Principal, id: string): Promise<Deployment>;
}

export function createLoaders(services: AppServices): RequestLoaders {
  let states: Promise<Map<string, FraiseState>> | undefined;
  const batches = new Map<Principal, Promise<Map<string, Deployment>> & { ids: string[] }>();
  return {
    fraiseStates: () => (states ??= services.queries.fraiseStates()),
    async deployment(principal, id) {
      let batch = batches.get(principal);
      if (!batch) {
        const ids: string[] = [];
        // Read once the resolvers of this turn have all asked.
        const read = Promise.resolve().then(() => {
          batches.delete(principal);
          return services.queries.deploymentsById(principal, ids);
        });
        batch = Object.assign(read, { ids });
        batches.set(principal, batch);
      }
      batch.ids.push(id);
      const found = (await batch).get(id);
      if (!found) throw new NotFoundError(`no deployment with id "${id}"`);
      return found;
    },
  };
}
