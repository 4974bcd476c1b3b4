import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SteadyLoad } from '../../bench/lib/steady-load.js';
import type { LocalEvent } from '../../src/events/bus.js';
import type { DeploymentProgress } from '../../src/model.js';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd, waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { nginxUnavailable, startNginx, type TestNginx } from '../setup/nginx.js';
import { deployTo, hostPid, hostVersions, rollingConfig, rollingEnvironment, stopHosts, type TestHost, testHosts } from '../setup/rolling.js';
import { createServiceRepo, type ServiceRepo } from '../setup/service-repo.js';
import { sshdUnavailable, startSshd, type TestSshd } from '../setup/sshd.js';

/*
 * Rolling for real: three hosts reached over SSH (the one sshd on 127.0.0.1, each host its own
 * app_path and port, so its own instance of the hello service), Debian's nginx in front of them,
 * the app deploying from a git repository. A steady stream of requests goes through nginx for the
 * whole of each roll: not one fails. `one` rolls a host at a time and meets a release that fails
 * on web2 (its UNHEALTHY_ON), then one cancelled while web2 restarts; `two` rolls "67%" of the
 * hosts, two at a time.
 */

const sqlite = DIALECTS[0]!;
const short = (sha: string) => sha.slice(0, 12);

/** Where the traffic went, event by event, as "name:weight" per host. */
const moves = (events: DeploymentProgress[]) => events.filter((e) => e.traffic).map((e) => e.traffic!.map((s) => `${s.slot}:${s.weight}`).join(' '));
/** The hosts taking requests at each move of the traffic. */
const serving = (events: DeploymentProgress[]) => events.filter((e) => e.traffic).map((e) => e.traffic!.filter((s) => s.weight > 0).map((s) => s.slot));

/** When (performance.now()) this process published each progress event of the deployments. */
function eventTimes(t: TestApp) {
  const events: { deployment: string; at: number; step: string; message: string | null; traffic: boolean }[] = [];
  const stop = t.app.bus.watch((event: LocalEvent) => {
    if (event.type !== 'progress') return;
    const { deploymentId, step, message, traffic } = event.event;
    events.push({ deployment: deploymentId, at: performance.now(), step, message: message ?? null, traffic: traffic !== undefined });
  });
  return { events, stop };
}

