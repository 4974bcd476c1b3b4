import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadRecord, SteadyLoad } from '../../bench/lib/steady-load.js';
import type { LocalEvent } from '../../src/events/bus.js';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { nginxUnavailable, startNginx, type TestNginx } from '../setup/nginx.js';
import { blueGreenConfig, deploy, slotPorts } from '../setup/blue-green.js';
import { createServiceRepo, type ServiceRepo } from '../setup/service-repo.js';

/*
 * Blue-green on this machine, for real: Debian's nginx in front of two slots of the hello
 * service (each its own process on its own port), deployed by the app from a git repository.
 * A steady stream of requests goes through nginx for the whole of A → B, an unhealthy C that
 * never takes traffic, and a D that passes its first check but fails in the watch window and
 * is switched back: not one request fails, and the version answered changes at each switch only.
 */

const sqlite = DIALECTS[0]!;
const short = (sha: string) => sha.slice(0, 12);

const served = async (nginx: TestNginx) => (await fetch(`${nginx.url}/version`)).text();

/** When (performance.now()) this process published each deployment's switch steps and traffic moves. */
function switchTimes(t: TestApp) {
  const events: { deployment: string; at: number; step: string; traffic: boolean }[] = [];
  const stop = t.app.bus.watch((event: LocalEvent) => {
    if (event.type !== 'progress') return;
    const { deploymentId, step, traffic } = event.event;
    if (step === 'switch' || step === 'rollback' || traffic) events.push({ deployment: deploymentId, at: performance.now(), step, traffic: traffic !== undefined });
  });
  return { events, stop };
}

