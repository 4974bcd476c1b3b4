import { describe, expect, it } from 'vitest';
import type { ApprovalRule, ProtectionConfig } from '../../src/config/types.js';
import { mayApprove } from '../../src/gates/approvals.js';
import { evaluateGates } from '../../src/gates/evaluate.js';
import type { ApprovalRecord, GateFacts } from '../../src/gates/types.js';

/*
 * evaluateGates against docs/gates.md's table, with the clock injected (GateFacts.now): each
 * gate met, closed (wait, with when it may open) or refusing, and how they combine.
 */

const COMMIT = 'abc1234def5678abc1234def5678abc1234def56';

function protection(more: Partial<ProtectionConfig>): ProtectionConfig {
  return { windows: [], onOutside: 'wait', freezes: [], onPromotionMissing: 'wait', ...more };
}

function facts(now: string, more: { deployment?: Partial<GateFacts['deployment']>; approvals?: ApprovalRecord[]; promotionSource?: GateFacts['promotionSource'] } = {}): GateFacts {
  return {
    now: new Date(now),
    deployment: { id: 7, requestedAt: '2026-06-01T10:00:00.000Z', requestedBy: 'ci', gitCommit: COMMIT, waitingSince: null, freezeOverrideBy: null, ...more.deployment },
    approvals: more.approvals ?? [],
    ...(more.promotionSource ? { promotionSource: more.promotionSource } : {}),
  };
}

const approve = (by: string, at: string, comment: string | null = null): ApprovalRecord => ({ by, decision: 'approve', at, comment });
const reject = (by: string, at: string, comment: string): ApprovalRecord => ({ by, decision: 'reject', at, comment });

