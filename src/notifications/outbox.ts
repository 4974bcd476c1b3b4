import { createHash } from 'node:crypto';
import type { FraisierConfig, NotificationDestination, NotificationEvent } from '../config/types.js';
import type { Deployment, EnvironmentStatusChange } from '../model.js';
import { findDeployment } from '../store/deployment.repository.js';
import { disabledDestinations, insertNotifications, type NewNotification } from '../store/notification.repository.js';
import type { Db } from '../store/store.js';
import { allDestinations, destinationsFor } from './routes.js';
import type { DeploymentPayload, HealthPayload, NotificationPayload } from './types.js';

/*
 * Writes notifications into the outbox, inside the caller's transaction: the one that ends a
 * deployment, starts it, records that it waits for an operator, or records a change of health
 * the monitor saw. Either both the event and its notifications are committed, or neither: a
 * crash between the two cannot lose one. After the commit the caller calls `wake()`, and the
 * sender of this process sends at once (others find the rows at their next poll).
 *
 * Event ids are stable, so the same event written twice (a transaction retried) queues each
 * destination once: d<deployment>.<event>, with the attempt for a start (a deployment queued
 * again after a crash starts twice) and a counter for each wait for approval;
 * h<fraise>/<environment>.<status>.<when it was recorded> for a change of health.
 */

const ENDINGS: Partial<Record<Deployment['status'], NotificationEvent>> = {
  success: 'success',
  failed: 'failure',
  rolled_back: 'rollback',
};

export interface OutboxOptions {
  config: FraisierConfig;
  now: () => Date;
}

export class NotificationOutbox {
  readonly #listeners = new Set<() => void>();
  /** Whether any destination is configured: without one, nothing is read or written. */
  readonly active: boolean;

  constructor(private readonly options: OutboxOptions) {
    this.active = allDestinations(options.config).size > 0;
  }

  /** A deployment ended: success, failure or rollback notify (cancelled, superseded and job runs do not). */
  async ended(trx: Db, deploymentId: number): Promise<number> {
    if (!this.active) return 0;
    const deployment = await findDeployment(trx, deploymentId);
    const event = deployment ? ENDINGS[deployment.status] : undefined;
    if (!deployment || !event || deployment.job) return 0;
    return this.#write(trx, deployment, event, `d${deployment.id}.${event}`, null);
  }

  /** A deployment started running (its `attempt`-th claim). */
  async started(trx: Db, deploymentId: number, attempt: number): Promise<number> {
    if (!this.active) return 0;
    const deployment = await findDeployment(trx, deploymentId);
    if (!deployment || deployment.job) return 0;
    return this.#write(trx, deployment, 'started', `d${deployment.id}.started.${attempt}`, null);
  }

  /** A deployment waits for an operator to resume or promote it; `key` tells its waits apart. */
  async awaitingApproval(trx: Db, deploymentId: number, key: string, message: string): Promise<number> {
    if (!this.active) return 0;
    const deployment = await findDeployment(trx, deploymentId);
    if (!deployment || deployment.job) return 0;
    return this.#write(trx, deployment, 'approval', `d${deployment.id}.approval.${key}`, message);
  }

  /**
   * The monitor recorded a change of health (in `trx`, by its compare-and-set). Down or degraded
   * goes to the on_failure lists; back to healthy from down or degraded to the on_success lists
   * (with the PagerDuty and Git-issue destinations of on_failure and on_rollback, which resolve
   * what they opened). Other changes (from unknown to healthy) notify nobody.
   */
  async healthChanged(trx: Db, change: EnvironmentStatusChange): Promise<number> {
    if (!this.active) return 0;
    const route = change.status === 'down' || change.status === 'degraded' ? 'failure' : change.status === 'healthy' && (change.previous === 'down' || change.previous === 'degraded') ? 'success' : undefined;
    if (!route) return 0;
    const destinations = destinationsFor(this.options.config, change.fraise, change.environment, route);
    if (destinations.length === 0) return 0;
    const payload: HealthPayload = {
      eventId: healthEventId(change),
      event: 'health',
      fraise: change.fraise,
      environment: change.environment,
      status: change.status,
      previous: change.previous,
      message: change.message,
      timestamp: change.at,
      url: environmentUrl(this.options.config.settings.publicUrl, change.fraise, change.environment),
    };
    return this.#insert(trx, destinations, payload, null, this.options.now().toISOString());
  }

