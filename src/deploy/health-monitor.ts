import type { Logger } from 'pino';
import { maskUrlCredentials } from '../config/secrets.js';
import type { EnvironmentConfig, MonitorSettings } from '../config/types.js';
import type { EventBus } from '../events/bus.js';
import type { EnvironmentStatusChange, HealthStatus } from '../model.js';
import type { NotificationOutbox } from '../notifications/outbox.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { Catalog } from '../services/catalog.js';
import { changeFraiseStatus, listDeployedStates, type MonitoredState } from '../store/fraise-state.repository.js';
import type { Store } from '../store/store.js';

/*
 * Continuous health: every deployed environment (one with a current version) is checked every
 * `monitor.interval` (an environment's own `monitor:` may set another interval, or turn it off)
 * by its provider's health check (what `fraisier health` asks), and a change of health is
 * recorded in its state (Environment.status), written to the notification outbox, and published
 * on the bus (`environmentStatus`: the environmentStatusChanged subscription, the dashboard).
 * An environment being deployed is skipped: its deployment sets its status.
 *
 * Several instances: each runs its monitor, so an environment may be checked by each of them
 * (a health check is a read, and costs the service one request per instance per interval). A
 * change is recorded by a compare-and-set on the row as the check read it (status and
 * updated_at): of the instances that saw the same change, one records and announces it, the
 * others find the row changed and stay quiet; a deployment that wrote the row during a check
 * wins the same way. No lease is needed for that guarantee.
 *
 * Notifications are never lost nor doubled: the instance whose compare-and-set succeeded writes
 * them in the same transaction (both are committed, or neither, and the next check sees the
 * change again), under an event id made of the change itself, and wakes its sender after the
 * commit. Which lists a change goes to is the outbox's (NotificationOutbox.healthChanged).
 */

export interface HealthMonitorDeps {
  store: Store;
  catalog: Catalog;
  providers: ProviderRegistry;
  bus: EventBus;
  logger: Logger;
  now: () => Date;
  /** The top level's `monitor:` (or its defaults). */
  settings: MonitorSettings;
  /** Where a change's notifications are written (absent: none are). */
  outbox?: NotificationOutbox;
}

/** Environments checked at once: a slow host does not hold the others' checks back much. */
const CONCURRENCY = 4;

/** setTimeout's longest delay (about 24.8 days); a longer interval wakes up on the way, finding nothing due. */
const MAX_DELAY_MS = 2 ** 31 - 1;

const keyOf = (fraise: string, environment: string) => `${fraise}\u0000${environment}`;

export class HealthMonitor {
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<void> | undefined;
  #abort = new AbortController();
  #started = false;
  /** When each watched environment is next checked (performance.now() milliseconds), and its interval. */
  readonly #due = new Map<string, { at: number; intervalMs: number }>();

  constructor(private readonly deps: HealthMonitorDeps) {}

  /** An environment's settings: its own `monitor:` over the top level's. */
  settingsOf(env: EnvironmentConfig): MonitorSettings {
    const top = this.deps.settings;
    return { enabled: env.monitor?.enabled ?? top.enabled, intervalSeconds: env.monitor?.intervalSeconds ?? top.intervalSeconds };
  }