describe('evaluateGates', () => {
  it('an environment with no gate configured passes', () => {
    expect(evaluateGates(protection({}), facts('2026-06-01T10:00:00Z'))).toEqual({ decision: 'pass', reason: null, gates: [], wakeAt: null });
  });

  describe('freeze', () => {
    const holidays = protection({ freezes: [{ from: '2026-12-19T23:00:00.000Z', to: '2027-01-04T00:00:00.000Z', reason: 'holidays' }] });

    it('inside a freeze it waits, waking when the freeze ends', () => {
      const verdict = evaluateGates(holidays, facts('2026-12-24T12:00:00Z'));
      expect(verdict).toEqual({
        decision: 'wait',
        reason: 'frozen until 2027-01-04T00:00:00.000Z: holidays',
        gates: [{ kind: 'freeze', satisfied: false, message: 'frozen until 2027-01-04T00:00:00.000Z: holidays', approvals: [] }],
        wakeAt: '2027-01-04T00:00:00.000Z',
      });
    });

    it('overridden by an admin it passes, saying by whom', () => {
      const verdict = evaluateGates(holidays, facts('2026-12-24T12:00:00Z', { deployment: { freezeOverrideBy: 'root' } }));
      expect(verdict.decision).toBe('pass');
      expect(verdict.gates).toEqual([{ kind: 'freeze', satisfied: true, message: 'freeze overridden by root: holidays', approvals: [] }]);
    });

    it('outside the freeze it passes; freezes that touch run as one', () => {
      expect(evaluateGates(holidays, facts('2027-01-04T00:00:00Z')).decision).toBe('pass');
      expect(evaluateGates(holidays, facts('2026-12-19T22:59:59Z')).gates[0]!.message).toBe('not frozen');
      const chained = protection({
        freezes: [
          { from: '2026-12-20T00:00:00.000Z', to: '2026-12-27T00:00:00.000Z', reason: 'holidays' },
          { from: '2026-12-27T00:00:00.000Z', to: '2027-01-04T00:00:00.000Z', reason: 'year end' },
        ],
      });
      expect(evaluateGates(chained, facts('2026-12-24T12:00:00Z')).wakeAt).toBe('2027-01-04T00:00:00.000Z');
    });
  });

  describe('window', () => {
    const office = { days: [1, 2, 3, 4, 5], from: '09:00', to: '17:00', timezone: 'Europe/Paris' };

    it('outside every window it waits for the next opening, named on the wall clock and in UTC', () => {
      // Saturday 28 March 2026; Monday 09:00 is in summer time.
      const verdict = evaluateGates(protection({ windows: [office] }), facts('2026-03-28T10:00:00Z'));
      expect(verdict.decision).toBe('wait');
      expect(verdict.reason).toBe('outside the deploy windows: next opens Mon 09:00 Europe/Paris (2026-03-30T07:00:00.000Z)');
      expect(verdict.wakeAt).toBe('2026-03-30T07:00:00.000Z');
    });

    it('with on_outside: refuse it is refused', () => {
      const verdict = evaluateGates(protection({ windows: [office], onOutside: 'refuse' }), facts('2026-03-28T10:00:00Z'));
      expect(verdict.decision).toBe('refuse');
      expect(verdict.reason).toMatch(/^outside the deploy windows \(on_outside: refuse\): next opens Mon 09:00 Europe\/Paris/);
      expect(verdict.wakeAt).toBeNull();
    });

    it('inside a window it passes', () => {
      const verdict = evaluateGates(protection({ windows: [office] }), facts('2026-03-30T07:00:00Z'));
      expect(verdict.decision).toBe('pass');
      expect(verdict.gates[0]!.message).toBe('inside the deploy window mon-fri 09:00-17:00 Europe/Paris');
    });
  });

  describe('promotion', () => {
    const fromStaging = protection({ promotion: { from: 'staging', soakSeconds: 1800 } });
    const healthy = { succeededAt: '2026-06-01T10:00:00.000Z', currentVersion: COMMIT, health: 'healthy' as const, healthSince: '2026-06-01T09:58:00.000Z' };

    it('before the soak ends it waits until then; after, it passes', () => {
      const early = evaluateGates(fromStaging, facts('2026-06-01T10:12:00Z', { promotionSource: healthy }));
      expect(early.decision).toBe('wait');
      expect(early.reason).toBe('staging has run abc1234 healthy for 12m of 30m: soaking until 2026-06-01T10:30:00.000Z');
      expect(early.wakeAt).toBe('2026-06-01T10:30:00.000Z');
      const after = evaluateGates(fromStaging, facts('2026-06-01T10:30:00Z', { promotionSource: healthy }));
      expect(after.decision).toBe('pass');
      expect(after.gates[0]).toMatchObject({ kind: 'promotion', satisfied: true, message: 'staging has run abc1234 healthy for 30m (soak 30m)' });
    });

    it('the soak counts from the latest health change when staging recovered after its success', () => {
      const recovered = { ...healthy, healthSince: '2026-06-01T10:20:00.000Z' };
      const verdict = evaluateGates(fromStaging, facts('2026-06-01T10:35:00Z', { promotionSource: recovered }));
      expect(verdict.decision).toBe('wait');
      expect(verdict.wakeAt).toBe('2026-06-01T10:50:00.000Z');
      expect(verdict.reason).toBe('staging has run abc1234 healthy for 15m of 30m: soaking until 2026-06-01T10:50:00.000Z');
    });

    it('staging turned unhealthy: not satisfied, saying so; with on_missing: refuse, refused', () => {
      const down = { ...healthy, health: 'down' as const, healthSince: '2026-06-01T10:40:00.000Z' };
      const waiting = evaluateGates(fromStaging, facts('2026-06-01T11:00:00Z', { promotionSource: down }));
      expect(waiting).toMatchObject({ decision: 'wait', reason: 'staging is down since 2026-06-01T10:40:00.000Z', wakeAt: null });
      const refusing = evaluateGates({ ...fromStaging, onPromotionMissing: 'refuse' }, facts('2026-06-01T11:00:00Z', { promotionSource: down }));
      expect(refusing).toMatchObject({ decision: 'refuse', reason: 'staging is down since 2026-06-01T10:40:00.000Z' });
    });

    it('says what is missing: never ran there, or runs another commit now', () => {
      const never = evaluateGates(fromStaging, facts('2026-06-01T11:00:00Z', { promotionSource: { succeededAt: null, currentVersion: 'fff0000aaa', health: 'healthy', healthSince: null } }));
      expect(never.reason).toBe('staging never ran abc1234 successfully');
      expect(evaluateGates(fromStaging, facts('2026-06-01T11:00:00Z')).reason).toBe('staging never ran abc1234 successfully');
      const moved = evaluateGates(fromStaging, facts('2026-06-01T11:00:00Z', { promotionSource: { ...healthy, currentVersion: 'fff0000aaa' } }));
      expect(moved.reason).toBe('staging runs fff0000 now, not abc1234');
      // A shortened recorded version is the same commit.
      expect(evaluateGates(fromStaging, facts('2026-06-01T11:00:00Z', { promotionSource: { ...healthy, currentVersion: 'abc1234' } })).decision).toBe('pass');
    });
  });

  describe('approvals', () => {
    const two = protection({ approvals: { required: 2, approvers: ['alice', 'bob', 'release-managers'], selfApproval: false, timeoutSeconds: 86_400, carryApprovals: false } });
    const waiting = { waitingSince: '2026-06-01T10:00:00.000Z' };

    it('two required: none waits until the timeout, one approves → still waits, the second → passes', () => {
      const none = evaluateGates(two, facts('2026-06-01T10:00:00Z'));
      expect(none).toMatchObject({ decision: 'wait', reason: '0 of 2 approvals', wakeAt: '2026-06-02T10:00:00.000Z' });
      const one = evaluateGates(two, facts('2026-06-01T11:00:00Z', { deployment: waiting, approvals: [approve('alice', '2026-06-01T10:30:00Z')] }));
      expect(one).toMatchObject({ decision: 'wait', reason: '1 of 2 approvals (alice)', wakeAt: '2026-06-02T10:00:00.000Z' });
      expect(one.gates[0]!.approvals).toEqual([approve('alice', '2026-06-01T10:30:00Z')]);
      const both = evaluateGates(two, facts('2026-06-01T11:00:00Z', { deployment: waiting, approvals: [approve('alice', '2026-06-01T10:30:00Z'), approve('bob', '2026-06-01T10:50:00Z', 'lgtm')] }));
      expect(both.decision).toBe('pass');
      expect(both.gates[0]).toMatchObject({ kind: 'approvals', satisfied: true, message: 'approved: 2 of 2 approvals (alice, bob)' });
    });

    it('one approves, the other rejects: refused with the reason', () => {
      const verdict = evaluateGates(two, facts('2026-06-01T11:00:00Z', { deployment: waiting, approvals: [approve('alice', '2026-06-01T10:30:00Z'), reject('bob', '2026-06-01T10:50:00Z', 'not now')] }));
      expect(verdict).toMatchObject({ decision: 'refuse', reason: 'rejected by bob: not now', wakeAt: null });
    });

    it('not approved within the timeout: refused', () => {
      const verdict = evaluateGates(two, facts('2026-06-02T10:00:00Z', { deployment: waiting, approvals: [approve('alice', '2026-06-01T10:30:00Z')] }));
      expect(verdict).toMatchObject({ decision: 'refuse', reason: 'not approved within 24h: 1 of 2 approvals (alice)' });
      expect(evaluateGates(two, facts('2026-06-02T10:00:00Z', { deployment: waiting })).reason).toBe('not approved within 24h');
    });

    it('the same approver twice counts once; the requester\'s own approval does not count without self_approval', () => {
      const twice = evaluateGates(two, facts('2026-06-01T11:00:00Z', { deployment: waiting, approvals: [approve('alice', '2026-06-01T10:30:00Z'), approve('alice', '2026-06-01T10:40:00Z')] }));
      expect(twice.decision).toBe('wait');
      const own = evaluateGates(two, facts('2026-06-01T11:00:00Z', { deployment: { ...waiting, requestedBy: 'bob' }, approvals: [approve('alice', '2026-06-01T10:30:00Z'), approve('bob', '2026-06-01T10:40:00Z')] }));
      expect(own).toMatchObject({ decision: 'wait', reason: "1 of 2 approvals (alice); bob's own approval does not count" });
      const allowed = { ...two, approvals: { ...two.approvals!, selfApproval: true } };
      expect(evaluateGates(allowed, facts('2026-06-01T11:00:00Z', { deployment: { ...waiting, requestedBy: 'bob' }, approvals: [approve('alice', '2026-06-01T10:30:00Z'), approve('bob', '2026-06-01T10:40:00Z')] })).decision).toBe('pass');
    });
  });

  describe('wait_timer', () => {
    it('waits until requestedAt + the timer, then passes', () => {
      const timer = protection({ waitTimerSeconds: 600 });
      expect(evaluateGates(timer, facts('2026-06-01T10:04:00Z'))).toMatchObject({ decision: 'wait', reason: 'wait timer: until 2026-06-01T10:10:00.000Z', wakeAt: '2026-06-01T10:10:00.000Z' });
      expect(evaluateGates(timer, facts('2026-06-01T10:10:00Z'))).toMatchObject({ decision: 'pass', gates: [{ kind: 'wait_timer', satisfied: true, message: 'wait timer of 10m elapsed' }] });
    });
  });

  describe('several gates', () => {
    const all = protection({
      freezes: [{ from: '2026-12-20T00:00:00.000Z', to: '2027-01-04T00:00:00.000Z', reason: 'holidays' }],
      windows: [{ days: [1, 2, 3, 4, 5], from: '09:00', to: '17:00', timezone: 'UTC' }],
      promotion: { from: 'staging', soakSeconds: 1800 },
      approvals: { required: 1, approvers: [], selfApproval: false, timeoutSeconds: 86_400, carryApprovals: false },
      waitTimerSeconds: 600,
    });
    const staging = { succeededAt: '2026-06-01T09:00:00.000Z', currentVersion: COMMIT, health: 'healthy' as const, healthSince: '2026-06-01T09:00:00.000Z' };

    it('reports every gate in order; waits naming each closed one; wakes at the earliest boundary', () => {
      // Monday 1 June 2026, 10:05 UTC: inside the window, soaked, no approval yet, timer running.
      const verdict = evaluateGates(all, facts('2026-06-01T10:05:00Z', { promotionSource: staging }));
      expect(verdict.gates.map((g) => [g.kind, g.satisfied])).toEqual([
        ['freeze', true],
        ['window', true],
        ['promotion', true],
        ['approvals', false],
        ['wait_timer', false],
      ]);
      expect(verdict).toMatchObject({ decision: 'wait', reason: '0 of 1 approval; wait timer: until 2026-06-01T10:10:00.000Z', wakeAt: '2026-06-01T10:10:00.000Z' });
    });

    it('an open window closing is a boundary too, so the gates shown stay true', () => {
      const verdict = evaluateGates(all, facts('2026-06-01T16:55:00Z', { promotionSource: staging }));
      expect(verdict.wakeAt).toBe('2026-06-01T17:00:00.000Z');
    });

    it('one refusing gate refuses the deployment whatever the others say', () => {
      const verdict = evaluateGates(all, facts('2026-06-01T10:05:00Z', { promotionSource: staging, approvals: [reject('carol', '2026-06-01T10:04:00Z', 'bad migration')] }));
      expect(verdict).toMatchObject({ decision: 'refuse', reason: 'rejected by carol: bad migration', wakeAt: null });
    });
  });
});

