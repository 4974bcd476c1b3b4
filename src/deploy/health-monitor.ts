import type { Logger } from 'pino';
import type { MonitorSettings } from '../config/types.js';
import type { EventBus } from '../events/bus.js';
import type { EnvironmentStatusChange, HealthStatus } from '../model.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { Catalog } from '../services/catalog.js';
import { changeFraiseStatus, listDeployedStates, type MonitoredState } from '../store/fraise-state.repository.js';
import type { Store } from '../store/store.js';

/*
 * Continuous health: every deployed environment (one with a current version) is checked every
 * `monitor.interval` by its provider's health check (what `fraisier health` asks), and a change
 * of health is recorded in its state (Environment.status) and published on the bus
 * (`environmentStatus`: the environmentStatusChanged subscription, the dashboard, notifications).
 * An environment being deployed is skipped: its deployment sets its status.
 *
 * Several instances: each runs its monitor, so an environment may be checked by each of them
 * (a health check is a read, and costs the service one request per instance per interval). A
 * change is recorded by a compare-and-set on the row as the check read it (status and
 * updated_at): of the instances that saw the same change, one records and announces it, the
 * others find the row changed and stay quiet; a deployment that wrote the row during a check
 * wins the same way. No lease is needed for that guarantee.
 */

export interface HealthMonitorDeps {
  store: Store;
  catalog: Catalog;
  providers: ProviderRegistry;
  bus: EventBus;
  logger: Logger;
  now: () => Date;
  settings: MonitorSettings;
}

/** Environments checked at once: a slow host does not hold the others' checks back much. */
const CONCURRENCY = 4;

export class HealthMonitor {
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<void> | undefined;
  #abort = new AbortController();
  #started = false;

  constructor(private readonly deps: HealthMonitorDeps) {}

  get enabled(): boolean {
    return this.deps.settings.enabled && this.deps.settings.intervalSeconds > 0;
  }

  /** Checks every interval from now on (the first pass one interval after the start). Idempotent. */
  start(): void {
    if (this.#started || !this.enabled) return;
    this.#started = true;
    this.#abort = new AbortController();
    this.#schedule();
    this.deps.logger.info({ intervalSeconds: this.deps.settings.intervalSeconds }, 'health monitor started');
  }

  /** No more checks; a pass under way is cut short (its checks aborted) and awaited. */
  async stop(): Promise<void> {
    this.#started = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    await this.#pass;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#pass = this.checkAll()
        .then(() => undefined)
        .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'health monitor pass failed'))
        .finally(() => {
          this.#pass = undefined;
          if (this.#started) this.#schedule();
        });
    }, this.deps.settings.intervalSeconds * 1000);
    this.#timer.unref();
  }

  /** One pass over every deployed environment; the changes it recorded (and published). */
  async checkAll(): Promise<EnvironmentStatusChange[]> {
    const states = (await listDeployedStates(this.deps.store.db)).filter((state) => !state.deploying);
    const changes: EnvironmentStatusChange[] = [];
    let next = 0;
    const worker = async () => {
      while (next < states.length && !this.#abort.signal.aborted) {
        const change = await this.#check(states[next++]!);
        if (change) changes.push(change);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, states.length) }, worker));
    return changes;
  }

  async #check(state: MonitoredState): Promise<EnvironmentStatusChange | undefined> {
    const fraise = this.deps.catalog.findFraise(state.fraise);
    const env = fraise?.environments.find((e) => e.name === state.environment);
    // No longer configured: nothing to check it with.
    if (!fraise || !env) return undefined;
    const provider = this.deps.providers.get(env.target.provider);
    if (!provider) return undefined;
    const signal = this.#abort.signal;
    let seen: { status: HealthStatus; message: string };
    try {
      seen = await provider.healthCheck({ fraise, env, signal });
    } catch (error) {
      seen = { status: 'down', message: `cannot check: ${(error as Error).message}` };
    }
    // Cut short by stop(), or nothing to say (no health check, no status command): no change.
    if (signal.aborted || seen.status === 'unknown' || seen.status === state.status) return undefined;
    const change: EnvironmentStatusChange = {
      fraise: state.fraise,
      environment: state.environment,
      status: seen.status,
      previous: state.status,
      message: seen.message,
      at: this.deps.now().toISOString(),
    };
    const recorded = await changeFraiseStatus(this.deps.store.db, { ...change, from: state.status, seenAt: state.updatedAt, to: seen.status });
    if (!recorded) return undefined;
    this.deps.logger.info({ fraise: change.fraise, environment: change.environment, status: change.status, previous: change.previous, reason: change.message }, 'environment health changed');
    this.deps.bus.publish({ type: 'environmentStatus', change });
    return change;
  }
}
