import type { DeploymentView, GateView } from '../client/views.js';
import { clean } from './format.js';
import type { Colors } from './terminal.js';
import { relativeTime } from './time.js';

/*
 * A deployment's gates (its environment's protection rules) as `fraisier deployment` and
 * `fraisier history --waiting` print them: one line a gate, ✓ or ✗, its kind as the
 * configuration spells it (approvals, window, wait_timer...) and the server's message; under the
 * approvals gate, one line a decision (who, when, and the comment or reason).
 */

/** "✗ approvals   0 of 1 approval", the kind padded so that the messages line up. */
export function gateLine(c: Colors, gate: GateView): string {
  const mark = gate.satisfied ? c.green('✓') : c.red('✗');
  return `${mark} ${gate.kind.toLowerCase().padEnd(KIND_WIDTH)} ${clean(gate.message)}`;
}

/** "approved by alice 5m ago (2026-…): ship it" */
export function decisionLine(approval: GateView['approvals'][number]): string {
  const what = approval.decision === 'REJECT' ? 'rejected' : 'approved';
  return `${what} by ${clean(approval.by)} ${relativeTime(approval.at)} (${approval.at})${approval.comment ? `: ${clean(approval.comment)}` : ''}`;
}

/** Every gate, and each decision under its gate; `indent` before each line. */
export function gateLines(c: Colors, gates: readonly GateView[], indent: string): string[] {
  return gates.flatMap((gate) => [`${indent}${gateLine(c, gate)}`, ...gate.approvals.map((a) => `${indent}    ${decisionLine(a)}`)]);
}

/** The gates a deployment still waits for (none: it starts at the dispatcher's next look). */
export function unmetGates(d: DeploymentView): GateView[] {
  return (d.gates ?? []).filter((g) => !g.satisfied);
}

/** The longest kind, wait_timer. */
const KIND_WIDTH = 10;
