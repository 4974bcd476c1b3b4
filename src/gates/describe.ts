import type { ProtectionConfig } from '../config/types.js';
import { spellSeconds } from './spell.js';
import { describeWindow } from './windows.js';

/*
 * An environment's protection in a few lines a person reads (config validate lists them), one
 * per gate, in the order they are evaluated.
 */
export function describeProtection(protection: ProtectionConfig): string[] {
  const lines: string[] = [];
  for (const freeze of protection.freezes) lines.push(`freeze: ${freeze.from} to ${freeze.to}${freeze.reason ? `: ${freeze.reason}` : ''}`);
  if (protection.windows.length) {
    lines.push(`windows: ${protection.windows.map(describeWindow).join(', ')}${protection.onOutside === 'refuse' ? ' (outside them: refused)' : ''}`);
  }
  const promotion = protection.promotion;
  if (promotion) {
    const soak = promotion.soakSeconds ? ` healthy for ${spellSeconds(promotion.soakSeconds)}` : '';
    lines.push(`promotion: after it succeeded in ${promotion.from}${soak}${protection.onPromotionMissing === 'refuse' ? ' (missing: refused)' : ''}`);
  }
  const approvals = protection.approvals;
  if (approvals) {
    const who = approvals.approvers.length ? approvals.approvers.join(', ') : 'any token with the approve scope';
    const notes = [`within ${spellSeconds(approvals.timeoutSeconds)}`, ...(approvals.selfApproval ? ['self-approval allowed'] : []), ...(approvals.carryApprovals ? ['carried to a newer push'] : [])];
    lines.push(`approvals: ${approvals.required} of ${who} (${notes.join(', ')})`);
  }
  if (protection.waitTimerSeconds !== undefined) lines.push(`wait timer: ${spellSeconds(protection.waitTimerSeconds)}`);
  return lines;
}
