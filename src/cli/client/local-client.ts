import type { Logger } from 'pino';
import { type Core, createCore } from '../../core.js';
import type { Principal } from '../../auth/principal.js';
import type { FraisierConfig } from '../../config/types.js';
import type { DeploymentStatus } from '../../model.js';
import type { DeploymentsQuery, FraisierClient } from './client.js';
import { localError } from './local-errors.js';
import { StoreFollower } from './store-follower.js';
import {
  deploymentView,
  type DeploymentView,
  fraiseView,
  type FraiseView,
  type ProgressView,
  progressView,
  resultView,
  targetHealthView,
  type TargetHealthView,
  type WebhookEventView,
  webhookEventView,
} from './views.js';

/** Anyone at this machine's terminal with the configuration may do everything. */
const OPEN: Principal = { kind: 'open' };

/**
 * Local mode: the configured store, through the core's services (no server). Its dispatcher claims
 * only the deployments this client queued (`accept`), and the scheduler stays off: the CLI runs
 * what it was asked to run, and leaves the rest of the queue to the servers.
 */
export class LocalClient implements FraisierClient {
  readonly mode = 'local';
  readonly runsDeployments = true;
  readonly #core: Core;
  readonly #mine = new Set<number>();
  #closing: Promise<void> | undefined;

  private constructor(config: FraisierConfig, logger: Logger) {
    this.#core = createCore({ config, logger, accept: (candidate) => this.#mine.has(candidate.id), scheduler: false });
  }

  /** Opens the store and migrates it (as the server does); exit 3 when it cannot be reached. */
  static async open(config: FraisierConfig, logger: Logger): Promise<LocalClient> {
    let client: LocalClient;
    try {
      client = new LocalClient(config, logger);
    } catch (error) {
      throw localError(error, config.settings.databaseUrl);
    }
    try {
      await client.#core.init();
    } catch (error) {
      await client.close().catch(() => {});
      throw localError(error, client.where);
    }
    return client;
  }

  get where(): string {
    return this.#core.store.description;
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
      const states = await this.#core.services.queries.fraiseStates();
      return this.#core.services.catalog.fraises.map((f) => fraiseView(f, states));
    });
  }

  fraise(name: string): Promise<FraiseView> {
    return this.#call(async () => {
      const fraise = this.#core.services.catalog.fraise(name);
      return fraiseView(fraise, await this.#core.services.queries.fraiseStates());
    });
  }

  deployments(query: DeploymentsQuery): Promise<DeploymentView[]> {
    return this.#call(async () => {
      const list = await this.#core.services.queries.deployments(OPEN, {
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
    return this.#call(async () => deploymentView(await this.#core.services.queries.deployment(OPEN, id)));
  }

  stats(query: { fraise?: string; environment?: string; days?: number }) {
    return this.#call(() => this.#core.services.queries.stats(OPEN, query));
  }

  webhookEvents(query: { limit: number; before?: string }): Promise<WebhookEventView[]> {
    return this.#call(async () => {
      const { queries } = this.#core.services;
      const events = await queries.webhookEvents(OPEN, query);
      const deployments = await queries.deploymentsById(OPEN, events.flatMap((e) => e.deploymentId ?? []));
      return events.map((e) => webhookEventView(e, e.deploymentId ? deployments.get(e.deploymentId) : undefined));
    });
  }

  logs(fraise: string, environment: string, lines: number): Promise<string> {
    return this.#call(() => this.#core.services.targets.logs(OPEN, fraise, environment, lines));
  }

  targetHealth(fraise: string, environment: string): Promise<TargetHealthView> {
    return this.#call(async () => targetHealthView(await this.#core.services.targets.health(OPEN, fraise, environment)));
  }

  control(action: 'stop' | 'start', fraise: string, environment: string): Promise<{ success: boolean; message: string }> {
    return this.#call(() => this.#core.services.targets[action](OPEN, fraise, environment));
  }

  deploy(input: { fraise: string; environment: string; dryRun?: boolean; force?: boolean; commit?: string }) {
    return this.#call(async () => resultView(await this.#core.services.deployments.deploy(OPEN, { ...input, trigger: 'manual' })));
  }

  rollback(input: { fraise: string; environment: string; toVersion?: string }) {
    return this.#call(async () => resultView(await this.#core.services.deployments.rollback(OPEN, { ...input, trigger: 'manual' })));
  }

  cancel(id: string): Promise<DeploymentView> {
    return this.#call(async () => deploymentView(await this.#core.services.deployments.cancel(OPEN, id)));
  }

  follow(id: string, onProgress: (event: ProgressView) => void, signal?: AbortSignal): Promise<DeploymentView> {
    return this.#call(async () => {
      // Nobody else may be running: this process runs it, unless another one already claimed it.
      this.#mine.add(Number(id));
      await this.#core.startWorkers();
      void this.#core.dispatcher.tick();
      const follower = new StoreFollower(this.#core, id, (event) => onProgress(progressView(event)));
      return deploymentView(await follower.run(signal));
    });
  }

  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      await this.#core.drain();
      await this.#core.close();
    })());
  }
}
