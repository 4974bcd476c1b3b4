import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { DEFAULT_MONITOR, type FraisierConfig } from './config/types.js';
import { requireSecrets } from './config/unavailable-secrets.js';
import { DeploymentService } from './deploy/deployment-service.js';
import { HealthMonitor } from './deploy/health-monitor.js';
import { logDeployments } from './deploy/deployment-log.js';
import { Dispatcher, type DispatcherOptions } from './deploy/dispatcher.js';
import { Pipeline } from './deploy/pipeline.js';
import { Scheduler } from './deploy/scheduler.js';
import { EventBus } from './events/bus.js';
import { DeploymentEventFeed } from './events/feed.js';
import { PgNotifier } from './events/pg-notify.js';
import { GateKeeper } from './gates/gate-keeper.js';
import { GateService } from './gates/gate-service.js';
import { createRunner, type CommandRunner } from './exec/runner.js';
import { createLogger } from './logger.js';
import { createTracing, type Tracing } from './tracing.js';
import { Metrics } from './metrics.js';
import { NotificationOutbox } from './notifications/outbox.js';
import { NotificationSender } from './notifications/sender.js';
import type { AnyProvider } from './providers/registry.js';
import { createProviderRegistry, type ProviderRegistry } from './providers/registry.js';
import type { AppServices } from './services/app-services.js';
import { TargetService } from './services/targets.js';
import { findDeployment } from './store/deployment.repository.js';
import { findProgress } from './store/progress.repository.js';
import { readDora } from './store/stats.repository.js';
import type { Store } from './store/store.js';
import { createReadCore, type ReadCore } from './read-core.js';
import { findWebhookEvent } from './store/webhook-event.repository.js';
import type { GitProvider } from './webhooks/provider.js';
import { createGitProviderRegistry, type GitProviderRegistry } from './webhooks/registry.js';
import { WebhookService } from './webhooks/webhook-service.js';

