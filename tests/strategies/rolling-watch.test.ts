import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentProgress } from '../../src/model.js';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd, waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { nginxUnavailable, startNginx, type TestNginx } from '../setup/nginx.js';
import { deployTo, hostPid, hostVersions, rollingConfig, rollingEnvironment, stopHosts, type TestHost, testHosts } from '../setup/rolling.js';
import { createServiceRepo, type ServiceRepo } from '../setup/service-repo.js';
import { sshdUnavailable, startSshd, type TestSshd } from '../setup/sshd.js';

/*
 * The watch window of a rolling deployment, for real: three SSH hosts behind Debian's nginx (as
 * in rolling.test.ts). `brief` watches for 2 s: a roll whose hosts stay healthy ends SUCCESS once
 * the window has passed. `long` watches for 10 minutes, so that only a failure or a cancel ends
 * its window: web2's instance killed once the window is open rolls every host back (ROLLED_BACK),
 * and a cancel in the window does too (CANCELLED).
 */

const short = (sha: string) => sha.slice(0, 12);
/** The hosts taking requests at each move of the traffic. */
const serving = (events: DeploymentProgress[]) => events.filter((e) => e.traffic).map((e) => e.traffic!.filter((s) => s.weight > 0).map((s) => s.slot));

describe.skipIf(sshdUnavailable() ?? nginxUnavailable())('the watch window of a rolling deployment over three SSH hosts behind nginx', () => {
  let t: TestApp;
  let repo: ServiceRepo;
  let sshd: TestSshd;
  let brief: { nginx: TestNginx; hosts: TestHost[] };
  let long: { nginx: TestNginx; hosts: TestHost[] };
  /** What `long` runs once its first deployment is cancelled (each host keeps it). */
  let longA: string;

  beforeAll(async () => {
    sshd = await startSshd();
    repo = createServiceRepo();
    const briefHosts = await testHosts(repo, 'brief');
    const longHosts = await testHosts(repo, 'long', 3, briefHosts.map((h) => h.port));
    brief = { hosts: briefHosts, nginx: await startNginx({ initialPort: briefHosts[0]!.port }) };
    long = { hosts: longHosts, nginx: await startNginx({ initialPort: longHosts[0]!.port }) };
    const config = rollingConfig(
      rollingEnvironment('brief', repo, sshd, brief.nginx, brief.hosts, '1', { watch: '2s' }) + rollingEnvironment('long', repo, sshd, long.nginx, long.hosts, '1', { watch: '10m' }),
    );
    t = await createTestApp(DIALECTS[0]!, { config: testConfig(config) });
    await t.app.startWorkers();
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
    await brief?.nginx.stop();
    await long?.nginx.stop();
    if (repo) stopHosts(repo, [...(brief?.hosts ?? []), ...(long?.hosts ?? [])]);
    repo?.dispose();
    await sshd?.stop();
  });

  const progress = (id: string) => t.app.services.queries.progress(id);
  /** Starts a deployment; its id and the steps it plans. */
  const start = async (environment: string, commit: string): Promise<{ id: string; plan: string[] }> => {
    const result = await gql(t.app, `mutation($e: String!, $c: String) { deploy(fraise: "hello", environment: $e, commit: $c) { plan deployment { id } } }`, { e: environment, c: commit });
    expect(result.errors).toBeUndefined();
    return { id: result.data.deploy.deployment.id as string, plan: result.data.deploy.plan as string[] };
  };
  const watching = (id: string) => waitUntil(async () => (await progress(id)).some((e) => e.step === 'watch'), { what: 'the watch window to open', timeoutMs: 180_000 });
  const cancel = (id: string) => gql(t.app, `mutation($id: ID!) { cancelDeployment(id: $id) { id } }`, { id });
  /** What nginx answers, enough times to reach every host of its upstream. */
  const throughNginx = async (nginx: TestNginx) => new Set(await Promise.all(Array.from({ length: 12 }, async () => (await fetch(`${nginx.url}/version`)).text())));
  const upstreamPorts = (nginx: TestNginx) => [...readFileSync(nginx.upstreamFile, 'utf8').matchAll(/server 127\.0\.0\.1:(\d+) weight=\d+;/g)].map((m) => Number(m[1])).sort();

  it('a roll whose hosts stay healthy through the window: SUCCESS once it has passed', { timeout: 240_000 }, async () => {
    const A = repo.commit('A');
    const first = await deployTo(t, 'brief', A);
    expect([first.status, first.errorMessage]).toEqual(['success', null]);

    const B = repo.commit('B');
    const started = await start('brief', B);
    // The plan announces the watch, after the last host is back.
    expect(started.plan.slice(-3)).toEqual(['health_check', 'put_back', 'watch']);
    const rolled = await waitForEnd(t.app, started.id, 180_000);
    expect(rolled).toMatchObject({ status: 'success', newVersion: B, oldVersion: A, errorMessage: null });
    expect(await hostVersions(brief.hosts)).toEqual({ web1: 'B', web2: 'B', web3: 'B' });

    const events = await progress(rolled.id);
    const steps = events.map((e) => e.step);
    // The window opens once the last host is back in the upstream, and the deployment ends after it.
    expect(steps.indexOf('watch')).toBeGreaterThan(steps.lastIndexOf('put_back'));
    expect(steps.at(-1)).toBe('done');
    expect(events.find((e) => e.step === 'watch')?.message).toBe('Watching the environment for 2 s (a check every 0.2 s; a failed check rolls every host back)');
    const passed = events.map((e) => e.message ?? '').filter((m) => m.startsWith('Watch passed'));
    expect(passed).toHaveLength(1);
    expect(passed[0]).toMatch(new RegExp(`^Watch passed: the environment healthy for \\d+ s \\(\\d+ checks\\): ${short(B)}$`));
    expect(Number(/\((\d+) checks\)/.exec(passed[0]!)![1])).toBeGreaterThan(1);
    expect(steps).not.toContain('rollback');
    expect(await throughNginx(brief.nginx)).toEqual(new Set(['B']));
  });

  it('cancelled in the window of a first deployment: the hosts keep the release they ran nothing before', { timeout: 240_000 }, async () => {
    const A = repo.commit('A-long');
    longA = A;
    const { id } = await start('long', A);
    await watching(id);
    await cancel(id);
    const ended = await waitForEnd(t.app, id, 120_000);
    expect(ended.status).toBe('cancelled');
    // Nothing to go back to: each host keeps A, in the upstream.
    expect(await hostVersions(long.hosts)).toEqual({ web1: 'A-long', web2: 'A-long', web3: 'A-long' });
    expect((await progress(id)).map((e) => e.message)).toContain('The roll stopped; web1, web2 and web3 ran nothing before: they keep ' + short(A) + ', in the upstream');
  });

  it('a host that dies in the window: every host back on the previous release, ROLLED_BACK with the window in its reason', { timeout: 240_000 }, async () => {
    const A = longA;
    const B = repo.commit('B-long');
    const { id } = await start('long', B);
    await watching(id);
    const [web1, web2, web3] = long.hosts as [TestHost, TestHost, TestHost];
    // Every host passed its check and is back in the upstream, on B: web2 dies.
    expect(await hostVersions(long.hosts)).toEqual({ web1: 'B-long', web2: 'B-long', web3: 'B-long' });
    process.kill(Number(hostPid(web2)), 'SIGKILL');
    const ended = await waitForEnd(t.app, id, 180_000);

    expect(ended).toMatchObject({ status: 'rolled_back' });
    expect(ended.errorMessage).toMatch(new RegExp(`^failed in the watch window after \\d+ s: web2: http://127\\.0\\.0\\.1:${web2.port}/health.*; web2, web3 and web1 run ${short(A)} again$`));
    expect(await hostVersions(long.hosts)).toEqual({ web1: 'A-long', web2: 'A-long', web3: 'A-long' });
    for (const host of long.hosts) expect(readlinkSync(join(host.appPath, 'current'))).toBe(join(host.appPath, 'releases', A));
    // nginx sends the requests to every host again, each answering A.
    expect(upstreamPorts(long.nginx)).toEqual([web1.port, web2.port, web3.port].sort());
    expect(await throughNginx(long.nginx)).toEqual(new Set(['A-long']));

    const events = await progress(id);
    const steps = events.map((e) => e.step);
    expect(steps.indexOf('watch')).toBeGreaterThan(steps.lastIndexOf('put_back'));
    expect(steps.indexOf('rollback')).toBeGreaterThan(steps.indexOf('watch'));
    const messages = events.map((e) => e.message ?? '');
    expect(messages.some((m) => m.startsWith('watch: the environment failed its health check (1/1): web2: '))).toBe(true);
    expect(messages.some((m) => m.startsWith('Watch passed'))).toBe(false);
    expect(messages.some((m) => /^failed in the watch window after \d+ s: web2: .*: web1, web2 and web3 go back to what they ran$/.test(m))).toBe(true);
    // The roll, one host at a time; then web2 (failing) out first, back on A; then web3, then web1.
    expect(serving(events)).toEqual([
      ['web2', 'web3'],
      ['web1', 'web2', 'web3'],
      ['web1', 'web3'],
      ['web1', 'web2', 'web3'],
      ['web1', 'web2'],
      ['web1', 'web2', 'web3'],
      ['web1', 'web3'],
      ['web1', 'web2', 'web3'],
      ['web1', 'web2'],
      ['web1', 'web2', 'web3'],
      ['web2', 'web3'],
      ['web1', 'web2', 'web3'],
    ]);
    for (const host of ['web2', 'web3', 'web1']) expect(messages).toContain(`${host}: back on ${short(A)}, healthy (HTTP 200)`);
  });

  it('cancelled in the window: every host back on the previous release, CANCELLED', { timeout: 240_000 }, async () => {
    const A = longA;
    const C = repo.commit('C-long');
    const { id } = await start('long', C);
    await watching(id);
    expect(await hostVersions(long.hosts)).toEqual({ web1: 'C-long', web2: 'C-long', web3: 'C-long' });
    await cancel(id);
    const ended = await waitForEnd(t.app, id, 180_000);

    expect(ended.status).toBe('cancelled');
    expect(await hostVersions(long.hosts)).toEqual({ web1: 'A-long', web2: 'A-long', web3: 'A-long' });
    expect(await throughNginx(long.nginx)).toEqual(new Set(['A-long']));
    const messages = (await progress(id)).map((e) => e.message ?? '');
    expect(messages).toContain('cancelled in the watch window: web1, web2 and web3 go back to what they ran');
    expect(messages).toContain(`The roll stopped; web3, web2 and web1 run ${short(A)} again`);
  });
});
