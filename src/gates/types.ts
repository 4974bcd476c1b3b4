import type { HealthStatus } from '../model.js';

/*
 * What the gates of a protected environment (`protection:`) say about one deployment. The
 * evaluation (evaluate.ts) is pure: the facts are read from the store by the caller, the clock
 * is injected, and the verdict says when it may change by time alone (`wakeAt`), so the
 * dispatcher sleeps until that boundary instead of polling.
 */

export const GATE_KINDS = ['freeze', 'window', 'promotion', 'approvals', 'wait_timer'] as const;
export type GateKind = (typeof GATE_KINDS)[number];

export interface ApprovalRecord {
  /** The token name that decided. */
  by: string;
  decision: 'approve' | 'reject';
  at: string;
  /** The approval's comment, or the rejection's reason. */
  comment: string | null;
}

export interface GateState {
  kind: GateKind;
  satisfied: boolean;
  /** One line a person reads: what is met, or what is missing and until when. */
  message: string;
  /** The approvals gate: every decision recorded so far (others: empty). */
  approvals: ApprovalRecord[];
}

/** What the store knows, at evaluation time, that the gates of one deployment depend on. */
export interface GateFacts {
  now: Date;
  deployment: {
    id: number;
    requestedAt: string;
    /** Who asked (a token name, `local`, `webhook:github`, …). */
    requestedBy: string | null;
    gitCommit: string | null;
    /** When it began to wait (its first evaluation that did not pass); null: never waited yet. */
    waitingSince: string | null;
    /** Forced by an admin token through a freeze: that token's name. */
    freezeOverrideBy: string | null;
  };
  /** Decisions recorded on this deployment (carried ones included), oldest first. */
  approvals: ApprovalRecord[];
  /** The promotion rule's source environment, when the environment has one. */
  promotionSource?: {
    /** When the same commit last ended SUCCESS there (null: never). */
    succeededAt: string | null;
    /** What runs there now. */
    currentVersion: string | null;
    health: HealthStatus;
    /** When its health last changed (or it was last deployed): the soak counts from the later of this and succeededAt. */
    healthSince: string | null;
  };
}

export type GateDecision = 'pass' | 'wait' | 'refuse';

export interface GateVerdict {
  /** pass: may start now; wait: stays WAITING; refuse: ends CANCELLED with `reason`. */
  decision: GateDecision;
  /** Why it waits or is refused, one line naming each gate that is not met. */
  reason: string | null;
  /** Every configured gate, in GATE_KINDS order. */
  gates: GateState[];
  /** The earliest instant the verdict may change with no new fact (a window opens, a soak or timer ends, a freeze or an approval wait expires); null: only a new fact changes it. */
  wakeAt: string | null;
}
