import type { Principal } from '../src/auth/principal.js';
import type { FraiseState } from '../src/model.js';
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
}

export function createLoaders(services: AppServices): RequestLoaders {
  let states: Promise<Map<string, FraiseState>> | undefined;
  return {
    fraiseStates: () => (states ??= services.queries.fraiseStates()),
  };
}
