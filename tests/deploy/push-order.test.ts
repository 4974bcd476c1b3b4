import { describe, expect, it } from 'vitest';
import { orderByHeads, orderByRecord, type PushToOrder } from '../../src/deploy/push-order.js';
import type { DeploymentHeads } from '../../src/store/deployment.repository.js';

/*
 * Where a push stands against what an environment runs or waits for, from what the providers
 * said of each push (no git, no store): every rule of "newest commit wins" at enqueue time.
 */

const sha = (n: number) => String.fromCharCode(97 + n).repeat(40);
const [v0, v1, v2, v3, v4, v5] = [0, 1, 2, 3, 4, 5].map(sha) as [string, string, string, string, string, string];
const ZERO = '0'.repeat(40);
const target = 'hello/production';
const push = (commit: string, before: string | null): PushToOrder => ({ commit, before, target });
const deployed = (current: string): DeploymentHeads => ({ current, active: [] });
const s = (commit: string) => commit.slice(0, 12);

describe('orderByHeads', () => {
  it('queues anything when nothing is deployed or queued', () => {
    expect(orderByHeads(push(v3, v2), { current: null, active: [] })).toEqual({ kind: 'queue' });
  });

  it('queues a push that moves the branch on from the newest commit, forwards or back', () => {
    expect(orderByHeads(push(v4, v3), deployed(v3))).toEqual({ kind: 'queue' });
    expect(orderByHeads(push(v3, v4), deployed(v4))).toEqual({ kind: 'queue' });
    // The newest is the queued one, not the deployed one.
    expect(orderByHeads(push(v5, v4), { current: v3, active: [{ id: 9, status: 'pending', gitCommit: v4 }] })).toEqual({ kind: 'queue' });
  });

  it('queues nothing for a commit already deployed, being deployed or queued', () => {
    expect(orderByHeads(push(v4, v3), deployed(v4))).toEqual({ kind: 'replay', message: `commit ${s(v4)} is already deployed to ${target}: nothing queued` });
    const heads: DeploymentHeads = {
      current: v2,
      active: [
        { id: 8, status: 'pending', gitCommit: v4 },
        { id: 7, status: 'in_progress', gitCommit: v3 },
      ],
    };
    expect(orderByHeads(push(v4, v3), heads)).toEqual({ kind: 'replay', message: `commit ${s(v4)} is already queued for ${target}: nothing queued` });
    expect(orderByHeads(push(v3, v2), heads)).toEqual({ kind: 'replay', message: `commit ${s(v3)} is already being deployed to ${target}: nothing queued` });
    expect(orderByHeads(push(v2, v1), heads)).toEqual({ kind: 'replay', message: `commit ${s(v2)} is already deployed to ${target}: nothing queued` });
  });

  it('compares a commit an API deployment named by a short id by its prefix', () => {
    expect(orderByHeads(push(v4, v3), { current: null, active: [{ id: 1, status: 'pending', gitCommit: v4.slice(0, 10) }] })).toMatchObject({ kind: 'replay' });
  });

  it('leaves the rest to the recorded pushes', () => {
    expect(orderByHeads(push(v3, v2), deployed(v4))).toBeUndefined();
    expect(orderByHeads(push(v5, ZERO), deployed(v4))).toBeUndefined();
  });
});

describe('orderByRecord', () => {
  it('finds a commit older than the deployed one by walking back through the recorded pushes', () => {
    const pushes = [
      { commit: v4, before: v3 },
      { commit: v3, before: v2 },
    ];
    expect(orderByRecord(push(v2, v1), deployed(v4), pushes)).toEqual({
      kind: 'older',
      message: `commit ${s(v2)} is older than ${s(v4)} already deployed to ${target}`,
    });
    expect(orderByRecord(push(v3, v2), { current: v1, active: [{ id: 5, status: 'pending', gitCommit: v4 }] }, pushes)).toEqual({
      kind: 'older',
      message: `commit ${s(v3)} is older than ${s(v4)} already queued for ${target}`,
    });
  });

  it('queues what nothing recorded orders (the fetch step asks git), and stops on cycles left by forced pushes', () => {
    const pushes = [
      { commit: v3, before: v4 },
      { commit: v4, before: v3 },
      { commit: v1, before: ZERO },
    ];
    expect(orderByRecord(push(v0, ZERO), deployed(v3), pushes)).toEqual({ kind: 'queue' });
    expect(orderByRecord(push(v5, v0), deployed(v3), [])).toEqual({ kind: 'queue' });
    // After the branch went back from v4 to v3, v4's push delivered again is older than v3's state.
    expect(orderByRecord(push(v4, v5), deployed(v3), pushes)).toMatchObject({ kind: 'older' });
  });
});