export interface CoreOptions {
  config: FraisierConfig;
  logger?: Logger;
  /** Injected clock (tests). */
  now?: () => Date;
  /** A store (tests pass one per dialect); otherwise one for the configured URL. */
  store?: Store;
  /** The read side, already made (the CLI reads first, and deploys only when asked); otherwise one over `store`. */
  reader?: ReadCore;
  runner?: CommandRunner;
  /** NODE_ENV=production: introspection off (unless configured), field suggestions off. */
  production?: boolean;
  /** Git providers besides the built-in ones (more can be added with gitProviders.register). */
  gitProviders?: GitProvider[];
  /** Target providers besides the built-in ones. */
  providers?: AnyProvider[];
  /** Names this process in leases (default: host, pid and a random part). */
  instanceId?: string;
  /** Which queued deployments this process may run (default: all). The CLI runs only its own. */
  accept?: DispatcherOptions['accept'];
  /** false: startWorkers leaves the scheduler off (a one-shot process such as the CLI). */
  scheduler?: boolean;
  /** Traces (tests pass their own); otherwise on when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
  tracing?: Tracing;
}

/**
 * Everything but the API: the store, the services resolvers call, the dispatcher and the
 * scheduler, the event bus. The CLI's local mode uses it as it is, without loading GraphQL;
 * createApp adds the GraphQL executor and the server (server/app-server.ts) in front.
 */
export interface Core {
  readonly config: FraisierConfig;
  readonly store: Store;
  /** NODE_ENV=production (or the option): the API then hides introspection and suggestions. */
  readonly production: boolean;
  readonly services: AppServices;
  readonly bus: EventBus;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Git providers webhooks are received from: the built-ins and registered ones. */
  readonly gitProviders: GitProviderRegistry;
  readonly providers: ProviderRegistry;
  readonly dispatcher: Dispatcher;
  readonly scheduler: Scheduler;
  /** Where notifications are written (in the transactions of their events)... */
  readonly outbox: NotificationOutbox;
  /** ...and what sends them. */
  readonly sender: NotificationSender;
  /** Checks every deployed environment's health every `monitor.interval`; runs with the scheduler. */
  readonly monitor: HealthMonitor;
  readonly instanceId: string;
  /** Opens and migrates the store and records the configured (fraise, environment) pairs. Idempotent. */
  init(): Promise<void>;
  /** init, then starts the dispatcher and the scheduler. Idempotent. */
  startWorkers(): Promise<void>;
  /**
   * No new work (the scheduler stops, nothing more is claimed); running deployments finish or
   * give their lease up within the drain timeout; subscribers of what ended get their last events.
   */
  drain(): Promise<void>;
  /** Closes the PostgreSQL listener and the store. */
  close(): Promise<void>;
}

/** Wires the services: the one place that knows how the pieces fit. Opens nothing. */
export function createCore(options: CoreOptions): Core {
  const { config } = options;
  const settings = config.settings;
  const tracing = options.tracing ?? createTracing();
  const logger = options.logger ?? createLogger({ level: settings.logLevel, ...(tracing.enabled ? { mixin: (line: object) => tracing.logFields(line) } : {}) });
  const now = options.now ?? (() => new Date());
  const production = options.production ?? process.env.NODE_ENV === 'production';
  const reader = options.reader ?? createReadCore({ config, now, logger, ...(options.store ? { store: options.store } : {}) });
  const { store, catalog, queries, init } = reader;
  const runner = options.runner ?? createRunner();
  const metrics = new Metrics();
  metrics.observeDora(async () => {
    const until = now();
    const since = new Date(until.getTime() - 30 * 86_400_000);
    return (await readDora(store.db, { since: since.toISOString(), until: until.toISOString() })).byTarget;
  });
  const bus = new EventBus();
  logDeployments(bus, logger);

  const instanceId = options.instanceId ?? settings.instanceId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const providers = createProviderRegistry(runner, now, options.providers);
  // Several processes on one PostgreSQL: LISTEN/NOTIFY for pickup and for live events.
  const notifier = store.dialect === 'postgres' ? new PgNotifier(store.url, instanceId, logger) : undefined;
  const pipeline = new Pipeline({ catalog, providers, store, bus, now, logger, tracing });
  const outbox = new NotificationOutbox({ config, now });
  const sender = new NotificationSender({
    store,
    config,
    outbox,
    logger,
    now,
    instanceId,
    metrics,
    leaseMs: settings.lease.ttlSeconds * 1000,
    pollMs: settings.pollIntervalSeconds * 1000,
  });
  // Protected environments' gates: evaluated by the dispatcher before a claim, and after a decision.
  const gates = new GateKeeper({ store, catalog, bus, metrics, logger, now, notifications: outbox });
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
    notifications: outbox,
    gates,
  });
  const gitProviders = createGitProviderRegistry(options.gitProviders);
  const webhooks = new WebhookService({ store, config, registry: gitProviders, bus, dispatch: dispatcher, metrics, logger, now, tracing });
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
    gates: new GateService({ store, queries, bus, keeper: gates, dispatch: dispatcher, logger, now }),
    webhooks,
    targets: new TargetService(catalog, providers),
    events: feed,
  };
  const runsScheduler = options.scheduler !== false;
  const scheduler = new Scheduler({ store, catalog, bus, metrics, logger, now, notify: () => dispatcher.notify() });
  const monitor = new HealthMonitor({ store, catalog, providers, bus, logger, now, settings: config.monitor ?? DEFAULT_MONITOR, outbox });
  notifier?.relayBus(bus, {
    progressEvent: async (id, sequence) => {
      const event = await findProgress(store.db, Number(id), sequence);
      return event ? { type: 'progress', event } : undefined;
    },
    deployment: async (id, type) => {
      const deployment = await findDeployment(store.db, Number(id));
      return deployment ? { type, deployment } : undefined;
    },
    webhookEvent: async (id) => {
      const event = await findWebhookEvent(store.db, Number(id));
      return event ? { type: 'webhook', event } : undefined;
    },
  });

  let workers: Promise<void> | undefined;

  const startWorkers = () =>
    (workers ??= (async () => {
      // Deployments and jobs use the target's, the environment's and the repository's secrets.
      requireSecrets(config, 'run deployments');
      await init();
      await notifier?.start();
      await dispatcher.start();
      // Without a destination there is nothing to send (rows left by an earlier configuration wait for one).
      if (outbox.active) sender.start();
      if (!runsScheduler) return;
      scheduler.start();
      monitor.start();
      if (scheduler.jobCount) logger.info({ jobs: scheduler.jobCount, next: scheduler.nextDue()?.toISOString() }, 'scheduler started');
    })().catch((error: unknown) => {
      workers = undefined;
      throw error;
    }));

  return {
    config,
    store,
    production,
    services,
    bus,
    metrics,
    logger,
    gitProviders,
    providers,
    dispatcher,
    scheduler,
    outbox,
    sender,
    monitor,
    instanceId,
    init,
    startWorkers,
    async drain() {
      scheduler.stop();
      await monitor.stop();
      if (workers) await dispatcher.stop(settings.drainTimeoutSeconds * 1000);
      // After the dispatcher: the deployments that ended while draining have written theirs.
      if (workers) await sender.stop(Math.min(settings.drainTimeoutSeconds * 1000, 10_000));
      // Subscribers of what just ended get its last events and their stream's end first.
      await feed.flush(2_000);
    },
    async close() {
      // What was traced is sent before the process goes.
      await tracing.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'could not send the last traces'));
      await notifier?.close();
      await store.close();
    },
  };
}