describe.skipIf(nginxUnavailable())('blue-green behind nginx, under a steady load', () => {
  let t: TestApp;
  let repo: ServiceRepo;
  let nginx: TestNginx;
  let ports: [number, number];

  beforeAll(async () => {
    repo = createServiceRepo();
    ports = await slotPorts();
    nginx = await startNginx({ initialPort: ports[0] });
    t = await createTestApp(sqlite, { config: testConfig(blueGreenConfig(repo, nginx, ports, { watch: '2s' })) });
    await t.app.startWorkers();
  });
  afterAll(async () => {
    await t?.dispose();
    await nginx?.stop();
    repo?.dispose();
  });

  it('loses no request through A → B, an unhealthy C and a D switched back in its watch window; the version changes at the switches only', async () => {
    const A = repo.commit('A');
    const first = await deploy(t, A);
    expect(first).toMatchObject({ status: 'success', newVersion: A });
    expect(await served(nginx)).toBe('A');
    expect(readlinkSync(join(repo.appPath, 'slots', 'live'))).toBe('blue');
    expect(readlinkSync(join(repo.appPath, 'slots', 'blue'))).toBe(join(repo.appPath, 'releases', A));

    const times = switchTimes(t);
    const load = new SteadyLoad(`${nginx.url}/version`, { ratePerSecond: 100, clients: 8 });
    load.start();
    await waitUntil(() => load.records.length >= 50, { what: 'the load to run', timeoutMs: 30_000 });

    const B = repo.commit('B');
    const second = await deploy(t, B);
    expect(second).toMatchObject({ status: 'success', newVersion: B, oldVersion: A });
    expect(readlinkSync(join(repo.appPath, 'slots', 'live'))).toBe('green');
    expect(readlinkSync(join(repo.appPath, 'current'))).toBe(join(repo.appPath, 'releases', B));

    const C = repo.commit('C', { healthy: false });
    const third = await deploy(t, C);
    expect(third.status).toBe('failed');
    expect(third.errorMessage).toMatch(new RegExp(`^health check of slot blue \\(port ${ports[0]}\\) failed: HTTP 500; the traffic stays on slot green \\(${short(B)}\\)$`));

    const D = repo.commit('D', { files: { HEALTH_FAILS_AFTER: '3' } });
    const fourth = await deploy(t, D);
    expect(fourth.status).toBe('rolled_back');
    expect(fourth.errorMessage).toMatch(/^failed in the watch window after \d+ s: HTTP 500$/);
    expect(readlinkSync(join(repo.appPath, 'slots', 'live'))).toBe('green');

    const settled = load.records.length;
    await waitUntil(() => load.records.length >= settled + 50, { what: 'more requests after the last deployment', timeoutMs: 30_000 });
    const records = await load.stop();
    times.stop();

    // Not one request failed.
    const summary = load.summary();
    expect(summary.failures).toEqual({});
    expect(summary.failed).toBe(0);
    expect(summary.total).toBeGreaterThan(100);
    expect(records.filter((r) => r.body === 'C')).toEqual([]);

    // Each switch: before it began, the old version only; once it was done, the new one only.
    const windows = [
      { id: second.id, from: 'A', to: 'B', start: 'switch' },
      { id: fourth.id, from: 'B', to: 'D', start: 'switch' },
      { id: fourth.id, from: 'D', to: 'B', start: 'rollback' },
    ].map((w) => {
      const mine = times.events.filter((e) => e.deployment === w.id);
      const begin = mine.find((e) => e.step === w.start)!.at;
      const end = mine.find((e) => e.traffic && e.at >= begin)!.at;
      return { ...w, begin, end };
    });
    const phases: { version: string; from: number; to: number }[] = [
      { version: 'A', from: -Infinity, to: windows[0]!.begin },
      { version: 'B', from: windows[0]!.end, to: windows[1]!.begin },
      { version: 'D', from: windows[1]!.end, to: windows[2]!.begin },
      { version: 'B', from: windows[2]!.end, to: Infinity },
    ];
    for (const phase of phases) {
      const inPhase = records.filter((r) => r.start > phase.from && r.start < phase.to);
      expect(inPhase.filter((r) => r.body !== phase.version).map((r) => r.body), `requests started while ${phase.version} took the traffic`).toEqual([]);
    }
    for (const w of windows) {
      // During nginx's reload its old and new workers both accept (for 100 ms, by design): either version.
      const during = records.filter((r) => r.start >= w.begin && r.start <= w.end);
      expect(during.filter((r) => r.body !== w.from && r.body !== w.to)).toEqual([]);
    }
    // Outside the reloads, the versions answered, in the order the requests started, change at the switches only.
    const outside = records.filter((r) => !windows.some((w) => r.start >= w.begin && r.start <= w.end));
    const runs = outside.map((r) => r.body).filter((body, i, all) => i === 0 || all[i - 1] !== body);
    expect(runs[0]).toBe('A');
    expect(runs.slice(0, 2)).toEqual(['A', 'B']);
    expect(['A,B,D,B', 'A,B']).toContain(runs.join(','));
  });

  it('streams each phase, naming slot, port and version, and records where the traffic went', async () => {
    const { data } = await gql(t.app, `{ deployments(fraise: "hello", limit: 4) { id status newVersion gitCommit } }`);
    const [rolledBack, failed, success] = data.deployments as { id: string; status: string; gitCommit: string }[];
    const progressOf = async (id: string) =>
      (await gql(t.app, `query($id: ID!) { deployment(id: $id) { progress { step message traffic { slot port version weight } } } }`, { id })).data.deployment.progress as {
        step: string;
        message: string;
        traffic: { slot: string; port: number; version: string | null; weight: number }[] | null;
      }[];
    const B = success!.gitCommit;
    const ok = await progressOf(success!.id);
    expect([...new Set(ok.map((e) => e.step))]).toEqual(['preflight', 'fetch', 'install', 'start', 'health_check', 'switch', 'watch', 'drain', 'stop_previous', 'done']);
    const messages = ok.map((e) => e.message);
    expect(messages).toContain(`Starting ${short(B)} in slot green (port ${ports[1]})`);
    expect(messages).toContain(`Slot green started on port ${ports[1]}: ${short(B)}`);
    expect(messages).toContain(`Slot green healthy on port ${ports[1]} (HTTP 200): ${short(B)}`);
    expect(messages.some((m) => /^Watch passed: slot green healthy for \d+ s \(\d+ checks?\)/.test(m))).toBe(true);
    expect(messages.some((m) => /^Slot blue drained in \d+\.\d s/.test(m))).toBe(true);
    expect(messages).toContain('Slot blue stopped');
    const moved = ok.filter((e) => e.traffic);
    expect(moved).toHaveLength(1);
    expect(moved[0]!.traffic).toEqual([
      { slot: 'green', port: ports[1], version: B, weight: 100 },
      { slot: 'blue', port: ports[0], version: expect.stringMatching(/^[0-9a-f]{40}$/), weight: 0 },
    ]);

    const refused = await progressOf(failed!.id);
    expect(refused.some((e) => e.step === 'switch' || e.traffic)).toBe(false);
    expect(refused.map((e) => e.message)).toContain('Slot blue stopped');

    const back = await progressOf(rolledBack!.id);
    expect(back.filter((e) => e.traffic).map((e) => e.traffic!.map((s) => `${s.slot}:${s.weight}`).join(' '))).toEqual(['blue:100 green:0', 'green:100 blue:0']);
    expect(back.map((e) => e.step)).toContain('rollback');
    // The slot that failed is stopped, its pid file gone.
    expect(existsSync(join(repo.appPath, 'shared', 'app-blue.pid'))).toBe(false);
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toContain(`server 127.0.0.1:${ports[1]} weight=100;`);
  });
});
