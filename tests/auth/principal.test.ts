import { describe, expect, it } from 'vitest';
import { can } from '../../src/auth/principal.js';
import type { TokenConfig } from '../../src/config/types.js';

/* What each kind of principal may do: the one rule every scope check (operations, services, config) asks. */

describe('can', () => {
  it('lets a webhook delivery read and deploy, never approve or administer', () => {
    const webhook = { kind: 'webhook' as const, provider: 'github' };
    expect(['read', 'deploy', 'approve', 'admin'].map((scope) => can(webhook, scope as never))).toEqual([true, true, false, false]);
  });

  it('holds a token to its scopes and to the fraises and environments it is limited to', () => {
    const token: TokenConfig = { name: 'stager', sha256: null, scopes: new Set(['read', 'approve']), environments: new Set(['staging']) };
    const principal = { kind: 'token' as const, token };
    expect(can(principal, 'approve', 'api', 'staging')).toBe(true);
    expect(can(principal, 'approve', 'api', 'production')).toBe(false);
    expect(can(principal, 'deploy', 'api', 'staging')).toBe(false);
  });

  it('refuses an anonymous caller everything and lets the open API do anything', () => {
    expect(can({ kind: 'anonymous' }, 'read')).toBe(false);
    expect(can({ kind: 'open' }, 'admin')).toBe(true);
  });
});
