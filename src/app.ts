import { schema } from '../schema/index.js';
import { requireSecrets } from './config/unavailable-secrets.js';
import { type Core, type CoreOptions, createCore } from './core.js';
import { type AppServer, createAppServer, type ListeningAddress, type ListenOptions } from './server/app-server.js';
import { createFraisierYoga, type FraisierYoga } from './server/yoga.js';

export type { ListenOptions } from './server/app-server.js';

export type AppOptions = CoreOptions;

/** The core (services, workers, store), the GraphQL API over it and the server in front. */
export interface App extends Omit<Core, 'drain' | 'close'> {
  /** The GraphQL executor (`yoga.fetch` works without a port). */
  readonly yoga: FraisierYoga;
  /** init, workers, then listen; resolves with the address. */
  start(listen?: ListenOptions): Promise<ListeningAddress>;
  /** Stops accepting work, drains, closes sockets and the store. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Wires the core and the server; nothing is opened until `init`, `startWorkers` or `start`.
 * A one-shot process (the CLI) uses init and startWorkers and never listens.
 */
export function createApp(options: AppOptions): App {
  const core = createCore(options);
  const yoga = createFraisierYoga({ schema, services: core.services, settings: core.config.settings, logger: core.logger, production: core.production });
  let server: AppServer | undefined;
  let stopping: Promise<void> | undefined;
  const { drain: _drain, close: _close, ...exposed } = core;
  return {
    ...exposed,
    yoga,
    async start(listen) {
      // Webhook secrets and API tokens: a server without them would refuse, or let in, the wrong requests.
      requireSecrets(core.config, 'serve');
      await core.startWorkers();
      server ??= createAppServer(core, yoga);
      return server.start(listen);
    },
    stop() {
      return (stopping ??= (async () => {
        server?.stopAccepting();
        // Running deployments finish (or give their lease up) while subscribers still watch them.
        await core.drain();
        await server?.close();
        await core.close();
      })());
    },
  };
}
