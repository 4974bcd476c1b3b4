import type { FreezePeriod, ProtectionConfig, PromotionRule } from '../config/types.js';
import { evaluateApprovals } from './approvals.js';
import { sameCommit } from '../git/refs.js';
import { iso, shortCommit, spellSeconds } from './spell.js';
import type { GateFacts, GateKind, GateState, GateVerdict } from './types.js';
import { describeWallTime, describeWindow, nextChange, windowAt } from './windows.js';

// Who may approve is the mutation's check; it lives beside the approvals gate.
export { mayApprove } from './approvals.js';

/*
 * What the gates of a protected environment say about one deployment, now. Pure: the facts and
 * the clock come from the caller (docs/gates.md has the table this follows).
 *
 * wakeAt, while the deployment waits, is the earliest instant a gate changes by time alone: one
 * that is closed opening (a freeze or a soak ending, a window opening, the wait timer running
 * out, the approvals' time running out) and one that is open closing (a window closing, a freeze
 * beginning), so the gates shown stay true. A verdict that passes or refuses has none.
 */

interface Outcome {
  kind: GateKind;
  satisfied: boolean;
  refused: boolean;
  message: string;
  /** When this gate may change by time alone. */
  boundary: number | null;
}

export function evaluateGates(protection: ProtectionConfig, facts: GateFacts): GateVerdict {
  const now = facts.now.getTime();
  const outcomes: Outcome[] = [];
  if (protection.freezes.length) outcomes.push(freezeGate(protection.freezes, facts, now));
  if (protection.windows.length) outcomes.push(windowGate(protection, now));
  if (protection.promotion) outcomes.push(promotionGate(protection.promotion, protection.onPromotionMissing === 'refuse', facts, now));
  if (protection.approvals) {
    const approvals = evaluateApprovals(protection.approvals, facts);
    outcomes.push({ kind: 'approvals', satisfied: approvals.satisfied, refused: approvals.refused, message: approvals.message, boundary: approvals.deadline });
  }
  if (protection.waitTimerSeconds !== undefined) outcomes.push(waitTimerGate(protection.waitTimerSeconds, facts, now));

  const gates: GateState[] = outcomes.map((o) => ({
    kind: o.kind,
    satisfied: o.satisfied,
    message: o.message,
    approvals: o.kind === 'approvals' ? [...facts.approvals] : [],
  }));
  const refused = outcomes.filter((o) => o.refused);
  if (refused.length) return { decision: 'refuse', reason: refused.map((o) => o.message).join('; '), gates, wakeAt: null };
  const closed = outcomes.filter((o) => !o.satisfied);
  if (closed.length === 0) return { decision: 'pass', reason: null, gates, wakeAt: null };
  const boundaries = outcomes.map((o) => o.boundary).filter((b): b is number => b !== null && b > now);
  return {
    decision: 'wait',
    reason: closed.map((o) => o.message).join('; '),
    gates,
    wakeAt: boundaries.length ? iso(Math.min(...boundaries)) : null,
  };
}

function freezeGate(freezes: readonly FreezePeriod[], facts: GateFacts, now: number): Outcome {
  const periods = freezes.map((f) => ({ from: Date.parse(f.from), to: Date.parse(f.to), reason: f.reason }));
  const current = periods.find((p) => p.from <= now && now < p.to);
  const overrideBy = facts.deployment.freezeOverrideBy;
  if (!current) {
    // The next freeze to begin closes this gate then (an override only concerns a freeze it met).
    const starts = periods.map((p) => p.from).filter((from) => from > now);
    return { kind: 'freeze', satisfied: true, refused: false, message: 'not frozen', boundary: starts.length ? Math.min(...starts) : null };
  }
  const reason = current.reason ? `: ${current.reason}` : '';
  if (overrideBy) return { kind: 'freeze', satisfied: true, refused: false, message: `freeze overridden by ${overrideBy}${reason}`, boundary: null };
  // Freezes that overlap or touch run as one: it is frozen until the last of them ends.
  let until = current.to;
  for (let extended = true; extended; ) {
    extended = false;
    for (const p of periods) {
      if (p.from <= until && p.to > until) {
        until = p.to;
        extended = true;
      }
    }
  }
  return { kind: 'freeze', satisfied: false, refused: false, message: `frozen until ${iso(until)}${reason}`, boundary: until };
}

function windowGate(protection: ProtectionConfig, now: number): Outcome {
  const open = windowAt(protection.windows, now);
  if (open) {
    return { kind: 'window', satisfied: true, refused: false, message: `inside the deploy window ${describeWindow(open)}`, boundary: nextChange(protection.windows, now, false) };
  }
  const opening = nextChange(protection.windows, now, true);
  const refuse = protection.onOutside === 'refuse';
  if (opening === null) {
    return { kind: 'window', satisfied: false, refused: refuse, message: 'outside the deploy windows, and none opens within a week', boundary: null };
  }
  const zone = windowAt(protection.windows, opening)!.timezone;
  const next = `next opens ${describeWallTime(opening, zone)} (${iso(opening)})`;
  return { kind: 'window', satisfied: false, refused: refuse, message: `outside the deploy windows${refuse ? ' (on_outside: refuse)' : ''}: ${next}`, boundary: refuse ? null : opening };
}

function promotionGate(rule: PromotionRule, refuseMissing: boolean, facts: GateFacts, now: number): Outcome {
  const missing = (message: string): Outcome => ({ kind: 'promotion', satisfied: false, refused: refuseMissing, message, boundary: null });
  const commit = facts.deployment.gitCommit;
  const source = facts.promotionSource;
  if (!commit) return missing(`no commit to check against ${rule.from}: promotion needs the deployment's commit`);
  const short = shortCommit(commit);
  if (!source || source.succeededAt === null) return missing(`${rule.from} never ran ${short} successfully`);
  if (!source.currentVersion || !sameCommit(source.currentVersion, commit)) {
    return missing(`${rule.from} runs ${source.currentVersion ? shortCommit(source.currentVersion) : 'nothing'} now, not ${short}`);
  }
  if (source.health !== 'healthy') {
    const since = source.healthSince ? ` since ${source.healthSince}` : '';
    return missing(source.health === 'unknown' ? `${rule.from}'s health is not known yet${since}` : `${rule.from} is ${source.health}${since}`);
  }
  const from = Math.max(Date.parse(source.succeededAt), source.healthSince ? Date.parse(source.healthSince) : 0);
  const end = from + rule.soakSeconds * 1000;
  const ran = spellSeconds((now - from) / 1000);
  if (now < end) {
    // Only time is missing: it waits whatever on_missing says, and wakes when the soak ends.
    return { kind: 'promotion', satisfied: false, refused: false, message: `${rule.from} has run ${short} healthy for ${ran} of ${spellSeconds(rule.soakSeconds)}: soaking until ${iso(end)}`, boundary: end };
  }
  return { kind: 'promotion', satisfied: true, refused: false, message: `${rule.from} has run ${short} healthy for ${ran}${rule.soakSeconds ? ` (soak ${spellSeconds(rule.soakSeconds)})` : ''}`, boundary: null };
}

function waitTimerGate(seconds: number, facts: GateFacts, now: number): Outcome {
  const until = Date.parse(facts.deployment.requestedAt) + seconds * 1000;
  if (now >= until) return { kind: 'wait_timer', satisfied: true, refused: false, message: `wait timer of ${spellSeconds(seconds)} elapsed`, boundary: null };
  return { kind: 'wait_timer', satisfied: false, refused: false, message: `wait timer: until ${iso(until)}`, boundary: until };
}
