import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { createServiceRepo, freePort, git, helloConfig, helloEnvironment, type ServiceRepo } from '../setup/service-repo.js';

/*
 * The watch window under recreate, for real: the hello service deployed from a git repository
 * with `health_check.watch: 3s`. A release that stays healthy ends SUCCESS once the window has
 * passed; one whose /health fails from its 4th check on (HEALTH_FAILS_AFTER) passes the health
 * check, fails in the window and is rolled back by itself (ROLLED_BACK), the previous release
 * serving again.
 */

const version = async (port: number) => (await fetch(`http://127.0.0.1:${port}/version`)).text();

describe('the watch window after a recreate deployment', () => {
  let t: TestApp;
  let repo: ServiceRepo;
  let port: number;

  beforeAll(async () => {
    repo = createServiceRepo();
    port = await freePort();
    t = await createTestApp(DIALECTS[0]!, { config: testConfig(helloConfig(helloEnvironment(repo, port, { watch: '3s' }))) });
    await t.app.startWorkers();
  });
  afterAll(async () => {
    await t?.dispose();
    repo?.dispose();
  });

  const deploy = async (commit: string) => {
    const result = await gql(t.app, `mutation($c: String) { deploy(fraise: "hello", environment: "local", commit: $c) { success message plan deployment { id } } }`, { c: commit });
    expect(result.errors).toBeUndefined();
    expect(result.data.deploy.success, result.data.deploy.message).toBe(true);
    expect(result.data.deploy.plan).toEqual(['preflight', 'fetch', 'install', 'restart', 'health_check', 'watch']);
    return waitForEnd(t.app, result.data.deploy.deployment.id, 60_000);
  };
  const progress = async (id: string) => {
    const answer = await gql(t.app, `query($id: ID!) { deployment(id: $id) { progress { step message } } }`, { id });
    return answer.data.deployment.progress as { step: string; message: string | null }[];
  };

  it('a release that stays healthy: SUCCESS after the window, its watch announced and passed', async () => {
    const A = repo.commit('A');
    const deployment = await deploy(A);
    expect(deployment).toMatchObject({ status: 'success', newVersion: A, errorMessage: null });
    const events = await progress(deployment.id);
    expect([...new Set(events.map((e) => e.step))]).toEqual(['preflight', 'fetch', 'install', 'restart', 'health_check', 'watch', 'done']);
    expect(events.find((e) => e.step === 'watch')?.message).toBe('Watching the service for 3 s (a check every 0.2 s; a failed check rolls back)');
    const passed = events.map((e) => e.message ?? '').filter((m) => m.startsWith('Watch passed'));
    expect(passed).toHaveLength(1);
    expect(passed[0]).toMatch(new RegExp(`^Watch passed: the service healthy for \\d+ s \\((\\d+) checks\\): ${A.slice(0, 12)}$`));
    // A check every 0.2 s for 3 s: more than the 3 after which the next release fails.
    expect(Number(/\((\d+) checks\)/.exec(passed[0]!)![1])).toBeGreaterThan(3);
    expect(await version(port)).toBe('A');
    // The fetch recorded the commit's date (where DORA's lead time starts), as git has it.
    const row = await t.app.store.db.selectFrom('tb_deployment').select('commit_time').where('id', '=', Number(deployment.id)).executeTakeFirstOrThrow();
    expect(row.commit_time).toBe(new Date(git(repo.path, 'show', '-s', '--format=%cI', A)).toISOString());
  });

  it('a release that fails in the window: rolled back to the previous one, ROLLED_BACK with the window in its reason', async () => {
    const A = repo.head();
    const B = repo.commit('B', { files: { HEALTH_FAILS_AFTER: '3' } });
    const deployment = await deploy(B);
    expect(deployment).toMatchObject({ status: 'rolled_back', oldVersion: A });
    expect(deployment.errorMessage).toMatch(/^failed in the watch window after \d+ s: HTTP 500$/);
    const events = await progress(deployment.id);
    const steps = events.map((e) => e.step);
    // The health check passed, the watch began, and the rollback came from within it.
    expect(events.some((e) => e.step === 'health_check' && e.message?.startsWith(`Health check passed (HTTP 200) on ${B.slice(0, 12)}`))).toBe(true);
    expect(steps.indexOf('watch')).toBeGreaterThan(steps.indexOf('health_check'));
    expect(steps.indexOf('rollback')).toBeGreaterThan(steps.indexOf('watch'));
    expect(events.map((e) => e.message ?? '')).toContain('watch: the service failed its health check (1/1): HTTP 500');
    expect(events.some((e) => e.message?.startsWith('Watch passed'))).toBe(false);
    expect(events.find((e) => e.step === 'rollback')?.message).toMatch(new RegExp(`^failed in the watch window after \\d+ s: HTTP 500: rolling back to ${A.slice(0, 12)}$`));
    expect(await version(port)).toBe('A');
    expect(readlinkSync(join(repo.appPath, 'current'))).toBe(join(repo.appPath, 'releases', A));
    const status = await gql(t.app, `{ status(fraise: "hello", environment: "local") }`);
    expect(status.data.status).toBe('HEALTHY');
  });
});
