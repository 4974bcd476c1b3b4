import type { Logger } from 'pino';
import type { Core } from '../../core.js';
import { createReadCore, type ReadCore } from '../../read-core.js';
import type { Principal } from '../../auth/principal.js';
import type { FraisierConfig } from '../../config/types.js';
import type { DeploymentStatus, NotificationStatus } from '../../model.js';
import type { DeploymentsQuery, FraisierClient, NotificationsQuery } from './client.js';
import { localError } from './local-errors.js';
import { StoreFollower } from './store-follower.js';
import {
  deploymentView,
  type DeploymentView,
  fraiseView,
  type FraiseView,
  notificationView,
  type NotificationView,
  type ProgressView,
  progressView,
  resultView,
  type StatsView,
  targetHealthView,
  type TargetHealthView,
  type WebhookEventView,
  webhookEventView,
} from './views.js';

/** Anyone at this machine's terminal with the configuration may do everything. */
const OPEN: Principal = { kind: 'open' };

/**
 * Local mode: the configured store, through the core's services (no server). Reads need only the
 * read side (read-core.ts); what deploys or asks a target loads the whole core the first time it
 * is needed, over the same store. Its dispatcher claims only the deployments this client queued
 * (`accept`), and the scheduler stays off: the CLI runs what it was asked to run, and leaves the
 * rest of the queue to the servers.
 */
export class LocalClient implements FraisierClient {
  readonly mode = 'local';
  readonly runsDeployments = true;
  readonly #reader: ReadCore;
  readonly #logger: () => Promise<Logger>;
  #core: Promise<Core> | undefined;
  readonly #mine = new Set<number>();
  #closing: Promise<void> | undefined;

  private constructor(config: FraisierConfig, logger: () => Promise<Logger>) {
    this.#reader = createReadCore({ config });
    this.#logger = logger;
  }

  /** Opens the store and migrates it (as the server does); exit 3 when it cannot be reached. */
  static async open(config: FraisierConfig, logger: () => Promise<Logger>): Promise<LocalClient> {
    let client: LocalClient;
    try {
      client = new LocalClient(config, logger);
    } catch (error) {
      throw localError(error, config.settings.databaseUrl);
    }
    try {
      await client.#reader.init();
    } catch (error) {
      await client.close().catch(() => {});
      throw localError(error, client.where);
    }
    return client;
  }

  get where(): string {
    return this.#reader.store.description;
  }

