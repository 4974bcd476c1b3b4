import type { Logger } from 'pino';
import type { EventBus } from '../events/bus.js';
import type { GateKeeper, GatePass } from '../gates/gate-keeper.js';
import type { Deployment } from '../model.js';
import { terminateLeftover } from '../exec/process-group.js';
import { appendProgress } from '../store/progress.repository.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { Metrics } from '../metrics.js';
import type { NotificationOutbox } from '../notifications/outbox.js';
import type { Catalog } from '../services/catalog.js';
import {
  type Candidate,
  claimDeployment,
  expiredLeases,
  findClaimedRun,
  lastSequence,
  markTouched,
  pendingCandidates,
  recordProcess,
  releaseLease,
  renewLease,
  requeueExpired,
} from '../store/claim.repository.js';
import { findDeployment, lockKeyOf } from '../store/deployment.repository.js';
import { findFraiseState } from '../store/fraise-state.repository.js';
import { type Db, guardStore, type Store } from '../store/store.js';
import type { DispatchControl } from './deployment-service.js';
import { completeDeployment } from './lifecycle.js';
import { RunControl } from './run-control.js';
import { giveUpAfterMs, killGraceMs, LeaseKeeper, LeaseLostError } from './lease.js';
import type { ClaimedDeployment, Pipeline, PipelineResult, RunGuard } from './pipeline.js';
import { announceCompleted, carriesApprovals, supersedeOlder } from './queue.js';

/*
 * The in-process dispatcher. It claims queued deployments in the database (so several
 * Fraisier processes on one PostgreSQL split the work and never run one twice), runs them
 * through the pipeline under a lease it renews, and ends them. Work is picked up as soon as it
 * is queued (notify, or LISTEN/NOTIFY between processes), with a slow poll as a safety net.
 * Expired leases (a process that died) are swept: the deployment is queued again when nothing
 * on the target was changed yet, otherwise it ends FAILED ("interrupted"). A holder that cannot
 * renew its lease stops on its own before the lease expires (see lease.ts), and every write it
 * makes is fenced by the generation its claim took, so two holders never act on one target.
 */

/** Tells other processes that work was queued, and hears them (PostgreSQL LISTEN/NOTIFY). */
export interface QueueSignal {
  notify(): void;
  onNotify(listener: () => void): void;
  /** Hears that something was asked of a running deployment (pause, resume, promote, cancel). */
  onControl?(listener: (deploymentId: number) => void): void;
  close(): Promise<void>;
}

export interface DispatcherOptions {
  store: Store;
  catalog: Catalog;
  providers: ProviderRegistry;
  pipeline: Pipeline;
  bus: EventBus;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  instanceId: string;
  concurrency: { global: number; perHost: number };
  lease: { ttlSeconds: number; heartbeatSeconds: number };
  pollIntervalSeconds: number;
  signal?: QueueSignal;
  /** Attempts of a deployment interrupted before it changed anything. */
  maxAttempts?: number;
  /**
   * Which queued deployments this dispatcher may claim (default: all). The CLI runs only the
   * deployment it queued and leaves the rest of the queue to the servers.
   */
  accept?: (candidate: Candidate) => boolean;
  /** Where the notifications of starts and ends are written, in the same transactions. */
  notifications?: NotificationOutbox;
  /**
   * The gates of protected environments: a candidate of one is evaluated before it is claimed,
   * and may wait (WAITING) or be refused instead.
   */
  gates?: GateKeeper;
}

interface Running {
  id: number;
  lockKey: string;
  controller: AbortController;
  control: RunControl;
  done: Promise<void>;
}

const CANDIDATE_BATCH = 100;

