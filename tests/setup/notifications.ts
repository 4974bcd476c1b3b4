import { createLogger } from '../../src/logger.js';
import { completeDeployment } from '../../src/deploy/lifecycle.js';
import { parseConfig } from '../../src/config/load.js';
import type { FraisierConfig } from '../../src/config/types.js';
import type { EnvironmentStatusChange, HealthStatus, NotificationRecord } from '../../src/model.js';
import { NotificationOutbox } from '../../src/notifications/outbox.js';
import { NotificationSender } from '../../src/notifications/sender.js';
import { claimDeployment } from '../../src/store/claim.repository.js';
import { insertDeployment, lockKeyOf } from '../../src/store/deployment.repository.js';
import { listNotifications } from '../../src/store/notification.repository.js';
import type { Store } from '../../src/store/store.js';
import { DIALECTS, openTestStore, type TestStore } from './dialects.js';

/*
 * The outbox and a sender on a store of their own, with a clock the test moves: a retry is due
 * when the test says the time has come, not after a real wait. Deployments are recorded and
 * ended the way the dispatcher does it (the end and its notifications in one transaction).
 */

export const T0 = Date.parse('2026-11-21T10:00:00.000Z');

export interface OutboxRig {
  store: Store;
  config: FraisierConfig;
  outbox: NotificationOutbox;
  sender: NotificationSender;
  /** Every log line the sender wrote (JSON). */
  logs: string[];
  now(): Date;
  /** Moves the clock on. */
  advance(ms: number): void;
  /** Runs the sender once (what is due at the clock's time). */
  runDue(): Promise<number>;
  /** Records a deployment of (fraise, environment) that started and ended with `status`: its id. */
  deployment(options: { fraise?: string; environment?: string; status: 'success' | 'failed' | 'rolled_back'; errorMessage?: string | null; newVersion?: string | null }): Promise<number>;
  /**
   * Writes the notifications of a change of health seen at the clock's time, in a transaction as
   * the monitor does (the monitor's compare-and-set is tested with the monitor). Returns the change.
   */
  health(options: { fraise?: string; environment?: string; status: HealthStatus; previous: HealthStatus; message?: string }): Promise<EnvironmentStatusChange>;
  notifications(deploymentId?: number): Promise<NotificationRecord[]>;
  dispose(): Promise<void>;
}

export async function openOutboxRig(yaml: string, options: { env?: Record<string, string>; random?: () => number; leaseMs?: number } = {}): Promise<OutboxRig> {
  const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
  const t: TestStore = await openTestStore(sqlite);
  const config = parseConfig(yaml, { env: options.env ?? {} }).config;
  let clock = T0;
  const now = () => new Date(clock);
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(line) } });
  const outbox = new NotificationOutbox({ config, now });
  const sender = new NotificationSender({
    store: t.store,
    config,
    outbox,
    logger,
    now,
    instanceId: 'test-sender',
    leaseMs: options.leaseMs ?? 30_000,
    pollMs: 60_000,
    random: options.random ?? (() => 0.5),
  });
  let sequence = 0;
  return {
    store: t.store,
    config,
    outbox,
    sender,
    logs,
    now,
    advance: (ms) => void (clock += ms),
    runDue: () => sender.runDue(),
    deployment: (options) => recordDeployment(t.store, outbox, { ...options, at: clock, commit: (++sequence).toString(16).padStart(40, 'a') }),
    health: async ({ fraise = 'api', environment = 'production', status, previous, message = '' }) => {
      const change: EnvironmentStatusChange = { fraise, environment, status, previous, message, at: now().toISOString() };
      await t.store.db.transaction().execute((trx) => outbox.healthChanged(trx, change));
      return change;
    },
    notifications: (deploymentId) => listNotifications(t.store.db, { limit: 100, ...(deploymentId !== undefined ? { deploymentId } : {}) }),
    dispose: () => t.dispose(),
  };
}

/**
 * Records a deployment that started at `at` and ended 12.5 s later with `status`, the way the
 * dispatcher ends one: its end and its notifications in one transaction. Returns its id.
 */
export async function recordDeployment(
  store: Store,
  outbox: NotificationOutbox,
  options: { fraise?: string; environment?: string; status: 'success' | 'failed' | 'rolled_back'; errorMessage?: string | null; newVersion?: string | null; at: number; commit: string },
): Promise<number> {
  const { fraise = 'api', environment = 'production', status, errorMessage = null, at, commit } = options;
  const db = store.db;
  const id = await insertDeployment(db, {
    fraise,
    environment,
    kind: 'deploy',
    trigger: 'webhook',
    requestedBy: 'alice',
    requestedAt: new Date(at).toISOString(),
    gitCommit: commit,
    gitBranch: 'main',
    targetProvider: 'bare-metal',
    targetConfig: {},
  });
  const claimed = await claimDeployment(db, id, {
    startedAt: new Date(at).toISOString(),
    leaseOwner: 'test',
    leaseExpiresAt: new Date(at + 60_000).toISOString(),
    oldVersion: null,
    lockKey: lockKeyOf(fraise, environment),
    hostSlot: null,
  });
  if (claimed !== 'claimed') throw new Error(`could not claim deployment ${id}: ${claimed}`);
  await db.transaction().execute(async (trx) => {
    await completeDeployment(trx, id, {
      fraise,
      environment,
      requestedBy: 'alice',
      status,
      completedAt: new Date(at + 12_500).toISOString(),
      errorMessage,
      newVersion: options.newVersion ?? (status === 'success' ? commit : null),
      ...(status === 'success' ? { runningVersion: commit } : {}),
    });
    await outbox.ended(trx, id);
  });
  return id;
}

/** Parses a recorded request's JSON body. */
export function json(body: string): any {
  return JSON.parse(body);
}
