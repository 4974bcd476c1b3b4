import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { schema } from '../schema/index.js';
import { providersWithoutSecret } from './config/load.js';
import type { FraisierConfig } from './config/types.js';
import { DeploymentService } from './deploy/deployment-service.js';
import { Dispatcher, type DispatcherOptions } from './deploy/dispatcher.js';
import { Pipeline } from './deploy/pipeline.js';
import { Scheduler } from './deploy/scheduler.js';
import { EventBus } from './events/bus.js';
import { DeploymentEventFeed } from './events/feed.js';
import { PgNotifier } from './events/pg-notify.js';
import { createRunner, type CommandRunner } from './exec/runner.js';
import { createLogger } from './logger.js';
import type { DeploymentProvider } from './providers/provider.js';
import { createProviderRegistry, type ProviderRegistry } from './providers/registry.js';
import { createDashboardRoute } from './server/dashboard/route.js';
import { createHttpServer, sendJson } from './server/http-server.js';
import { Metrics } from './metrics.js';
import { createWebhookRoute } from './server/webhook-route.js';
import { attachGraphQLWs, type WsHandle } from './server/ws.js';
import { createFraisierYoga, type FraisierYoga } from './server/yoga.js';
import type { AppServices } from './services/app-services.js';
import { Catalog } from './services/catalog.js';
import { TargetService } from './services/targets.js';
import { QueryService } from './services/queries.js';
import { findDeployment } from './store/deployment.repository.js';
import { findProgress } from './store/progress.repository.js';
import { ensureFraiseStates } from './store/fraise-state.repository.js';
import { createStore, type Store } from './store/store.js';
import type { GitProvider } from './webhooks/provider.js';
import { createGitProviderRegistry, type GitProviderRegistry } from './webhooks/registry.js';
import { WebhookService } from './webhooks/webhook-service.js';

export interface AppOptions {
  config: FraisierConfig;
  logger?: Logger;
  /** Injected clock (tests). */
  now?: () => Date;
  /** An open store (tests pass one per dialect); otherwise opened from the settings. */
  store?: Store;
  runner?: CommandRunner;
  /** NODE_ENV=production: introspection off (unless configured), field suggestions off. */
  production?: boolean;
  /** Git providers besides the built-in ones (more can be added with app.gitProviders.register). */
  gitProviders?: GitProvider[];
  /** Target providers besides the built-in ones. */
  providers?: DeploymentProvider[];
  /** Names this process in leases (default: host, pid and a random part). */
  instanceId?: string;
  /** Which queued deployments this process may run (default: all). The CLI runs only its own. */
  accept?: DispatcherOptions['accept'];
  /** false: startWorkers leaves the scheduler off (a one-shot process such as the CLI). */
  scheduler?: boolean;
}

export interface ListenOptions {
  host?: string;
  port?: number;
}

export interface App {
  readonly config: FraisierConfig;
  readonly store: Store;
  readonly yoga: FraisierYoga;
  readonly services: AppServices;
  readonly bus: EventBus;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Git providers webhooks are received from: the built-ins and registered ones. */
  readonly gitProviders: GitProviderRegistry;
  readonly providers: ProviderRegistry;
  readonly dispatcher: Dispatcher;
  readonly scheduler: Scheduler;
  readonly instanceId: string;
  /** Migrates the store and records the configured (fraise, environment) pairs. Idempotent. */
  init(): Promise<void>;
  /** init, then starts the dispatcher and the scheduler (start does it too). Idempotent. */
  startWorkers(): Promise<void>;
  /** init, workers, then listen; resolves with the address. */
  start(listen?: ListenOptions): Promise<{ url: string; host: string; port: number }>;
  /** Stops accepting work, drains, closes sockets and the store. Idempotent. */
  stop(): Promise<void>;
}