  /** The configured environments it checks (once deployed), each with its interval. */
  #watched(): { key: string; intervalMs: number }[] {
    return this.deps.catalog
      .pairs()
      .map((env) => ({ key: keyOf(env.fraise, env.name), settings: this.settingsOf(env) }))
      .filter(({ settings }) => settings.enabled && settings.intervalSeconds > 0)
      .map(({ key, settings }) => ({ key, intervalMs: settings.intervalSeconds * 1000 }));
  }

  get enabled(): boolean {
    return this.#watched().length > 0;
  }

  /** Checks each environment at its own interval from now on (its first check one interval after the start). Idempotent. */
  start(): void {
    if (this.#started) return;
    const watched = this.#watched();
    if (watched.length === 0) return;
    this.#started = true;
    this.#abort = new AbortController();
    const at = performance.now();
    this.#due.clear();
    for (const { key, intervalMs } of watched) this.#due.set(key, { at: at + intervalMs, intervalMs });
    this.#schedule();
    const intervals = [...new Set(watched.map((w) => w.intervalMs / 1000))].sort((a, b) => a - b);
    this.deps.logger.info({ intervalSeconds: intervals[0], intervals, environments: watched.length }, 'health monitor started');
  }

  /** No more checks; a pass under way is cut short (its checks aborted) and awaited. */
  async stop(): Promise<void> {
    this.#started = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    await this.#pass;
  }

  /**
   * Sleeps until the first environment is due, then checks those due (one pass, side by side)
   * and sleeps again: each environment is checked one of its intervals after its last pass ended.
   */
  #schedule(): void {
    const next = Math.min(...[...this.#due.values()].map((d) => d.at));
    this.#timer = setTimeout(() => {
      // A timer may fire a little before its time: what is due within a millisecond is due now.
      const now = performance.now() + 1;
      const due = new Set([...this.#due].filter(([, d]) => d.at <= now).map(([key]) => key));
      if (due.size === 0) return this.#started ? this.#schedule() : undefined;
      this.#pass = this.#checkWhere((state) => due.has(keyOf(state.fraise, state.environment)))
        .then(() => undefined)
        .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'health monitor pass failed'))
        .finally(() => {
          this.#pass = undefined;
          // Checked, being deployed, or not deployed yet: due again one interval after this pass.
          const ended = performance.now();
          for (const key of due) {
            const d = this.#due.get(key)!;
            d.at = ended + d.intervalMs;
          }
          if (this.#started) this.#schedule();
        });
    }, Math.min(MAX_DELAY_MS, Math.max(0, next - performance.now())));
    this.#timer.unref();
  }

  /** One pass over every deployed environment the monitor watches; the changes it recorded (and published). */
  checkAll(): Promise<EnvironmentStatusChange[]> {
    return this.#checkWhere(() => true);
  }

  async #checkWhere(due: (state: MonitoredState) => boolean): Promise<EnvironmentStatusChange[]> {
    const states = (await listDeployedStates(this.deps.store.db)).filter((state) => !state.deploying && due(state));
    const changes: EnvironmentStatusChange[] = [];
    let next = 0;
    const worker = async () => {
      while (next < states.length && !this.#abort.signal.aborted) {
        const state = states[next++]!;
        try {
          const change = await this.#check(state);
          if (change) changes.push(change);
        } catch (error) {
          // Nothing of the change was committed: the next check sees it again. The others go on.
          this.deps.logger.warn({ err: error, fraise: state.fraise, environment: state.environment }, 'could not record a change of health; the next check tries again');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, states.length) }, worker));
    return changes;
  }

  async #check(state: MonitoredState): Promise<EnvironmentStatusChange | undefined> {
    const fraise = this.deps.catalog.findFraise(state.fraise);
    const env = fraise?.environments.find((e) => e.name === state.environment);
    // No longer configured: nothing to check it with. Turned off: not checked.
    if (!fraise || !env || !this.settingsOf(env).enabled) return undefined;
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
      // A health check URL may carry credentials; what is recorded, published and sent does not.
      message: maskUrlCredentials(seen.message),
      at: this.deps.now().toISOString(),
    };
    const { outbox } = this.deps;
    const written = await this.deps.store.db.transaction().execute(async (trx) => {
      const recorded = await changeFraiseStatus(trx, { ...change, from: state.status, seenAt: state.updatedAt, to: seen.status });
      if (!recorded) return undefined;
      return (await outbox?.healthChanged(trx, change)) ?? 0;
    });
    if (written === undefined) return undefined;
    if (written > 0) outbox?.wake();
    this.deps.logger.info(
      { fraise: change.fraise, environment: change.environment, status: change.status, previous: change.previous, reason: change.message, notifications: written },
      'environment health changed',
    );
    this.deps.bus.publish({ type: 'environmentStatus', change });
    return change;
  }
}
