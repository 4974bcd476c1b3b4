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
import { enqueueJobRun, runKeyOf } from './job-queue.js';
import { announceCompleted } from './queue.js';

/*
 * Jobs of scheduled and backup fraises, run by Fraisier itself on their cron schedule (jobs with
 * a systemd_timer are left to systemd). A job is live once a deployment of its environment has
 * registered it. Each run is a deployment (trigger SCHEDULED) of kind "job". A job never runs
 * over its own previous run; a job with depends_on waits for its dependencies that are due or
 * running, and is skipped (recorded CANCELLED) when a dependency's last run did not succeed.
 *
 * Time is injected: `tick(at)` decides what is due between the previous tick and `at`; the
 * timer only calls it, at the next due time.
 *
 * Several instances may share one store, each with its scheduler firing the same ticks: a run
 * carries the key of its cron occurrence (job-queue.ts), unique in the store, so each occurrence
 * is queued once whichever instance gets there first.
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

/** A due job waiting for its dependencies: when it became due, and the occurrence it runs for. */
interface Due {
  at: Date;
  occurrence: Date;
}

/**
 * The last occurrence in (since, at]: what every instance ticking at or after it agrees on,
 * whenever its previous tick was.
 */
function lastOccurrence(cron: Cron, since: Date, at: Date): Date | undefined {
  let last: Date | undefined;
  for (let next = cron.nextRun(since); next && next <= at; next = cron.nextRun(next)) last = next;
  return last;
}

export class Scheduler {
  readonly #jobs: JobRef[] = [];
  /** Jobs due but waiting for their dependencies, with when they became due. */
  readonly #waiting = new Map<string, Due>();
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
    for (const ref of this.#jobs) {
      if (!registered.has(`${ref.env.fraise}/${ref.env.name}`)) continue;
      const occurrence = lastOccurrence(ref.cron, since, at);
      if (occurrence) this.#waiting.set(keyOf(ref.env, ref.job.name), { at, occurrence });
    }
    return this.#releaseWaiting();
  }

  /** Starts waiting jobs whose dependencies allow it. */
  async #releaseWaiting(): Promise<string[]> {
    const queued: string[] = [];
    const active = await this.#activeJobs();
    for (const [key, due] of [...this.#waiting]) {
      const ref = this.#jobs.find((r) => keyOf(r.env, r.job.name) === key);
      if (!ref) {
        this.#waiting.delete(key);
        continue;
      }
      const runKey = runKeyOf(ref.env, ref.job.name, due.occurrence);
      if (active.has(key)) {
        this.#waiting.delete(key);
        if (active.get(key) === runKey) this.options.logger.debug({ job: key, runKey }, 'occurrence already queued by another instance');
        // Never over its own previous run: this occurrence is dropped.
        else this.options.logger.warn({ job: key }, 'job still running from its previous occurrence: this one is skipped');
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
      const id = await this.#enqueue(ref, due, runKey);
      if (id === undefined) {
        // Its run is another instance's, waiting or running: dependents wait for it as for ours.
        active.set(key, runKey);
        this.options.logger.debug({ job: key, runKey }, 'occurrence already queued by another instance');
        continue;
      }
      if (failed.length) {
        await this.#skip(id, `skipped: the last run of ${failed.join(', ')} did not succeed`);
        continue;
      }
      active.set(key, runKey);
      queued.push(key);
    }
    if (queued.length) this.options.notify();
    return queued;
  }

  /** Queues the occurrence's run; undefined when another instance already did. */
  async #enqueue(ref: JobRef, due: Due, runKey: string): Promise<number | undefined> {
    const enqueued = await enqueueJobRun(this.options, {
      env: ref.env,
      job: ref.job,
      trigger: 'scheduled',
      requestedBy: 'scheduler',
      requestedAt: this.options.now().toISOString(),
      context: { schedule: ref.job.schedule ?? '', due_at: due.at.toISOString(), job: ref.job.name },
      runKey,
    });
    return enqueued?.id;
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

  /** Jobs with a run PENDING or IN_PROGRESS, with the run key of that run. */
  async #activeJobs(): Promise<Map<string, string | null>> {
    const rows = await activeJobRuns(this.options.store.db);
    return new Map(rows.map((r) => [`${r.fraise}/${r.environment}/${r.job}`, r.runKey]));
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