describe('mayApprove', () => {
  const rule: ApprovalRule = { required: 2, approvers: ['alice', 'release-managers'], selfApproval: false, timeoutSeconds: 86_400, carryApprovals: false };

  it('accepts a named approver and a member of a named group', () => {
    expect(mayApprove(rule, { name: 'alice' }, 'ci')).toBeNull();
    expect(mayApprove(rule, { name: 'dave', groups: new Set(['ops', 'release-managers']) }, 'ci')).toBeNull();
  });

  it('refuses a token not listed, by name or group', () => {
    expect(mayApprove(rule, { name: 'mallory', groups: new Set(['ops']) }, 'ci')).toBe('mallory is not among the approvers here (alice, release-managers)');
  });

  it('refuses self-approval unless self_approval is on', () => {
    expect(mayApprove(rule, { name: 'alice' }, 'alice')).toBe('alice asked for this deployment and self-approval is off: another approver must decide');
    expect(mayApprove({ ...rule, selfApproval: true }, { name: 'alice' }, 'alice')).toBeNull();
  });

  it('with no approvers listed, any token (with the scope, reaching the environment) may', () => {
    expect(mayApprove({ ...rule, approvers: [] }, { name: 'anyone' }, 'ci')).toBeNull();
    expect(mayApprove({ ...rule, approvers: [] }, { name: 'ci' }, 'ci')).not.toBeNull();
  });
});