/** setTimeout's longest delay (about 24.8 days): a later wake-up is re-armed by the tick it causes. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Dispatcher implements DispatchControl {
  readonly #running = new Map<number, Running>();
  #ticking = false;
  #tickScheduled = false;
  #again = false;
  #stopping = false;
  #started = false;
  #poll: NodeJS.Timeout | undefined;
  /** One timer, to the earliest moment a waiting deployment's gate may open by time alone. */
  #wake: NodeJS.Timeout | undefined;

  constructor(private readonly options: DispatcherOptions) {}

  /** Recovers what crashed, then starts taking work. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.options.signal?.onNotify(() => this.#tickSoon());
    this.options.signal?.onControl?.((id) => void this.#running.get(id)?.control.refresh());
    await this.sweep({ startup: true });
    this.#tickSoon();
    this.#poll = setInterval(() => {
      void this.sweep().then(() => this.tick());
    }, this.options.pollIntervalSeconds * 1000);
    this.#poll.unref();
  }

  notify(): void {
    this.#tickSoon();
    this.options.signal?.notify();
  }

  /** Deployments this process is running now. */
  get runningIds(): number[] {
    return [...this.#running.keys()];
  }

  /**
   * Something was asked of deployment `id` (pause, resume, promote): when it runs here, it reads
   * the request now. Resolves with whether it runs here.
   */
  async control(id: number): Promise<boolean> {
    const running = this.#running.get(id);
    if (!running) return false;
    await running.control.refresh();
    return true;
  }

  async cancel(id: number): Promise<Deployment | undefined> {
    const running = this.#running.get(id);
    if (!running) return undefined;
    running.controller.abort('cancel');
    await Promise.race([running.done, new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
    return findDeployment(this.options.store.db, id);
  }

  /**
   * Stops taking work; lets running deployments finish for up to `drainMs`, then stops them
   * and gives their leases up (the next sweep queues them again or fails them as interrupted).
   */
  async stop(drainMs: number): Promise<void> {
    this.#stopping = true;
    if (this.#poll) clearInterval(this.#poll);
    this.#armWake(undefined);
    await this.options.signal?.close();
    const all = () => Promise.all([...this.#running.values()].map((r) => r.done));
    if (this.#running.size === 0) return;
    this.options.logger.info({ running: this.runningIds, drainMs }, 'waiting for running deployments to finish');
    const drained = await Promise.race([all().then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), drainMs).unref())]);
    if (drained) return;
    this.options.logger.warn({ running: this.runningIds }, 'drain timeout: stopping deployments and releasing their leases');
    for (const running of this.#running.values()) running.controller.abort('shutdown');
    await Promise.race([all(), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
  }

  /** One tick per turn of the event loop, however many deliveries asked for it. */
  #tickSoon(): void {
    if (this.#stopping || !this.#started || this.#tickScheduled) return;
    this.#tickScheduled = true;
    setImmediate(() => {
      this.#tickScheduled = false;
      void this.tick();
    });
  }

  /** Claims what can start now. Never runs twice at once: a call during a tick schedules one more. */
  async tick(): Promise<void> {
    if (this.#stopping || !this.#started) return;
    if (this.#ticking) {
      this.#again = true;
      return;
    }
    this.#ticking = true;
    try {
      do {
        this.#again = false;
        await this.#claimAvailable();
      } while (this.#again && !this.#stopping);
    } catch (error) {
      this.options.logger.error({ err: error }, 'dispatcher tick failed; retrying at the next poll');
    } finally {
      this.#ticking = false;
    }
  }

  async #claimAvailable(): Promise<void> {
    const { store, concurrency } = this.options;
    // With every slot taken, the gates are still judged: an approval that times out, a rejection
    // or a window refusing ends its deployment at once, and the wake-up timer stays armed.
    let capacity = concurrency.global - this.#running.size;
    const candidates = await pendingCandidates(store.db, CANDIDATE_BATCH);
    // A newer request for the same (fraise, environment, job) replaces older ones still waiting
    // (they may have been queued at the same moment by two processes).
    const newest = new Map<string, Candidate>();
    const crowded = new Set<string>();
    for (const candidate of candidates) {
      const key = lockKeyOf(candidate.fraise, candidate.environment, candidate.job);
      if (newest.has(key)) crowded.add(key);
      newest.set(key, candidate);
    }
    for (const key of crowded) await this.#supersede(newest.get(key)!);
    const busy = new Set([...this.#running.values()].map((r) => r.lockKey));
    let wakeAt: number | undefined;
    for (const [lockKey, candidate] of [...newest].sort(([, a], [, b]) => a.id - b.id)) {
      if (this.#stopping) break;
      if (this.options.accept && !this.options.accept(candidate)) continue;
      // Gates first, even behind a running deployment of the pair: a waiting one shows why it waits.
      const gate = await this.#gate(candidate);
      if (gate?.kind === 'wait' && gate.wakeAt !== null) wakeAt = Math.min(wakeAt ?? Infinity, Date.parse(gate.wakeAt));
      if (gate && gate.kind !== 'open' && gate.kind !== 'pass') continue;
      if (capacity <= 0 || busy.has(lockKey)) continue;
      if (await this.#claim(candidate, lockKey, gate?.kind === 'pass' ? gate : undefined)) capacity--;
    }
    this.#armWake(wakeAt);
  }

  /** What the candidate's gates say (undefined: no gate keeper). A failure holds this candidate only. */
  async #gate(candidate: Candidate) {
    if (!this.options.gates) return undefined;
    try {
      return await this.options.gates.evaluate(candidate);
    } catch (error) {
      this.options.logger.error({ err: error, deployment: candidate.id }, 'could not evaluate the gates of a deployment; trying again at the next tick');
      return { kind: 'gone' as const };
    }
  }

  /**
   * Sleeps until `at` (epoch ms; undefined: no waiting deployment has a boundary), then ticks:
   * a window opening, a soak or a timer ending starts the deployment then, not at the next poll.
   * Armed again at every tick, from the clock as it reads now: a clock set forward or back
   * (NTP, an operator) moves the wake-up with it.
   */
  #armWake(at: number | undefined): void {
    if (this.#wake) clearTimeout(this.#wake);
    this.#wake = undefined;
    if (at === undefined || this.#stopping) return;
    const delay = Math.min(Math.max(0, at - this.options.now().getTime()), MAX_TIMER_MS);
    this.#wake = setTimeout(() => {
      this.#wake = undefined;
      this.#tickSoon();
    }, delay);
    this.#wake.unref();
  }

  async #supersede(newer: Candidate): Promise<void> {
    const at = this.options.now().toISOString();
    const env = this.options.catalog.findEnvironment(newer.fraise, newer.environment);
    const ids = await this.options.store.db.transaction().execute((trx) =>
      supersedeOlder(trx, { fraise: newer.fraise, environment: newer.environment, job: newer.job, newerThan: newer.id, at, carryApprovals: carriesApprovals(env) }),
    );
    await announceCompleted(this.options.store.db, this.options.bus, ids);
  }

  async #claim(candidate: Candidate, lockKey: string, gates?: GatePass): Promise<boolean> {
    const { store, catalog, providers, concurrency, lease, now, instanceId } = this.options;
    const env = catalog.findEnvironment(candidate.fraise, candidate.environment);
    const provider = env ? providers.get(env.target.provider) : undefined;
    const host = env && provider ? provider.hostOf(env) : 'unknown';
    // A job run changes no version: only a deployment records what it replaces.
    const oldVersion = candidate.job ? null : ((await findFraiseState(store.db, candidate.fraise, candidate.environment))?.currentVersion ?? null);
    const startedAt = now();
    // The lease the claim writes runs from here: the give-up clock starts here too.
    const claimedAt = performance.now();
    // Scheduled job runs do not hold a host slot: they are the application's work, not deployments.
    const slots = candidate.job ? [null] : Array.from({ length: concurrency.perHost }, (_, n) => `${host}#${n}`);
    const outbox = this.options.notifications;
    // The gates passed and the start's notifications are committed with the claim, or not at all.
    const within =
      gates || outbox?.active
        ? async (trx: Db, attempt: number) => {
            await gates?.record(trx);
            if (outbox?.active) await outbox.started(trx, candidate.id, attempt);
          }
        : undefined;
    for (const hostSlot of slots) {
      const result = await claimDeployment(
        store.db,
        candidate.id,
        {
          startedAt: startedAt.toISOString(),
          leaseOwner: instanceId,
          leaseExpiresAt: new Date(startedAt.getTime() + lease.ttlSeconds * 1000).toISOString(),
          oldVersion,
          lockKey,
          hostSlot,
          ...(gates ? { gateVersion: gates.gateVersion } : {}),
        },
        within,
      );
      if (result === 'claimed') {
        gates?.announce();
        this.options.notifications?.wake();
        this.#launch(candidate.id, lockKey, claimedAt);
        return true;
      }
      if (result !== 'host-busy') return false;
    }
    return false;
  }

  #launch(id: number, lockKey: string, claimedAt: number): void {
    const controller = new AbortController();
    const { store, logger, now } = this.options;
    const control = new RunControl({
      id,
      store,
      logger,
      now,
      signal: controller.signal,
      onCancelRequested: () => controller.abort('cancel'),
      ...(this.options.notifications ? { notifications: this.options.notifications } : {}),
    });
    const running: Running = { id, lockKey, controller, control, done: Promise.resolve() };
    running.done = this.#run(running, claimedAt).finally(() => {
      this.#running.delete(id);
      this.options.metrics.running.set(this.#running.size);
      this.#tickSoon();
    });
    this.#running.set(id, running);
    this.options.metrics.running.set(this.#running.size);
  }

  async #run(running: Running, claimedAt: number): Promise<void> {
    const { store, lease, now, instanceId, logger, metrics, bus, pipeline } = this.options;
    const { id, controller, control } = running;
    let fence: number | undefined;
    const lost = (why: string) => {
      if (controller.signal.aborted) return;
      logger.warn({ deployment: id, generation: fence, why }, 'lease lost: stopping the deployment and its command');
      controller.abort('lease-lost');
    };
    const keeper = new LeaseKeeper({
      lease,
      renew: async () => {
        const at = now();
        const epoch = control.epoch;
        const renewed = await renewLease(store.db, id, instanceId, at.toISOString(), new Date(at.getTime() + lease.ttlSeconds * 1000).toISOString(), fence);
        // A paused deployment's lease is renewed like any other: pausing is not dying.
        if (renewed.held) control.apply(renewed.requests, epoch);
        return { held: renewed.held, cancelRequested: renewed.requests.cancelRequested };
      },
      onLost: (why) => lost(why === 'refused' ? 'the lease is no longer ours' : `not renewed for ${Math.round(giveUpAfterMs(lease)) / 1000}s`),
      onCancelRequested: () => controller.abort('cancel'),
      onRenewError: (error) => logger.warn({ err: error, deployment: id }, 'could not renew the lease; retrying'),
    });
    keeper.start(claimedAt);
    // Process-group records are written in order, each only under this run's generation.
    let processes: Promise<void> = Promise.resolve();
    try {
      const claimed = await this.#load(id);
      fence = claimed.fence ?? undefined;
      const started = await findDeployment(store.db, id);
      if (started) {
        metrics.queueWait.observe(Math.max(0, (Date.parse(started.startedAt) - Date.parse(started.requestedAt)) / 1000));
        bus.publish({ type: 'started', deployment: started });
      }
      const touchTarget = async () => {
        if (controller.signal.reason === 'lease-lost') throw new LeaseLostError(`deployment ${id} lost its lease: not changing the target`);
        const held = await markTouched(store.db, id, now().toISOString(), fence);
        if (!held) {
          lost(`generation ${fence} no longer holds the target`);
          throw new LeaseLostError(`deployment ${id} no longer holds its target (generation ${fence}): not changing it`);
        }
      };
      const guard: RunGuard = { instanceId, killGraceMs: killGraceMs(lease), control: (events) => control.bind(events) };
      if (fence !== undefined) {
        const generation = fence;
        guard.fence = { generation, lost: () => lost(`generation ${generation} refused`) };
        control.fence = guard.fence;
        guard.onProcess = (process) => {
          processes = processes
            .then(() => recordProcess(store.db, id, generation, process))
            .catch((error: unknown) => logger.warn({ err: error, deployment: id }, 'could not record the command\'s process group'));
        };
      }
      const result = await pipeline.run(claimed, controller.signal, touchTarget, guard);
      await processes;
      if (controller.signal.reason === 'shutdown' || controller.signal.reason === 'lease-lost') {
        // Not ended here: the lease goes, and the sweep decides (queue again, or FAILED interrupted).
        await releaseLease(store.db, id, instanceId, now().toISOString(), fence).catch(() => {});
        return;
      }
      await this.#complete(claimed, result);
    } catch (error) {
      if (controller.signal.reason === 'lease-lost') return;
      logger.error({ err: error, deployment: id }, 'deployment could not be run');
      await this.#complete(await this.#load(id).catch(() => undefined), {
        status: 'failed',
        errorMessage: `internal error: ${(error as Error).message}`,
        newVersion: null,
      }).catch((inner: unknown) => logger.error({ err: inner, deployment: id }, 'could not record the failure'));
    } finally {
      keeper.stop();
    }
  }

  async #load(id: number): Promise<ClaimedDeployment> {
    const db = this.options.store.db;
    const run = await findClaimedRun(db, id);
    return { ...run, lastSequence: await lastSequence(db, id) };
  }

  async #complete(claimed: ClaimedDeployment | undefined, result: PipelineResult): Promise<void> {
    if (!claimed) return;
    const { store, now, metrics } = this.options;
    const ended = await guardStore(() =>
      store.db.transaction().execute(async (trx) => {
        const done = await completeDeployment(trx, claimed.id, {
          fraise: claimed.fraise,
          environment: claimed.environment,
          requestedBy: claimed.requestedBy,
          status: result.status,
          completedAt: now().toISOString(),
          newVersion: result.newVersion,
          errorMessage: result.errorMessage,
          ...(claimed.fence !== null ? { fence: claimed.fence } : {}),
          ...(result.details ? { details: result.details } : {}),
          ...(result.commitTime ? { commitTime: result.commitTime } : {}),
          ...(claimed.job ? {} : {
            ...(result.runningVersion !== undefined ? { runningVersion: result.runningVersion } : {}),
            ...(result.health !== undefined ? { health: result.health } : {}),
          }),
        });
        // Its notifications are committed with its end, or not at all.
        if (done) await this.options.notifications?.ended(trx, claimed.id);
        return done;
      }),
    );
    if (ended) this.options.notifications?.wake();
    if (!ended) {
      this.options.logger.warn({ deployment: claimed.id }, 'deployment had already been ended elsewhere (lease lost)');
      return;
    }
    const deployment = await findDeployment(store.db, claimed.id);
    metrics.deploymentsFinished.inc({ status: result.status });
    if (deployment?.durationSeconds !== null && deployment?.durationSeconds !== undefined) {
      metrics.deploymentDuration.observe({ status: result.status }, deployment.durationSeconds);
    }
    if (deployment) this.options.bus.publish({ type: 'completed', deployment });
  }

  /**
   * Ends or re-queues deployments whose lease expired (their process died). The status change
   * and its progress event are one transaction: whoever reads the one sees the other.
   */
  async sweep(options: { startup?: boolean } = {}): Promise<void> {
    if (this.#stopping) return;
    const { store, now, logger, bus, lease, instanceId, maxAttempts = 3 } = this.options;
    // At start-up, leases in this instance's own name are its previous life's: nothing of it runs.
    const previousSelf = options.startup ? instanceId : undefined;
    try {
      const at = now().toISOString();
      for (const expired of await expiredLeases(store.db, at, previousSelf)) {
        if (this.#running.has(expired.id)) continue;
        // What its command left running on this machine is ended before anything else may run
        // on the target (the lock key is only freed below).
        if (expired.processGroup !== null && expired.processIdentity !== null) {
          const ended = await terminateLeftover(expired.processGroup, expired.processIdentity, killGraceMs(lease));
          if (ended) logger.warn({ deployment: expired.id, processGroup: expired.processGroup }, 'terminated the process group an interrupted deployment left running');
        }
        const who = expired.leaseOwner ? `the Fraisier process ${expired.leaseOwner}` : 'its Fraisier process';
        const retry = !expired.touched && expired.attempt < maxAttempts;
        const message = retry
          ? `${who} stopped before changing the target: queued again (attempt ${expired.attempt + 1} of ${maxAttempts})`
          : `interrupted: ${who} stopped while running it (lease expired at ${expired.leaseExpiresAt ?? 'unknown'})`;
        const event = await store.db.transaction().execute(async (trx) => {
          const acted = retry
            ? await requeueExpired(trx, expired.id, at, previousSelf)
            : await completeDeployment(trx, expired.id, {
                fraise: expired.fraise,
                environment: expired.environment,
                requestedBy: null,
                status: 'failed',
                completedAt: at,
                errorMessage: message,
                leaseStale: { now: at, ...(previousSelf !== undefined ? { previousSelf } : {}) },
                ...(expired.touched ? { health: 'unknown' as const } : {}),
              });
          if (!acted) return undefined; // another process got there first
          if (!retry) await this.options.notifications?.ended(trx, expired.id);
          return appendProgress(trx, expired.id, { step: retry ? 'interrupted' : 'failed', message, at });
        });
        if (!event) continue;
        if (!retry) this.options.notifications?.wake();
        logger.warn({ deployment: expired.id, owner: expired.leaseOwner }, retry ? 'interrupted before changing the target: queued again' : message);
        bus.publish({ type: 'progress', event });
        if (retry) {
          this.#tickSoon();
          continue;
        }
        this.options.metrics.deploymentsFinished.inc({ status: 'failed' });
        await announceCompleted(store.db, this.options.bus, [expired.id]);
      }
    } catch (error) {
      logger.error({ err: error }, 'lease sweep failed; retrying at the next poll');
    }
  }
}