  /** The whole core, over the reader's store: loaded the first time something deploys or asks a target. */
  #services(): Promise<Core> {
    return (this.#core ??= (async () => {
      const [{ createCore }, logger] = await Promise.all([import('../../core.js'), this.#logger()]);
      return createCore({ config: this.#reader.config, reader: this.#reader, logger, accept: (candidate) => this.#mine.has(candidate.id), scheduler: false });
    })());
  }

  async #call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw localError(error, this.where);
    }
  }

  fraises(): Promise<FraiseView[]> {
    return this.#call(async () => {
      const states = await this.#reader.queries.fraiseStates();
      return this.#reader.catalog.fraises.map((f) => fraiseView(f, states));
    });
  }

  fraise(name: string): Promise<FraiseView> {
    return this.#call(async () => {
      const fraise = this.#reader.catalog.fraise(name);
      return fraiseView(fraise, await this.#reader.queries.fraiseStates());
    });
  }

  deployments(query: DeploymentsQuery): Promise<DeploymentView[]> {
    return this.#call(async () => {
      const list = await this.#reader.queries.deployments(OPEN, {
        limit: query.limit,
        ...(query.fraise ? { fraise: query.fraise } : {}),
        ...(query.environment ? { environment: query.environment } : {}),
        // The service checks the value (BAD_USER_INPUT for an unknown one).
        ...(query.status ? { status: query.status.toLowerCase() as DeploymentStatus } : {}),
        ...(query.before ? { before: query.before } : {}),
        ...(query.since ? { since: query.since } : {}),
      });
      return list.map(deploymentView);
    });
  }

  deployment(id: string): Promise<DeploymentView> {
    return this.#call(async () => deploymentView(await this.#reader.queries.deployment(OPEN, id)));
  }

  stats(query: { fraise?: string; environment?: string; days?: number }) {
    return this.#call(async (): Promise<StatsView> => {
      const { dora, ...counters } = await this.#reader.queries.stats(OPEN, query);
      return { ...counters, ...(await dora()) };
    });
  }

  webhookEvents(query: { limit: number; before?: string }): Promise<WebhookEventView[]> {
    return this.#call(async () => {
      const { queries } = this.#reader;
      const events = await queries.webhookEvents(OPEN, query);
      const deployments = await queries.deploymentsById(OPEN, events.flatMap((e) => e.deploymentId ?? []));
      return events.map((e) => webhookEventView(e, e.deploymentId ? deployments.get(e.deploymentId) : undefined));
    });
  }

  notifications(query: NotificationsQuery): Promise<NotificationView[]> {
    return this.#call(async () => {
      const list = await this.#reader.queries.notifications(OPEN, {
        first: query.first,
        ...(query.deploymentId ? { deploymentId: query.deploymentId } : {}),
        // The service checks the value (BAD_USER_INPUT for an unknown one).
        ...(query.status ? { status: query.status.toLowerCase() as NotificationStatus } : {}),
        ...(query.before ? { before: query.before } : {}),
      });
      return list.map(notificationView);
    });
  }

  logs(fraise: string, environment: string, lines: number): Promise<string> {
    return this.#call(async () => (await this.#services()).services.targets.logs(OPEN, fraise, environment, lines));
  }

  targetHealth(fraise: string, environment: string): Promise<TargetHealthView> {
    return this.#call(async () => targetHealthView(await (await this.#services()).services.targets.health(OPEN, fraise, environment)));
  }

  control(action: 'stop' | 'start', fraise: string, environment: string): Promise<{ success: boolean; message: string }> {
    return this.#call(async () => (await this.#services()).services.targets[action](OPEN, fraise, environment));
  }

  deploy(input: { fraise: string; environment: string; dryRun?: boolean; force?: boolean; commit?: string }) {
    return this.#call(async () => resultView(await (await this.#services()).services.deployments.deploy(OPEN, { ...input, trigger: 'manual' })));
  }

  rollback(input: { fraise: string; environment: string; toVersion?: string }) {
    return this.#call(async () => resultView(await (await this.#services()).services.deployments.rollback(OPEN, { ...input, trigger: 'manual' })));
  }

  runJob(input: { fraise: string; environment: string; job: string }) {
    return this.#call(async () => resultView(await (await this.#services()).services.deployments.runJob(OPEN, { ...input, trigger: 'manual' })));
  }

  cancel(id: string): Promise<DeploymentView> {
    return this.#call(async () => deploymentView(await (await this.#services()).services.deployments.cancel(OPEN, id)));
  }

  steer(action: 'pause' | 'resume' | 'promote', id: string): Promise<DeploymentView> {
    return this.#call(async () => deploymentView(await (await this.#services()).services.deployments.control(OPEN, action, id)));
  }

  decide(decision: 'approve' | 'reject', id: string, text: string | undefined): Promise<DeploymentView> {
    return this.#call(async () => {
      const { gates } = (await this.#services()).services;
      return deploymentView(await (decision === 'approve' ? gates.approve(OPEN, id, text ?? null) : gates.reject(OPEN, id, text ?? '')));
    });
  }

  follow(id: string, onProgress: (event: ProgressView) => void, signal?: AbortSignal): Promise<DeploymentView> {
    return this.#call(async () => {
      // Nobody else may be running: this process runs it, unless another one already claimed it.
      this.#mine.add(Number(id));
      const core = await this.#services();
      await core.startWorkers();
      void core.dispatcher.tick();
      const follower = new StoreFollower(core, id, (event) => onProgress(progressView(event)));
      return deploymentView(await follower.run(signal));
    });
  }

  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      const core = await this.#core?.catch(() => undefined);
      if (core) {
        await core.drain();
        await core.close();
      } else await this.#reader.store.close();
    })());
  }
}
