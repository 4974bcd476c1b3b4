import { assertCan, can, type Principal, scopeLimits } from '../auth/principal.js';
import { BadInputError, ForbiddenError, NotFoundError } from '../errors.js';
import {
  DEPLOYMENT_STATUSES,
  type Deployment,
  type DeploymentProgress,
  type DeploymentStatus,
  type DoraTotals,
  type FraiseState,
  type HealthStatus,
  NOTIFICATION_STATUSES,
  type NotificationRecord,
  type NotificationStatus,
  type StatsReading,
  type WebhookEventRecord,
} from '../model.js';
import { findDeployments, lastAttempt, listDeployments, previousSuccessfulVersion } from '../store/deployment.repository.js';
import { findFraiseState, listFraiseStates } from '../store/fraise-state.repository.js';
import { listNotifications } from '../store/notification.repository.js';
import { listProgress } from '../store/progress.repository.js';
import { readDora, readStats } from '../store/stats.repository.js';
import { guardStore, type Store } from '../store/store.js';
import { listWebhookEvents } from '../store/webhook-event.repository.js';
import type { Catalog } from './catalog.js';

export const MAX_LIST_LIMIT = 100;
/** A deployment's progress events per page: its default and its maximum (a long build logs thousands). */
export const MAX_PROGRESS_LIMIT = 1_000;
export const MAX_STATS_DAYS = 3650;

export interface DeploymentQuery {
  fraise?: string | null;
  environment?: string | null;
  status?: DeploymentStatus | null;
  limit?: number | null;
  /** Keyset paging: deployments older than this id. */
  before?: string | null;
  /** Only deployments requested at or after this instant. */
  since?: Date | null;
}

/** The read side of the API, over the store's views, with every access checked. */
export class QueryService {
  constructor(
    private readonly store: Store,
    private readonly catalog: Catalog,
    private readonly now: () => Date,
  ) {}

  assertCanRead(principal: Principal, fraise?: string, environment?: string): void {
    assertCan(principal, 'read', fraise, environment);
  }

  async deployments(principal: Principal, query: DeploymentQuery): Promise<Deployment[]> {
    const limit = checkLimit(query.limit ?? 20, 'limit');
    if (query.fraise) this.catalog.fraise(query.fraise);
    if (query.fraise && query.environment) this.catalog.environment(query.fraise, query.environment);
    else if (query.environment) this.catalog.assertEnvironmentName(query.environment);
    if (query.status && !DEPLOYMENT_STATUSES.includes(query.status)) throw new BadInputError(`unknown status "${query.status}"`);
    assertCan(principal, 'read', query.fraise ?? undefined, query.environment ?? undefined);
    const limits = scopeLimits(principal);
    return guardStore(() =>
      listDeployments(this.store.db, {
        limit,
        ...(query.fraise ? { fraise: query.fraise } : {}),
        ...(query.environment ? { environment: query.environment } : {}),
        ...(query.status ? { status: query.status } : {}),
        ...(query.before ? { beforeId: parseId(query.before, 'before') } : {}),
        ...(query.since ? { since: query.since.toISOString() } : {}),
        ...(limits.fraises ? { fraiseIn: [...limits.fraises] } : {}),
        ...(limits.environments ? { environmentIn: [...limits.environments] } : {}),
      }),
    );
  }

  async deployment(principal: Principal, id: string): Promise<Deployment> {
    const found = (await this.deploymentsById(principal, [id])).get(id);
    if (!found) throw new NotFoundError(`no deployment with id "${id}"`);
    return found;
  }

  /** The deployments with these ids that `principal` may read, by id as given; one query. */
  async deploymentsById(principal: Principal, ids: readonly string[]): Promise<Map<string, Deployment>> {
    assertCan(principal, 'read');
    const numeric = ids.map((id) => parseId(id, 'id'));
    const found = new Map((await guardStore(() => findDeployments(this.store.db, numeric))).map((d) => [Number(d.id), d]));
    const visible = new Map<string, Deployment>();
    ids.forEach((id, i) => {
      const deployment = found.get(numeric[i]!);
      // A token limited to other fraises learns nothing, not even that the deployment exists.
      if (deployment && can(principal, 'read', deployment.fraise, deployment.environment)) visible.set(id, deployment);
    });
    return visible;
  }

