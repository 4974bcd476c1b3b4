import type { Logger } from 'pino';
import type { FraisierConfig } from './config/types.js';
import { Catalog } from './services/catalog.js';
import { QueryService } from './services/queries.js';
import { ensureFraiseStates } from './store/fraise-state.repository.js';
import { createStore, type Store } from './store/store.js';

/*
 * What reading needs: the store, opened and migrated as the server does, the catalog of the
 * configuration and the queries over both. createCore builds everything else on it; the CLI's
 * read commands use it alone, so that they load nothing that deploys, runs commands or counts
 * metrics.
 */

export interface ReadCoreOptions {
  config: FraisierConfig;
  /** A store (tests pass one per dialect); otherwise one for the configured URL. */
  store?: Store;
  now?: () => Date;
  /** Told which migrations were applied, if any. */
  logger?: Logger;
}

export interface ReadCore {
  readonly config: FraisierConfig;
  readonly store: Store;
  readonly catalog: Catalog;
  readonly queries: QueryService;
  /** Opens and migrates the store and records the configured (fraise, environment) pairs. Idempotent. */
  init(): Promise<void>;
}

/** Wires the read side. Opens nothing. */
export function createReadCore(options: ReadCoreOptions): ReadCore {
  const { config, logger } = options;
  const now = options.now ?? (() => new Date());
  const store = options.store ?? createStore(config.settings.databaseUrl);
  const catalog = new Catalog(config);
  const queries = new QueryService(store, catalog, now);
  let initialized: Promise<void> | undefined;
  return {
    config,
    store,
    catalog,
    queries,
    init: () =>
      (initialized ??= (async () => {
        const applied = await store.migrate();
        if (applied.length) logger?.info({ migrations: applied }, 'store migrated');
        await ensureFraiseStates(
          store.db,
          catalog.pairs().map((e) => ({ fraise: e.fraise, environment: e.name, targetProvider: e.target.provider })),
          now().toISOString(),
        );
      })().catch((error: unknown) => {
        initialized = undefined;
        throw error;
      })),
  };
}
