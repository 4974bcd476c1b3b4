import type { ApprovalRule } from '../config/types.js';
import { spellSeconds } from './spell.js';
import type { ApprovalRecord, GateFacts } from './types.js';

/*
 * The approvals gate: `required` distinct approvers, no rejection, within `timeout` of the
 * moment the deployment began to wait. Who may approve is checked when the decision is recorded
 * (mayApprove, by the mutation); the evaluation only counts, and leaves out an approval by the
 * one who asked when self-approval is off (one carried over from a superseded deployment may be).
 */

export interface ApprovalsOutcome {
  satisfied: boolean;
  /** A rejection, or the time ran out: the deployment ends. */
  refused: boolean;
  message: string;
  /** When the time runs out (only while it waits for approvals). */
  deadline: number | null;
}

export function evaluateApprovals(rule: ApprovalRule, facts: GateFacts): ApprovalsOutcome {
  const now = facts.now.getTime();
  const rejection = facts.approvals.find((a) => a.decision === 'reject');
  if (rejection) {
    return { satisfied: false, refused: true, message: `rejected by ${rejection.by}${rejection.comment ? `: ${rejection.comment}` : ''}`, deadline: null };
  }
  const requestedBy = facts.deployment.requestedBy;
  const counted = approvers(facts.approvals.filter((a) => rule.selfApproval || a.by !== requestedBy));
  const own = !rule.selfApproval && requestedBy !== null && facts.approvals.some((a) => a.decision === 'approve' && a.by === requestedBy);
  const tally = `${counted.length} of ${rule.required} approval${rule.required === 1 ? '' : 's'}${counted.length ? ` (${counted.join(', ')})` : ''}${own ? `; ${requestedBy}'s own approval does not count` : ''}`;
  if (counted.length >= rule.required) return { satisfied: true, refused: false, message: `approved: ${tally}`, deadline: null };
  const since = facts.deployment.waitingSince ? Date.parse(facts.deployment.waitingSince) : now;
  const deadline = since + rule.timeoutSeconds * 1000;
  if (now >= deadline) {
    return { satisfied: false, refused: true, message: `not approved within ${spellSeconds(rule.timeoutSeconds)}${counted.length ? `: ${tally}` : ''}`, deadline: null };
  }
  return { satisfied: false, refused: false, message: tally, deadline };
}

/** Distinct approvers, in the order they approved. */
function approvers(records: readonly ApprovalRecord[]): string[] {
  return [...new Set(records.filter((a) => a.decision === 'approve').map((a) => a.by))];
}

/**
 * May this token approve (or reject) under `rule`? null when it may, else why not, in one line.
 * The caller has already checked the `approve` scope and that the token reaches the environment.
 */
export function mayApprove(rule: ApprovalRule, token: { name: string; groups?: ReadonlySet<string> }, requestedBy: string | null): string | null {
  if (!rule.selfApproval && requestedBy !== null && token.name === requestedBy) {
    return `${token.name} asked for this deployment and self-approval is off: another approver must decide`;
  }
  if (isListed(rule.approvers, token)) return null;
  return `${token.name} is not among the approvers here (${rule.approvers.join(', ')})`;
}

/** Whether `approvers` names the token or one of its groups (none named: any token may). */
export function isListed(approvers: readonly string[], token: { name: string; groups?: ReadonlySet<string> }): boolean {
  if (approvers.length === 0) return true;
  return approvers.includes(token.name) || approvers.some((approver) => token.groups?.has(approver) === true);
}