  /**
   * One page of a deployment's progress, oldest first: at most `limit` events after the sequence
   * `after`. Readers of the whole history page on from the last sequence they got.
   */
  async progress(deploymentId: string, after = 0, limit = MAX_PROGRESS_LIMIT): Promise<DeploymentProgress[]> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PROGRESS_LIMIT) {
      throw new BadInputError(`limit must be between 1 and ${MAX_PROGRESS_LIMIT} (got ${limit}); page with "after" (the last sequence seen) for more`);
    }
    if (!Number.isInteger(after) || after < 0) throw new BadInputError(`after must be a sequence number, 0 or more (got ${after})`);
    return guardStore(() => listProgress(this.store.db, parseId(deploymentId, 'deploymentId'), after, limit));
  }

  /** Every (fraise, environment) state row, keyed "fraise/environment". */
  async fraiseStates(): Promise<Map<string, FraiseState>> {
    const states = await guardStore(() => listFraiseStates(this.store.db));
    return new Map(states.map((s) => [`${s.fraise}/${s.environment}`, s]));
  }

  /** The environment's last deployment that ran, whatever it came to (the caller checked access). */
  async lastAttempt(fraise: string, environment: string): Promise<Deployment | null> {
    return (await guardStore(() => lastAttempt(this.store.db, fraise, environment))) ?? null;
  }

  /** What a rollback without a version would go back to, as the rollback itself picks it (the caller checked access). */
  async rollbackVersion(fraise: string, environment: string, current: string | null): Promise<string | null> {
    return (await guardStore(() => previousSuccessfulVersion(this.store.db, fraise, environment, current))) ?? null;
  }

  async status(principal: Principal, fraise: string, environment: string): Promise<HealthStatus> {
    this.catalog.environment(fraise, environment);
    assertCan(principal, 'read', fraise, environment);
    const state = await guardStore(() => findFraiseState(this.store.db, fraise, environment));
    return state?.status ?? 'unknown';
  }

  async stats(principal: Principal, query: { fraise?: string | null; environment?: string | null; days?: number | null }): Promise<StatsReading> {
    const days = query.days ?? 30;
    if (!Number.isInteger(days) || days < 1 || days > MAX_STATS_DAYS) {
      throw new BadInputError(`days must be between 1 and ${MAX_STATS_DAYS} (got ${days})`);
    }
    if (query.fraise) this.catalog.fraise(query.fraise);
    if (query.fraise && query.environment) this.catalog.environment(query.fraise, query.environment);
    else if (query.environment) this.catalog.assertEnvironmentName(query.environment);
    assertCan(principal, 'read', query.fraise ?? undefined, query.environment ?? undefined);
    const limits = scopeLimits(principal);
    // Like the PRD's `started_at >= date('now', '-30 days')`: whole days, from midnight UTC.
    const sinceDay = new Date(this.now().getTime() - days * 86_400_000).toISOString().slice(0, 10);
    const where = {
      ...(query.fraise ? { fraise: query.fraise } : {}),
      ...(query.environment ? { environment: query.environment } : {}),
      ...(limits.fraises ? { fraiseIn: [...limits.fraises] } : {}),
      ...(limits.environments ? { environmentIn: [...limits.environments] } : {}),
    };
    // DORA over exactly `days` days up to now (frequency per day of that window).
    const until = this.now();
    const since = new Date(until.getTime() - days * 86_400_000);
    const counters = await guardStore(() => readStats(this.store.db, { sinceDay, ...where }));
    let dora: Promise<DoraTotals> | undefined;
    const readDoraOnce = () => (dora ??= guardStore(async () => (await readDora(this.store.db, { since: since.toISOString(), until: until.toISOString(), ...where })).total));
    return { ...counters, dora: readDoraOnce };
  }

  /** Deliveries name any repository and branch: only a token that may read everything sees them. */
  assertCanReadWebhooks(principal: Principal): void {
    assertCan(principal, 'read');
    const limits = scopeLimits(principal);
    if (limits.fraises || limits.environments) {
      throw new ForbiddenError('a token limited to some fraises cannot list every webhook delivery');
    }
  }

  /**
   * Notifications, newest first, each with its attempts: of one deployment (which the principal
   * must be able to read), or of everything it may read.
   */
  async notifications(
    principal: Principal,
    query: { deploymentId?: string | null; status?: NotificationStatus | null; first?: number | null; before?: string | null },
  ): Promise<NotificationRecord[]> {
    const limit = checkLimit(query.first ?? 20, 'first');
    if (query.status && !NOTIFICATION_STATUSES.includes(query.status)) throw new BadInputError(`unknown notification status "${query.status}"`);
    assertCan(principal, 'read');
    if (query.deploymentId) await this.deployment(principal, query.deploymentId);
    const limits = scopeLimits(principal);
    return guardStore(() =>
      listNotifications(this.store.db, {
        limit,
        ...(query.deploymentId ? { deploymentId: parseId(query.deploymentId, 'deploymentId') } : {}),
        ...(query.status ? { status: query.status } : {}),
        ...(query.before ? { beforeId: parseId(query.before, 'before') } : {}),
        ...(limits.fraises ? { fraiseIn: [...limits.fraises] } : {}),
        ...(limits.environments ? { environmentIn: [...limits.environments] } : {}),
      }),
    );
  }

  async webhookEvents(principal: Principal, query: { limit?: number | null; before?: string | null }): Promise<WebhookEventRecord[]> {
    const limit = checkLimit(query.limit ?? 20, 'limit');
    this.assertCanReadWebhooks(principal);
    return guardStore(() =>
      listWebhookEvents(this.store.db, { limit, ...(query.before ? { beforeId: parseId(query.before, 'before') } : {}) }),
    );
  }
}

export function checkLimit(limit: number, name: string): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new BadInputError(`${name} must be between 1 and ${MAX_LIST_LIMIT} (got ${limit}); page with "before" for more`);
  }
  return limit;
}

/** Ids are positive integers; anything else cannot name a record. */
export function parseId(id: string, argument: string): number {
  if (!/^[1-9]\d{0,15}$/.test(id)) throw new BadInputError(`${argument} must be a deployment or event id such as "42" (got ${JSON.stringify(id.slice(0, 40))})`);
  return Number(id);
}
