import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { EnvironmentConfig, JobConfig } from '../config/types.js';
import type { EventBus } from '../events/bus.js';
import type { DeploymentStatus } from '../model.js';
import type { Metrics } from '../metrics.js';
import type { Catalog } from '../services/catalog.js';
import { finishDeployment } from '../store/deployment.repository.js';
import { listFraiseStates } from '../store/fraise-state.repository.js';
import { activeJobRuns, lastJobRunStatus } from '../store/job-run.repository.js';
import type { Store } from '../store/store.js';
import { announceCompleted, enqueue } from './queue.js';

/*
 * Jobs of scheduled and backup fraises, run by Fraisier itself on their cron schedule (jobs with
 * a systemd_timer are left to systemd). A job is live once a deployment of its environment has
 * registered it. Each run is a deployment (trigger SCHEDULED) of kind "job". A job never runs
 * over its own previous run; a job with depends_on waits for its dependencies that are due or
 * running, and is skipped (recorded CANCELLED) when a dependency's last run did not succeed.
 *
 * Time is injected: `tick(at)` decides what is due between the previous tick and `at`; the
 * timer only calls it, at the next due time.
 */

export interface SchedulerOptions {
  store: Store;
  catalog: Catalog;
  bus: EventBus;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  /** Called after runs are queued. */
  notify: () => void;
}

interface JobRef {
  env: EnvironmentConfig;
  job: JobConfig;
  cron: Cron;
}

const keyOf = (env: EnvironmentConfig, job: string) => `${env.fraise}/${env.name}/${job}`;