describe.skipIf(sshdUnavailable() ?? nginxUnavailable())('rolling over three SSH hosts behind nginx, under a steady load', () => {
  let t: TestApp;
  let repo: ServiceRepo;
  let sshd: TestSshd;
  let one: { nginx: TestNginx; hosts: TestHost[] };
  let two: { nginx: TestNginx; hosts: TestHost[] };
  /** Two hosts, the second with an app_path it cannot make. */
  let three: TestHost[];
  /** What `one` runs once its first roll is done. */
  let oneVersion: string;

  beforeAll(async () => {
    sshd = await startSshd();
    repo = createServiceRepo();
    const oneHosts = await testHosts(repo, 'one');
    const twoHosts = await testHosts(repo, 'two', 3, oneHosts.map((h) => h.port));
    one = { hosts: oneHosts, nginx: await startNginx({ initialPort: oneHosts[0]!.port }) };
    two = { hosts: twoHosts, nginx: await startNginx({ initialPort: twoHosts[0]!.port }) };
    three = (await testHosts(repo, 'three', 2, [...oneHosts, ...twoHosts].map((h) => h.port))).map((h, i) => (i === 1 ? { ...h, appPath: '/proc/fraisier-cannot-be-here' } : h));
    const config = rollingConfig(
      rollingEnvironment('one', repo, sshd, one.nginx, one.hosts, '1') +
        rollingEnvironment('two', repo, sshd, two.nginx, two.hosts, '"67%"') +
        rollingEnvironment('three', repo, sshd, one.nginx, three, '1'),
    );
    t = await createTestApp(sqlite, { config: testConfig(config) });
    await t.app.startWorkers();
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
    await one?.nginx.stop();
    await two?.nginx.stop();
    if (repo) stopHosts(repo, [...(one?.hosts ?? []), ...(two?.hosts ?? [])]);
    repo?.dispose();
    await sshd?.stop();
  });

  it('puts every host on the first release, one at a time, each into the upstream once checked', { timeout: 180_000 }, async () => {
    const A = repo.commit('A');
    oneVersion = A;
    const first = await deployTo(t, 'one', A);
    expect([first.status, first.errorMessage]).toEqual(['success', null]);
    expect(first.newVersion).toBe(A);
    expect(await hostVersions(one.hosts)).toEqual({ web1: 'A', web2: 'A', web3: 'A' });
    const progress = await t.app.services.queries.progress(first.id);
    // Nothing served before: no host to take out, each joins the upstream in turn.
    expect(progress.some((e) => e.step === 'take_out')).toBe(false);
    expect(serving(progress)).toEqual([['web1'], ['web1', 'web2'], ['web1', 'web2', 'web3']]);
    for (const host of one.hosts) {
      expect(readlinkSync(join(host.appPath, 'current'))).toBe(join(host.appPath, 'releases', A));
      // Its commands ran with FRAISIER_HOST and FRAISIER_PORT.
      expect(readFileSync(join(host.appPath, 'releases', A, 'installed'), 'utf8')).toBe(`${host.name} ${host.port}`);
      expect(JSON.parse(readFileSync(join(host.appPath, 'current', 'version.json'), 'utf8'))).toMatchObject({ commit: A, deployment_id: first.id, kind: 'deploy' });
    }
    const upstream = readFileSync(one.nginx.upstreamFile, 'utf8');
    for (const host of one.hosts) expect(upstream).toContain(`server 127.0.0.1:${host.port} weight=`);
    expect(await (await fetch(`${one.nginx.url}/version`)).text()).toBe('A');
  });

  it('stops at the host that fails, rolls every updated host back, and loses no request', { timeout: 240_000 }, async ({ annotate }) => {
    const A = oneVersion;
    const web3Pid = hostPid(one.hosts[2]!);
    const times = eventTimes(t);
    const load = new SteadyLoad(`${one.nginx.url}/version`, { ratePerSecond: 100, clients: 8 });
    load.start();
    await waitUntil(() => load.records.length >= 50, { what: 'the load to run', timeoutMs: 30_000 });

    const B = repo.commit('B', { files: { UNHEALTHY_ON: 'web2\n' } });
    const rolled = await deployTo(t, 'one', B);

    const settled = load.records.length;
    await waitUntil(() => load.records.length >= settled + 50, { what: 'more requests after the roll', timeoutMs: 30_000 });
    const records = await load.stop();
    times.stop();

    const [web1, web2, web3] = one.hosts as [TestHost, TestHost, TestHost];
    expect(rolled.status).toBe('rolled_back');
    expect(rolled.errorMessage).toBe(`health check of web2 (127.0.0.1:${web2.port}) failed: HTTP 500; web2 and web1 run ${short(A)} again`);
    // Every updated host runs A again; web3 was never restarted.
    expect(await hostVersions(one.hosts)).toEqual({ web1: 'A', web2: 'A', web3: 'A' });
    for (const host of one.hosts) expect(readlinkSync(join(host.appPath, 'current'))).toBe(join(host.appPath, 'releases', A));
    expect(hostPid(web3)).toBe(web3Pid);
    // B was made ready on every host before the roll (fetched, installed), beside what ran.
    expect(existsSync(join(web3.appPath, 'releases', B, 'installed'))).toBe(true);

    // One host out at a time: web1 out, back on B; web2 out, fails; web2 back on A; web1 out, back on A.
    const progress = await t.app.services.queries.progress(rolled.id);
    expect(serving(progress)).toEqual([
      ['web2', 'web3'],
      ['web1', 'web2', 'web3'],
      ['web1', 'web3'],
      ['web1', 'web2', 'web3'],
      ['web2', 'web3'],
      ['web1', 'web2', 'web3'],
    ]);
    const versions = progress.filter((e) => e.traffic).map((e) => e.traffic!.map((s) => `${s.slot}:${s.version === A ? 'A' : s.version === B ? 'B' : s.version}`).join(' '));
    expect(versions).toEqual([
      'web1:A web2:A web3:A',
      'web1:B web2:A web3:A',
      'web1:B web2:A web3:A',
      'web1:B web2:A web3:A',
      'web1:B web2:A web3:A',
      'web1:A web2:A web3:A',
    ]);
    expect(moves(progress)[0]).toBe('web1:0 web2:50 web3:50');
    expect(moves(progress)[1]).toBe('web1:34 web2:33 web3:33');
    const messages = progress.map((e) => e.message);
    expect(messages).toContain(`batch 1/3: taking web1 out of the upstream through nginx (${one.nginx.upstreamFile})`);
    expect(messages).toContain(`batch 2/3: taking web2 out of the upstream through nginx (${one.nginx.upstreamFile})`);
    expect(messages.some((m) => m?.startsWith('batch 3/3'))).toBe(false);
    expect(messages).toContain(`web1: healthy (HTTP 200) on ${short(B)}`);
    expect(messages).toContain(`web2: back on ${short(A)}, healthy (HTTP 200)`);
    expect(messages).toContain(`web1: back on ${short(A)}, healthy (HTTP 200)`);
    // The migrations' host (the first of the roll) is prepared last, once every other host is ready.
    const fetched = [...new Set(progress.filter((e) => e.step === 'fetch').map((e) => e.message?.split(':')[0]))];
    expect(fetched).toEqual(['web2', 'web3', 'web1']);

    // Not one request failed (a request sent again on a new connection, after nginx closed a kept-alive one, is counted apart).
    const summary = load.summary();
    await annotate(`through nginx: ${summary.total} requests, ${summary.failed} failed, ${summary.retried} sent again on a new connection`);
    expect(summary.failures).toEqual({});
    expect(summary.failed).toBe(0);
    expect(summary.total).toBeGreaterThan(100);
    // B answered only while web1 ran it in the upstream: from its put_back to its taking out in the rollback.
    const mine = times.events.filter((e) => e.deployment === rolled.id);
    const webOneIn = mine.find((e) => e.step === 'put_back')!.at;
    const webOneOut = mine.filter((e) => e.traffic).at(-2)!.at;
    expect(records.filter((r) => r.body === 'B' && (r.end < webOneIn || r.start > webOneOut))).toEqual([]);
    expect(records.some((r) => r.body === 'B')).toBe(true);
  });

  it('rolls "67%" of three hosts two at a time, under load', { timeout: 240_000 }, async ({ annotate }) => {
    // UNHEALTHY_ON emptied: every host healthy again.
    const A = repo.commit('A2', { files: { UNHEALTHY_ON: '' } });
    const first = await deployTo(t, 'two', A);
    expect([first.status, first.errorMessage]).toEqual(['success', null]);
    const load = new SteadyLoad(`${two.nginx.url}/version`, { ratePerSecond: 100, clients: 8 });
    load.start();
    await waitUntil(() => load.records.length >= 50, { what: 'the load to run', timeoutMs: 30_000 });

    const B = repo.commit('B2');
    const deployed = await deployTo(t, 'two', B);
    const settled = load.records.length;
    await waitUntil(() => load.records.length >= settled + 50, { what: 'more requests after the roll', timeoutMs: 30_000 });
    await load.stop();

    expect(deployed).toMatchObject({ status: 'success', newVersion: B, oldVersion: A });
    expect(await hostVersions(two.hosts)).toEqual({ web1: 'B2', web2: 'B2', web3: 'B2' });
    const progress = await t.app.services.queries.progress(deployed.id);
    expect(serving(progress)).toEqual([['web3'], ['web1', 'web2', 'web3'], ['web1', 'web2'], ['web1', 'web2', 'web3']]);
    expect(progress.map((e) => e.message)).toContain(`Rolling ${short(B)} over 3 hosts, 2 at a time: web1 and web2, then web3`);
    const summary = load.summary();
    await annotate(`through nginx: ${summary.total} requests, ${summary.failed} failed, ${summary.retried} sent again on a new connection`);
    expect(summary.failures).toEqual({});
    expect(summary.failed).toBe(0);
  });

  it('rolls the switched hosts back when cancelled mid-roll, and ends CANCELLED', { timeout: 240_000 }, async ({ annotate }) => {
    const A = oneVersion;
    const web3Pid = hostPid(one.hosts[2]!);
    const load = new SteadyLoad(`${one.nginx.url}/version`, { ratePerSecond: 100, clients: 8 });
    load.start();
    await waitUntil(() => load.records.length >= 50, { what: 'the load to run', timeoutMs: 30_000 });
    // C's restart never returns on web2: the deployment is cancelled there, web1 already on C.
    const restart = readFileSync('examples/hello-service/bin/restart', 'utf8').replace(/\n/, "\nif (process.env.FRAISIER_HOST === 'web2') await new Promise(() => setInterval(() => {}, 1000));\n");
    const C = repo.commit('C', { files: { UNHEALTHY_ON: '', 'bin/restart': restart } });
    const result = await gql(t.app, `mutation($c: String) { deploy(fraise: "hello", environment: "one", commit: $c) { deployment { id } } }`, { c: C });
    const id = result.data.deploy.deployment.id as string;
    await waitUntil(async () => (await t.app.services.queries.progress(id)).some((e) => e.message === `web2: switching to ${short(C)} and restarting`), { what: 'web2 to restart', timeoutMs: 180_000 });
    await gql(t.app, `mutation($id: ID!) { cancelDeployment(id: $id) { id } }`, { id });
    const ended = await waitForEnd(t.app, id, 120_000);
    const settled = load.records.length;
    await waitUntil(() => load.records.length >= settled + 50, { what: 'more requests after the roll', timeoutMs: 30_000 });
    await load.stop();

    expect(ended.status).toBe('cancelled');
    expect(await hostVersions(one.hosts)).toEqual({ web1: 'A', web2: 'A', web3: 'A' });
    expect(hostPid(one.hosts[2]!)).toBe(web3Pid);
    const progress = await t.app.services.queries.progress(id);
    expect(serving(progress)).toEqual([
      ['web2', 'web3'],
      ['web1', 'web2', 'web3'],
      ['web1', 'web3'],
      ['web1', 'web2', 'web3'],
      ['web2', 'web3'],
      ['web1', 'web2', 'web3'],
    ]);
    expect(progress.map((e) => e.message)).toContain(`The roll stopped; web2 and web1 run ${short(A)} again`);
    const summary = load.summary();
    await annotate(`through nginx: ${summary.total} requests, ${summary.failed} failed, ${summary.retried} sent again on a new connection`);
    expect(summary.failures).toEqual({});
  });

  it('fails before anything changes when a host cannot be prepared, naming it', { timeout: 120_000 }, async () => {
    const failed = await deployTo(t, 'three', repo.head());
    expect(failed.status).toBe('failed');
    expect(failed.errorMessage).toMatch(new RegExp(`^web2: cannot prepare /proc/fraisier-cannot-be-here on ${sshd.user}@127\\.0\\.0\\.1:${sshd.port}: `));
    // web1 passed its preflight, then let its lock go; nothing was fetched there.
    expect(existsSync(join(three[0]!.appPath, 'releases'))).toBe(true);
    expect(readdirSync(join(three[0]!.appPath, 'releases'))).toEqual([]);
    expect(readdirSync(three[0]!.appPath).filter((name) => name.startsWith('.fraisier-lock'))).toEqual([]);
  });
});