/** Wires everything: the one place that knows how the pieces fit. */
export function createApp(options: AppOptions): App {
  const { config } = options;
  const settings = config.settings;
  const logger = options.logger ?? createLogger({ level: settings.logLevel });
  const now = options.now ?? (() => new Date());
  const production = options.production ?? process.env.NODE_ENV === 'production';
  const store = options.store ?? createStore(settings.databaseUrl);
  const runner = options.runner ?? createRunner();
  const metrics = new Metrics();
  const bus = new EventBus();
  const catalog = new Catalog(config);
  const queries = new QueryService(store, catalog, now);

  const instanceId = options.instanceId ?? settings.instanceId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const providers = createProviderRegistry(runner, now, options.providers);
  // Several processes on one PostgreSQL: LISTEN/NOTIFY for pickup and for live events.
  const notifier = store.dialect === 'postgres' ? new PgNotifier(store.url, instanceId, logger) : undefined;
  const pipeline = new Pipeline({ catalog, providers, store, bus, now, logger });
  const dispatcher = new Dispatcher({
    store,
    catalog,
    providers,
    pipeline,
    bus,
    metrics,
    logger,
    now,
    instanceId,
    concurrency: settings.concurrency,
    lease: settings.lease,
    pollIntervalSeconds: settings.pollIntervalSeconds,
    ...(notifier ? { signal: notifier } : {}),
    ...(options.accept ? { accept: options.accept } : {}),
  });
  const gitProviders = createGitProviderRegistry(options.gitProviders);
  const webhooks = new WebhookService({ store, config, registry: gitProviders, bus, dispatch: dispatcher, metrics, logger, now });
  const feed = new DeploymentEventFeed(
    bus,
    {
      progress: (id, after, limit) => queries.progress(id, after, limit),
      status: async (id) => (await findDeployment(store.db, Number(id)))?.status,
    },
    { maxBuffer: settings.websocket.maxQueuedEvents },
  );
  const services: AppServices = {
    catalog,
    queries,
    deployments: new DeploymentService({ store, catalog, queries, bus, runner, providers, dispatch: dispatcher, metrics, logger, now }),
    webhooks,
    targets: new TargetService(catalog, providers),
    events: feed,
  };
  const scheduler = new Scheduler({ store, catalog, bus, metrics, logger, now, notify: () => dispatcher.notify() });
  notifier?.relayBus(bus, {
    progressEvent: async (id, sequence) => {
      const event = await findProgress(store.db, Number(id), sequence);
      return event ? { type: 'progress', event } : undefined;
    },
    deployment: async (id, type) => {
      const deployment = await findDeployment(store.db, Number(id));
      return deployment ? { type, deployment } : undefined;
    },
  });
  const yoga = createFraisierYoga({ schema, services, settings, logger, production });

  let initialized: Promise<void> | undefined;
  let workers: Promise<void> | undefined;
  let server: Server | undefined;
  let ws: WsHandle | undefined;
  let stopping: Promise<void> | undefined;

  const init = () =>
    (initialized ??= (async () => {
      const applied = await store.migrate();
      if (applied.length) logger.info({ migrations: applied }, 'store migrated');
      await ensureFraiseStates(
        store.db,
        catalog.pairs().map((e) => ({ fraise: e.fraise, environment: e.name, targetProvider: e.target.provider })),
        now().toISOString(),
      );
    })().catch((error: unknown) => {
      initialized = undefined;
      throw error;
    }));

  const startWorkers = () =>
    (workers ??= (async () => {
      await init();
      await notifier?.start();
      await dispatcher.start();
      if (options.scheduler !== false) scheduler.start();
      if (scheduler.jobCount && options.scheduler !== false) logger.info({ jobs: scheduler.jobCount, next: scheduler.nextDue()?.toISOString() }, 'scheduler started');
    })().catch((error: unknown) => {
      workers = undefined;
      throw error;
    }));

  return {
    config,
    store,
    yoga,
    services,
    bus,
    metrics,
    logger,
    gitProviders,
    providers,
    dispatcher,
    scheduler,
    instanceId,
    init,
    startWorkers,
    async start(listen = {}) {
      await startWorkers();
      let host = listen.host ?? settings.host;
      const port = listen.port ?? settings.port;
      if (settings.tokens.length === 0 && !isLoopback(host)) {
        logger.warn({ requested: host }, 'no API tokens configured: listening on 127.0.0.1 only (configure fraisier.tokens to listen elsewhere)');
        host = '127.0.0.1';
      }
      server = createHttpServer({
        yoga,
        logger,
        settings,
        headersTimeoutMs: settings.http.headersTimeoutMs,
        requestTimeoutMs: settings.http.requestTimeoutMs,
        routes: {
          health: (_req, res) => sendJson(res, 200, { status: 'ok' }),
          ready: async (_req, res) => {
            const readiness = await store.readiness();
            sendJson(res, readiness.ready ? 200 : 503, readiness.ready ? { status: 'ready' } : { status: 'unavailable', reason: readiness.reason });
          },
          metrics: async (_req, res) => {
            metrics.subscribers.set(bus.listenerCount);
            const body = await metrics.registry.metrics();
            res.writeHead(200, { 'content-type': metrics.registry.contentType });
            res.end(body);
          },
          webhook: createWebhookRoute({ schema, services, registry: gitProviders, settings, metrics, logger }),
          dashboard: createDashboardRoute(),
        },
      });
      ws = attachGraphQLWs({
        server,
        yoga,
        settings,
        logger,
        maxBufferedBytes: settings.websocket.maxBufferedBytes,
        stallTimeoutMs: settings.websocket.stallTimeoutMs,
        maxSubscriptionsPerSocket: settings.websocket.maxSubscriptions,
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, host, () => {
          server!.off('error', reject);
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      const url = `http://${shownHost}:${address.port}`;
      logger.info({ url, store: store.description, fraises: catalog.fraises.length }, `listening on ${url} (GraphiQL at ${url}/graphql)`);
      if (settings.tokens.length === 0) logger.warn('no API tokens configured: the API is open to anyone who can reach 127.0.0.1');
      const refused = providersWithoutSecret(config);
      if (refused.length) logger.warn({ providers: refused }, `webhook deliveries refused for lack of a secret: ${refused.join(', ')}`);
      return { url, host: address.address, port: address.port };
    },
    stop() {
      return (stopping ??= (async () => {
        // No new work: the scheduler stops, new connections are refused, nothing more is claimed.
        scheduler.stop();
        const closed = server ? new Promise<void>((resolve) => server!.close(() => resolve())) : Promise.resolve();
        server?.closeIdleConnections();
        // Running deployments finish (or give their lease up) while subscribers still watch them.
        if (workers) await dispatcher.stop(settings.drainTimeoutSeconds * 1000);
        // Subscribers of what just ended get its last events and their stream's end first.
        await feed.flush(2_000);
        await ws?.close();
        server?.closeIdleConnections();
        // Streams (SSE subscriptions) never end by themselves: give them a moment, then cut.
        await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 3_000).unref())]);
        server?.closeAllConnections();
        await closed;
        await notifier?.close();
        await store.close();
      })());
    },
  };
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host.startsWith('127.');
}