  /** Called with no argument once rows were committed: the senders listening look at once. */
  wake(): void {
    for (const listener of this.#listeners) listener();
  }

  onWritten(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #write(trx: Db, deployment: Deployment, event: NotificationEvent, eventId: string, message: string | null): Promise<number> {
    const destinations = destinationsFor(this.options.config, deployment.fraise, deployment.environment, event);
    if (destinations.length === 0) return 0;
    const at = this.options.now().toISOString();
    const payload = payloadOf(deployment, event, eventId, message, at, this.options.config.settings.publicUrl);
    return this.#insert(trx, destinations, payload, Number(deployment.id), at);
  }

  async #insert(trx: Db, destinations: readonly NotificationDestination[], payload: NotificationPayload, deploymentId: number | null, at: string): Promise<number> {
    const disabled = await disabledDestinations(trx, destinations.map((d) => d.fingerprint));
    const rows: NewNotification[] = destinations.map((destination) => {
      const off = disabled.get(destination.fingerprint);
      return {
        event_id: payload.eventId,
        fk_deployment: deploymentId,
        fraise: payload.fraise,
        environment: payload.environment,
        event: payload.event,
        payload: JSON.stringify(payload),
        destination_type: destination.type,
        destination_target: destination.target.slice(0, 512),
        destination_path: destination.path.slice(0, 512),
        destination_fingerprint: destination.fingerprint,
        status: off ? 'disabled' : 'pending',
        created_at: at,
        next_attempt_at: off ? null : at,
        last_error: off ? `destination disabled since ${off.at}: ${off.reason ?? 'it answered that it is gone'}` : null,
      };
    });
    await insertNotifications(trx, rows);
    return rows.length;
  }
}

/** The link to a deployment's page on the dashboard (its route is #/deployments/<id>). */
export function deploymentUrl(publicUrl: string | undefined, deploymentId: string): string | null {
  return publicUrl ? `${publicUrl}/#/deployments/${encodeURIComponent(deploymentId)}` : null;
}

/** The link to an environment on the dashboard (#/environments/<fraise>/<environment>: the overview, that environment in view). */
export function environmentUrl(publicUrl: string | undefined, fraise: string, environment: string): string | null {
  return publicUrl ? `${publicUrl}/#/environments/${encodeURIComponent(fraise)}/${encodeURIComponent(environment)}` : null;
}

/** The column holds 128 characters: names that long are replaced by their digest. */
const EVENT_ID_MAX = 128;

/** h<fraise>/<environment>.<status>.<at>: the same for the same recorded change, whoever writes it again. */
export function healthEventId(change: Pick<EnvironmentStatusChange, 'fraise' | 'environment' | 'status' | 'at'>): string {
  const id = `h${change.fraise}/${change.environment}.${change.status}.${change.at}`;
  if (id.length <= EVENT_ID_MAX) return id;
  const digest = createHash('sha256').update(`${change.fraise}\u0000${change.environment}`).digest('hex').slice(0, 32);
  return `h${digest}.${change.status}.${change.at}`;
}

export function payloadOf(deployment: Deployment, event: NotificationEvent, eventId: string, message: string | null, at: string, publicUrl: string | undefined): DeploymentPayload {
  return {
    eventId,
    event,
    fraise: deployment.fraise,
    environment: deployment.environment,
    deploymentId: deployment.id,
    kind: deployment.kind,
    status: deployment.status,
    trigger: deployment.triggeredBy,
    requestedBy: deployment.requestedBy,
    gitCommit: deployment.gitCommit,
    gitBranch: deployment.gitBranch,
    oldVersion: deployment.oldVersion,
    newVersion: deployment.newVersion,
    errorMessage: deployment.errorMessage,
    durationSeconds: deployment.durationSeconds,
    message,
    timestamp: at,
    url: deploymentUrl(publicUrl, deployment.id),
  };
}
