import { STATEFUL_TYPES } from '../config/notifications.js';
import type { FraisierConfig, NotificationDestination, NotificationEvent, NotificationScope } from '../config/types.js';

/*
 * Which destinations an event of (fraise, environment) goes to. Three blocks may speak: the top
 * level's, the top-level environments.<name>'s, and the environment's own (the only one the
 * Python Fraisier read). They add up, in that order, a destination listed in several being sent
 * to once; `inherit: false` in a block keeps the blocks above it out, `enabled: false` silences
 * it and everything above. A PagerDuty or Git-issue destination listed for failures or rollbacks
 * also gets the next success, which resolves what they opened.
 */

export function destinationsFor(config: FraisierConfig, fraise: string, environment: string, event: NotificationEvent): NotificationDestination[] {
  const own = config.fraises.find((f) => f.name === fraise)?.environments.find((e) => e.name === environment)?.notifications;
  const chain = [config.notifications.top, config.notifications.environments[environment], own];
  // From the environment's own block up: a block that does not inherit ends the chain.
  const scopes: NotificationScope[] = [];
  for (const scope of chain.slice().reverse()) {
    if (!scope) continue;
    if (!scope.enabled) return [];
    scopes.unshift(scope);
    if (!scope.inherit) break;
  }
  const found = new Map<string, NotificationDestination>();
  const add = (list: readonly NotificationDestination[] | undefined, keep: (d: NotificationDestination) => boolean = () => true) => {
    for (const destination of list ?? []) if (keep(destination) && !found.has(destination.fingerprint)) found.set(destination.fingerprint, destination);
  };
  for (const scope of scopes) {
    add(scope.lists[event]);
    if (event === 'success') {
      const stateful = (d: NotificationDestination) => STATEFUL_TYPES.includes(d.type);
      add(scope.lists.failure, stateful);
      add(scope.lists.rollback, stateful);
    }
  }
  return [...found.values()];
}

/** Every configured destination, by fingerprint: what a sender can send to. */
export function allDestinations(config: FraisierConfig): Map<string, NotificationDestination> {
  const scopes = [config.notifications.top, ...Object.values(config.notifications.environments), ...config.fraises.flatMap((f) => f.environments.map((e) => e.notifications))];
  const all = new Map<string, NotificationDestination>();
  for (const scope of scopes) {
    for (const list of Object.values(scope?.lists ?? {})) for (const destination of list) all.set(destination.fingerprint, destination);
  }
  return all;
}
