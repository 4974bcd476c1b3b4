import type { Logger } from 'pino';
import type { ProtectionConfig } from '../config/types.js';
import { announceCompleted } from '../deploy/queue.js';
import type { EventBus } from '../events/bus.js';
import type { Metrics } from '../metrics.js';
import { type DeploymentProgress, isQueued } from '../model.js';
import type { NotificationOutbox } from '../notifications/outbox.js';
import type { Catalog } from '../services/catalog.js';
import { findDeployment } from '../store/deployment.repository.js';
import {
  findGateSubject,
  type GateSubject,
  listApprovals,
  readPromotionSource,
  recordPassedGates,
  recordRefusal,
  recordWaiting,
} from '../store/gate.repository.js';
import { appendProgress } from '../store/progress.repository.js';
import { guardStore, type Db, type Store } from '../store/store.js';
import { evaluateGates } from './evaluate.js';
import type { GateFacts, GateState, GateVerdict } from './types.js';

/*
 * Holds a queued deployment of a protected environment at its gates (docs/gates.md). The
 * dispatcher asks before claiming one: the facts are read from the store, evaluated
 * (evaluate.ts, pure) and the verdict recorded:
 *   pass   → the dispatcher claims it; the claim's transaction records the gates passed (`record`)
 *   wait   → WAITING, with its gates and when time alone may change them (the dispatcher's timer)
 *   refuse → CANCELLED with the reason
 * Every write is a compare-and-set on the deployment's gate_version, so of two instances that
 * evaluated the same facts one records the verdict and its progress line; a decision recorded
 * meanwhile (approve, reject) moved the version, and the next tick evaluates again. A waiting
 * deployment whose verdict did not change (the same gates open and closed, the same approvals,
 * the same wake-up time) is not written again: a tick costs reads only. Nothing is kept in
 * memory: after a restart the first tick finds the waiting deployments in the store.
 */

/** The step of the progress lines gates write: every verdict and decision, in the deployment's history. */
export const GATE_STEP = 'gate';

export type GateOutcome =
  /** Not protected (or a job run): claim it as any other. */
  | { kind: 'open' }
  /** Every gate is open: claim it, recording this in the claim's transaction. */
  | GatePass
  /** It waits (recorded, or already recorded as such); `wakeAt`: when time alone may open a gate. */
  | { kind: 'wait'; wakeAt: string | null }
  /** Refused by a gate: it ended CANCELLED. */
  | { kind: 'refused' }
  /** No longer queued (claimed, cancelled, superseded meanwhile). */
  | { kind: 'gone' };

export interface GatePass {
  kind: 'pass';
  /** The claim is a compare-and-set on this version: a decision recorded since refuses it. */
  gateVersion: number;
  /** The gates as just evaluated (recorded by the claim). */
  gates: GateState[];
  /** Writes the passed gates and their progress line, in the claim's transaction. */
  record(trx: Db): Promise<void>;
  /** Once the claim committed: publishes the progress line. */
  announce(): void;
}

export interface GateKeeperDeps {
  store: Store;
  catalog: Catalog;
  bus: EventBus;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  /** Where the notification of a wait for approval is written, in the verdict's transaction. */
  notifications?: NotificationOutbox;
}

export class GateKeeper {
  constructor(private readonly deps: GateKeeperDeps) {}

  /** The protection rules of an environment (undefined: it has none, or it is no longer configured). */
  protectionOf(fraise: string, environment: string): ProtectionConfig | undefined {
    return this.deps.catalog.findEnvironment(fraise, environment)?.protection;
  }

  /** Evaluates a queued deployment's gates now and records what they say. */
  async evaluate(candidate: { id: number; fraise: string; environment: string; job: string | null }): Promise<GateOutcome> {
    // Job runs are the application's work on what is deployed, not deployments: no gate holds them.
    if (candidate.job !== null) return { kind: 'open' };
    const protection = this.protectionOf(candidate.fraise, candidate.environment);
    if (!protection) return { kind: 'open' };
    const { store, now } = this.deps;
    const subject = await findGateSubject(store.db, candidate.id);
    if (!subject || !isQueued(subject.status)) return { kind: 'gone' };
    const rules = rulesFor(protection, subject);
    // One instant for the evaluation and what it records: the wait begins when it was judged to.
    const at = now();
    const verdict = evaluateGates(rules, await this.#facts(subject, rules, at));
    switch (verdict.decision) {
      case 'pass':
        return this.#pass(subject, verdict);
      case 'wait':
        return this.#wait(subject, verdict, at.toISOString());
      case 'refuse':
        return this.#refuse(subject, verdict, at.toISOString());
    }
  }

  async #facts(subject: GateSubject, rules: ProtectionConfig, at: Date): Promise<GateFacts> {
    const db = this.deps.store.db;
    const [approvals, promotionSource] = await Promise.all([
      rules.approvals ? listApprovals(db, subject.id) : [],
      rules.promotion ? readPromotionSource(db, subject.fraise, rules.promotion.from, subject.gitCommit) : undefined,
    ]);
    return {
      now: at,
      deployment: {
        id: subject.id,
        requestedAt: subject.requestedAt,
        requestedBy: subject.requestedBy,
        gitCommit: subject.gitCommit,
        waitingSince: subject.waitingSince,
        freezeOverrideBy: subject.freezeOverrideBy,
      },
      approvals,
      ...(promotionSource ? { promotionSource } : {}),
    };
  }