export class Scheduler {
  readonly #jobs: JobRef[] = [];
  /** Jobs due but waiting for their dependencies, with when they became due. */
  readonly #waiting = new Map<string, Date>();
  #last: Date | undefined;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #stopped = false;
  #busy: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: SchedulerOptions) {
    for (const fraise of options.catalog.fraises) {
      if (fraise.type !== 'scheduled' && fraise.type !== 'backup') continue;
      for (const env of fraise.environments) {
        for (const job of env.jobs) {
          if (!job.schedule || job.systemdTimer) continue;
          this.#jobs.push({ env, job, cron: new Cron(job.schedule, { paused: true, timezone: 'UTC' }) });
        }
      }
    }
  }

  /** Jobs Fraisier schedules itself. */
  get jobCount(): number {
    return this.#jobs.length;
  }

  /** Starts the timer; occurrences before `from` (default now) are not run. */
  start(from: Date = this.options.now()): void {
    this.#last = from;
    // A finished run may release jobs waiting on it (no jobs, nothing to listen for).
    if (this.#jobs.length > 0) this.#unsubscribe = this.options.bus.onCompleted((deployment) => {
      if (deployment.job && this.#waiting.size > 0) void this.#serial(() => this.#releaseWaiting());
    });
    this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#unsubscribe?.();
  }

  /** When the next job is due (undefined when none is scheduled). */
  nextDue(after: Date = this.#last ?? this.options.now()): Date | undefined {
    let next: Date | undefined;
    for (const ref of this.#jobs) {
      const at = ref.cron.nextRun(after);
      if (at && (!next || at < next)) next = at;
    }
    return next;
  }

  /**
   * Queues the runs due in (previous tick, at]. Returns the keys ("fraise/env/job") of the runs
   * queued by this tick.
   */
  tick(at: Date): Promise<string[]> {
    return this.#serial(() => this.#tick(at));
  }

  async #tick(at: Date): Promise<string[]> {
    const since = this.#last ?? at;
    this.#last = at;
    const registered = await this.#registered();
    const due = this.#jobs.filter((ref) => {
      if (!registered.has(`${ref.env.fraise}/${ref.env.name}`)) return false;
      const next = ref.cron.nextRun(since);
      return next !== null && next <= at;
    });
    for (const ref of due) this.#waiting.set(keyOf(ref.env, ref.job.name), at);
    return this.#releaseWaiting();
  }

  /** Starts waiting jobs whose dependencies allow it. */
  async #releaseWaiting(): Promise<string[]> {
    const queued: string[] = [];
    const active = await this.#activeJobs();
    for (const [key, dueAt] of [...this.#waiting]) {
      const ref = this.#jobs.find((r) => keyOf(r.env, r.job.name) === key);
      if (!ref) {
        this.#waiting.delete(key);
        continue;
      }
      if (active.has(key)) {
        // Never over its own previous run: this occurrence is dropped.
        this.#waiting.delete(key);
        this.options.logger.warn({ job: key }, 'job still running from its previous occurrence: this one is skipped');
        continue;
      }
      const blocking = ref.job.dependsOn.filter((d) => active.has(keyOf(ref.env, d)) || this.#waiting.has(keyOf(ref.env, d)));
      if (blocking.length) continue;
      this.#waiting.delete(key);
      const failed: string[] = [];
      for (const dependency of ref.job.dependsOn) {
        const last = await this.#lastRun(ref.env, dependency);
        if (last && last !== 'success') failed.push(`${dependency} (${last.toUpperCase()})`);
      }
      const id = await this.#enqueue(ref, dueAt);
      if (failed.length) {
        await this.#skip(id, `skipped: the last run of ${failed.join(', ')} did not succeed`);
        continue;
      }
      active.add(key);
      queued.push(key);
    }
    if (queued.length) this.options.notify();
    return queued;
  }

  async #enqueue(ref: JobRef, dueAt: Date): Promise<number> {
    const { store, metrics, bus } = this.options;
    const { id, deployment, superseded } = await store.db.transaction().execute((trx) =>
      enqueue(trx, {
        fraise: ref.env.fraise,
        environment: ref.env.name,
        kind: 'job',
        job: ref.job.name,
        trigger: 'scheduled',
        requestedBy: 'scheduler',
        requestedAt: this.options.now().toISOString(),
        context: { schedule: ref.job.schedule ?? '', due_at: dueAt.toISOString(), job: ref.job.name },
        env: ref.env,
      }),
    );
    metrics.deploymentsQueued.inc({ trigger: 'scheduled' });
    bus.publish({ type: 'queued', deployment, superseded });
    return id;
  }

  async #skip(id: number, message: string): Promise<void> {
    const { store, bus } = this.options;
    await store.db.transaction().execute((trx) => finishDeployment(trx, id, { status: 'cancelled', completedAt: this.options.now().toISOString(), errorMessage: message }));
    await announceCompleted(store.db, bus, [id]);
  }

  /** Environments registered by a deployment (something runs there). */
  async #registered(): Promise<Set<string>> {
    const states = await listFraiseStates(this.options.store.db);
    return new Set(states.filter((s) => s.currentVersion !== null).map((s) => `${s.fraise}/${s.environment}`));
  }

  /** Jobs with a run PENDING or IN_PROGRESS. */
  async #activeJobs(): Promise<Set<string>> {
    const rows = await activeJobRuns(this.options.store.db);
    return new Set(rows.map((r) => `${r.fraise}/${r.environment}/${r.job}`));
  }

  async #lastRun(env: EnvironmentConfig, job: string): Promise<DeploymentStatus | undefined> {
    return lastJobRunStatus(this.options.store.db, env.fraise, env.name, job);
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#busy.then(task);
    this.#busy = run.catch((error: unknown) => this.options.logger.error({ err: error }, 'scheduler tick failed'));
    return run;
  }

  #arm(): void {
    if (this.#stopped) return;
    const next = this.nextDue();
    if (!next) return;
    // Timers cannot wait longer than ~24 days; re-arm in steps.
    const delay = Math.min(Math.max(0, next.getTime() - this.options.now().getTime()), 2 ** 31 - 1);
    this.#timer = setTimeout(() => {
      void this.tick(this.options.now()).finally(() => this.#arm());
    }, delay);
    this.#timer.unref();
  }
}