  #pass(subject: GateSubject, verdict: GateVerdict): GatePass {
    let event: DeploymentProgress | undefined;
    return {
      kind: 'pass',
      gateVersion: subject.gateVersion,
      gates: verdict.gates,
      record: async (trx) => {
        const at = this.deps.now().toISOString();
        await recordPassedGates(trx, subject.id, JSON.stringify(verdict.gates));
        event = await recordGateProgress(trx, subject.id, 'gates passed', at);
      },
      announce: () => {
        if (event) this.deps.bus.publish({ type: 'progress', event });
      },
    };
  }

  async #wait(subject: GateSubject, verdict: GateVerdict, at: string): Promise<GateOutcome> {
    const waiting: GateOutcome = { kind: 'wait', wakeAt: verdict.wakeAt };
    if (subject.status === 'waiting' && sameVerdict(subject, verdict)) return waiting;
    const { store, notifications, logger } = this.deps;
    const reason = verdict.reason ?? 'waiting on its gates';
    // The approvers are told once per wait: when it begins to wait with approvals missing.
    const askApproval = subject.status === 'pending' && verdict.gates.some((g) => g.kind === 'approvals' && !g.satisfied);
    let notified = 0;
    const event = await guardStore(() =>
      store.db.transaction().execute(async (trx) => {
        const recorded = await recordWaiting(trx, subject.id, { fromVersion: subject.gateVersion, gates: JSON.stringify(verdict.gates), wakeAt: verdict.wakeAt, at });
        if (!recorded) return undefined;
        if (askApproval && notifications?.active) notified = await notifications.awaitingApproval(trx, subject.id, `w${subject.gateVersion + 1}`, reason);
        return recordGateProgress(trx, subject.id, `waiting: ${reason}`, at);
      }),
    );
    // Another instance recorded it first, or a decision came in: its next tick (or ours) reads it again.
    if (!event) return waiting;
    if (notified) notifications?.wake();
    logger.debug({ deployment: subject.id, wakeAt: verdict.wakeAt }, `deployment ${subject.id} waiting: ${reason}`);
    this.deps.bus.publish({ type: 'progress', event });
    const deployment = await findDeployment(store.db, subject.id);
    if (deployment?.status === 'waiting') this.deps.bus.publish({ type: 'waiting', deployment });
    return waiting;
  }

  async #refuse(subject: GateSubject, verdict: GateVerdict, at: string): Promise<GateOutcome> {
    const { store, bus, metrics } = this.deps;
    const reason = verdict.reason ?? 'refused by its gates';
    const event = await guardStore(() =>
      store.db.transaction().execute(async (trx) => {
        const recorded = await recordRefusal(trx, subject.id, { fromVersion: subject.gateVersion, gates: JSON.stringify(verdict.gates), reason, at });
        return recorded ? recordGateProgress(trx, subject.id, `refused: ${reason}`, at) : undefined;
      }),
    );
    if (!event) return { kind: 'gone' };
    bus.publish({ type: 'progress', event });
    metrics.deploymentsFinished.inc({ status: 'cancelled' });
    await announceCompleted(store.db, bus, [subject.id]);
    return { kind: 'refused' };
  }
}

/**
 * The rules that hold this deployment: a rollback goes back to a version that already ran here,
 * so it is not held until that version has proved itself elsewhere again (no promotion gate).
 */
function rulesFor(protection: ProtectionConfig, subject: GateSubject): ProtectionConfig {
  if (subject.kind !== 'rollback' || !protection.promotion) return protection;
  const { promotion: _promotion, ...rest } = protection;
  return rest;
}

/**
 * Whether a verdict says what the recorded one said: the same gates open and closed, the same
 * decisions, the same wake-up time. Messages that only count time ("healthy for 12m") are not
 * a change worth a line in the history.
 */
function sameVerdict(subject: GateSubject, verdict: GateVerdict): boolean {
  if (subject.wakeAt !== verdict.wakeAt || subject.gates === null) return false;
  let recorded: GateState[];
  try {
    recorded = JSON.parse(subject.gates) as GateState[];
  } catch {
    return false;
  }
  return shapeOf(recorded) === shapeOf(verdict.gates);
}

function shapeOf(gates: readonly GateState[]): string {
  return JSON.stringify(gates.map((g) => [g.kind, g.satisfied, g.approvals.map((a) => [a.by, a.decision])]));
}

/** Writes one progress line of a deployment's gates (step `gate`) in `trx`; returns it to publish once committed. */
export function recordGateProgress(trx: Db, deploymentId: number, message: string, at: string): Promise<DeploymentProgress> {
  return appendProgress(trx, deploymentId, { step: GATE_STEP, message, at });
}
