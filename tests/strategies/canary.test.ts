import { existsSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadRecord, SteadyLoad } from '../../bench/lib/steady-load.js';
import type { LocalEvent } from '../../src/events/bus.js';
import type { TrafficShare } from '../../src/model.js';
import { canaryConfig, deploy, slotPorts } from '../setup/blue-green.js';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd, waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { nginxUnavailable, startNginx, type TestNginx } from '../setup/nginx.js';
import { createServiceRepo, type ServiceRepo } from '../setup/service-repo.js';

/*
 * Canary on this machine, for real: Debian's nginx in front of two slots of the hello service,
 * logging every request in the format canary analysis reads, and a steady stream of requests
 * through it. A release promoted through 10, 50 and 100% (the versions answered shift with the
 * weights), one whose requests answer 500 while its health check passes (aborted by its error
 * rate at 10%: ROLLED_BACK with the figures, not one 500 after the weights went back), and a
 * canary held until promoted: paused, resumed, promoted over GraphQL; then, with no traffic at
 * all, held as inconclusive and cancelled. No request fails but the broken canary's own 500s.
 */

const sqlite = DIALECTS[0]!;
const short = (sha: string) => sha.slice(0, 12);

interface Moved {
  deployment: string;
  at: number;
  step: string;
  traffic?: TrafficShare[];
}

/** When (performance.now()) this process published each deployment's steps and moves of traffic. */
function watchSteps(t: TestApp) {
  const events: Moved[] = [];
  const stop = t.app.bus.watch((event: LocalEvent) => {
    if (event.type !== 'progress') return;
    const { deploymentId, step, traffic } = event.event;
    events.push({ deployment: deploymentId, at: performance.now(), step, ...(traffic ? { traffic } : {}) });
  });
  return { events, stop };
}

const weights = (shares: TrafficShare[] | undefined) => shares?.map((s) => `${s.slot}:${s.weight}`).join(' ');

/** The bodies answered by the requests that started in [from, to). */
const servedBetween = (records: LoadRecord[], from: number, to: number) => records.filter((r) => r.start >= from && r.start < to);

const DEPLOYMENT = `query($id: ID!) { deployment(id: $id) { id status pausedUntil pauseMessage promoted errorMessage } }`;
const act = (mutation: string) => `mutation($id: ID!) { ${mutation}(id: $id) { id status promoted } }`;

describe.skipIf(nginxUnavailable())('canary behind nginx, under a steady load', () => {
  let t: TestApp;
  let repo: ServiceRepo;
  let nginx: TestNginx;
  let ports: [number, number];
  let load: SteadyLoad;
  let steps: ReturnType<typeof watchSteps>;
  const commits: Record<string, string> = {};
  const timed = () => canaryConfig(repo, nginx, ports, { pause: '1.5s', analysis: { minRequests: 5, interval: '0.3s' } });
  const held = () => canaryConfig(repo, nginx, ports, { pause: 'until_promoted', analysis: { minRequests: 5, interval: '0.3s' } });

  const startApp = async (yaml: string) => {
    t = await createTestApp(sqlite, { config: testConfig(yaml) });
    await t.app.startWorkers();
    steps = watchSteps(t);
  };
  const queue = async (commit: string) => {
    const result = await gql(t.app, `mutation($c: String) { deploy(fraise: "hello", environment: "local", commit: $c) { success message deployment { id } } }`, { c: commit });
    expect(result.data.deploy.success, result.data.deploy.message).toBe(true);
    return result.data.deploy.deployment.id as string;
  };
  const read = async (id: string) => (await gql(t.app, DEPLOYMENT, { id })).data.deployment;
  const heldAt = (id: string, message: RegExp) =>
    waitUntil(async () => {
      const d = await read(id);
      return d.status === 'PAUSED' && message.test(d.pauseMessage) ? d : undefined;
    }, { what: `deployment ${id} held (${message})`, timeoutMs: 60_000 });
  const progressOf = async (id: string) =>
    (await gql(t.app, `query($id: ID!) { deployment(id: $id) { progress { step message traffic { slot port version weight } } } }`, { id })).data.deployment.progress as {
      step: string;
      message: string;
      traffic: TrafficShare[] | null;
    }[];
  const mine = (id: string) => steps.events.filter((e) => e.deployment === id);
  const moves = (id: string) => mine(id).filter((e) => e.traffic);

  beforeAll(async () => {
    repo = createServiceRepo();
    ports = await slotPorts();
    nginx = await startNginx({ initialPort: ports[0], accessLog: true });
    await startApp(timed());
    load = new SteadyLoad(`${nginx.url}/version`, { ratePerSecond: 100, clients: 8 });
  });
  afterAll(async () => {
    await load?.stop();
    steps?.stop();
    await t?.dispose();
    await nginx?.stop();
    repo?.dispose();
  });

  it('promotes a canary through 10, 50 and 100%: the traffic field shows each weight, the versions answered follow', { timeout: 120_000 }, async () => {
    commits.A = repo.commit('A');
    const first = await deploy(t, commits.A);
    // Nothing served before: no canary to compare with, all the traffic at once.
    expect(first).toMatchObject({ status: 'success', newVersion: commits.A });
    expect(readlinkSync(join(repo.appPath, 'slots', 'live'))).toBe('blue');

    load.start();
    await waitUntil(() => load.records.length >= 50, { what: 'the load to run', timeoutMs: 30_000 });
    commits.B = repo.commit('B');
    const second = await deploy(t, commits.B);
    expect(second).toMatchObject({ status: 'success', newVersion: commits.B, oldVersion: commits.A });
    expect(readlinkSync(join(repo.appPath, 'slots', 'live'))).toBe('green');
    expect(readlinkSync(join(repo.appPath, 'current'))).toBe(join(repo.appPath, 'releases', commits.B));
    const settled = load.records.length;
    await waitUntil(() => load.records.length >= settled + 50, { what: 'requests after the canary', timeoutMs: 30_000 });

    const moved = moves(second.id);
    expect(moved.map((e) => weights(e.traffic))).toEqual(['blue:90 green:10', 'blue:50 green:50', 'blue:0 green:100']);
    expect(moved[0]!.traffic).toEqual([
      { slot: 'blue', port: ports[0], version: commits.A, weight: 90 },
      { slot: 'green', port: ports[1], version: commits.B, weight: 10 },
    ]);
    // Each step's requests: started once its weights were applied, before the next step began.
    const next = (after: number, step: string) => mine(second.id).find((e) => e.step === step && e.at > after)!.at;
    const records = [...load.records];
    const at10 = servedBetween(records, moved[0]!.at, next(moved[0]!.at, 'canary_50'));
    const at50 = servedBetween(records, moved[1]!.at, next(moved[1]!.at, 'switch'));
    const after = servedBetween(records, moved[2]!.at, Infinity);
    const before = servedBetween(records, 0, mine(second.id).find((e) => e.step === 'canary_10')!.at);
    const share = (rs: LoadRecord[]) => rs.filter((r) => r.body === 'B').length / rs.length;
    expect(before.length).toBeGreaterThan(20);
    expect(new Set(before.map((r) => r.body))).toEqual(new Set(['A']));
    expect(at10.length).toBeGreaterThan(20);
    expect(at50.length).toBeGreaterThan(20);
    expect(share(at10)).toBeGreaterThan(0);
    expect(share(at10)).toBeLessThan(0.3);
    expect(share(at50)).toBeGreaterThan(0.3);
    expect(share(at50)).toBeLessThan(0.7);
    expect(after.filter((r) => r.body !== 'B')).toEqual([]);
    expect(load.summary().failed).toBe(0);

    const progress = await progressOf(second.id);
    expect([...new Set(progress.map((e) => e.step))]).toEqual([
      'preflight', 'fetch', 'install', 'start', 'health_check',
      'canary_10', 'paused', 'resumed', 'analysis_10',
      'canary_50', 'paused', 'resumed', 'analysis_50',
      'switch', 'paused', 'resumed', 'analysis_100',
      'drain', 'stop_previous', 'done',
    ].filter((step, i, all) => all.indexOf(step) === i));
    const messages = progress.map((e) => e.message);
    expect(messages).toContain(`Sending 10% of the traffic to slot green (port ${ports[1]}, ${short(commits.B)}) through nginx (${nginx.upstreamFile})`);
    expect(messages).toContain(`Slot green (port ${ports[1]}, ${short(commits.B)}) takes 10% of the traffic, slot blue (${short(commits.A)}) 90%`);
    expect(messages.filter((m) => /^Canary at \d+% on slot/.test(m))).toEqual(
      [10, 50, 100].map((weight) => expect.stringMatching(new RegExp(`^Canary at ${weight}% on slot green \\(${short(commits.B!)}\\), held for 1.5 s \\(until \\S+\\)$`))),
    );
    for (const weight of [10, 50, 100]) {
      expect(messages.some((m) => new RegExp(`^Canary at ${weight}%: canary error rate 0% \\(0 of \\d+ requests\\) within max 5% \\(nginx access log\\)$`).test(m)), `analysis at ${weight}%`).toBe(true);
    }
    expect(messages).toContain('Slot blue stopped');
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toContain(`server 127.0.0.1:${ports[1]} weight=100;`);
    expect(readFileSync(nginx.upstreamFile, 'utf8')).not.toContain(`:${ports[0]} `);
  });

  it('aborts a canary whose requests fail: ROLLED_BACK with the figures at 10%, not one 500 once the weights went back', { timeout: 120_000 }, async () => {
    commits.C = repo.commit('C', { files: { FAILS_REQUESTS: 'yes\n' } });
    // The next commit no longer has it.
    rmSync(join(repo.path, 'FAILS_REQUESTS'));
    const third = await deploy(t, commits.C);
    expect(third.status).toBe('rolled_back');
    expect(third.errorMessage).toMatch(/^canary error rate 100% \((\d+) of \1 requests\) over max 5% at 10%$/);
    const [, counted] = /\((\d+) of/.exec(third.errorMessage!)!;
    expect(Number(counted)).toBeGreaterThanOrEqual(5);
    expect(readlinkSync(join(repo.appPath, 'slots', 'live'))).toBe('green');
    expect(readlinkSync(join(repo.appPath, 'current'))).toBe(join(repo.appPath, 'releases', commits.B!));
    // The canary's slot is stopped, nginx sends everything to green again.
    expect(existsSync(join(repo.appPath, 'shared', 'app-blue.pid'))).toBe(false);
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toContain(`server 127.0.0.1:${ports[1]} weight=100;`);
    expect(readFileSync(nginx.upstreamFile, 'utf8')).not.toContain(`:${ports[0]} `);

    const moved = moves(third.id);
    expect(moved.map((e) => weights(e.traffic))).toEqual(['green:90 blue:10', 'green:100 blue:0']);
    const back = moved[1]!.at;
    const settled = load.records.length;
    await waitUntil(() => load.records.length >= settled + 50, { what: 'requests after the abort', timeoutMs: 30_000 });
    const records = [...load.records];
    const failed = records.filter((r) => r.status !== 200 || r.error !== null);
    // The canary's deliberate 500s, all sent while it took 10%; nothing else failed.
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.filter((r) => r.status !== 500 || r.body !== 'C')).toEqual([]);
    // Sent once nginx's new workers took the weights (the step began) and before they went back.
    const began = mine(third.id).find((e) => e.step === 'canary_10')!.at;
    expect(failed.filter((r) => r.start < began || r.start >= back)).toEqual([]);
    expect(servedBetween(records, back, Infinity).filter((r) => r.body !== 'B')).toEqual([]);

    const progress = await progressOf(third.id);
    expect(progress.map((e) => e.step)).toContain('rollback');
    expect(progress.map((e) => e.step)).not.toContain('canary_50');
    expect(progress.find((e) => e.step === 'resumed')?.message).toMatch(/^Hold ended early: canary error rate 100% \(\d+ of \d+ requests\) over max 5% at 10%/);
    expect(progress.map((e) => e.message)).toContain('Slot blue stopped');
  });

  it('holds a canary until promoted: paused, resumed to 50%, promoted over GraphQL to 100%; then inconclusive without traffic, cancelled', { timeout: 120_000 }, async () => {
    steps.stop();
    await t.dispose();
    await startApp(held());

    commits.D = repo.commit('D');
    const id = await queue(commits.D);
    const at10 = await heldAt(id, /^Canary at 10%/);
    expect(at10).toMatchObject({ pausedUntil: null, pauseMessage: `Canary at 10% on slot blue (${short(commits.D)})`, promoted: false });
    // An operator's pause during the hold keeps it paused past it, until resumed.
    expect((await gql(t.app, act('pauseDeployment'), { id })).data.pauseDeployment.status).toBe('PAUSED');
    // Enough canary requests for the step's analysis, then resume: on to 50%.
    await waitUntil(() => load.records.filter((r) => r.body === 'D').length >= 10, { what: 'requests served by the canary', timeoutMs: 30_000 });
    expect((await gql(t.app, act('resumeDeployment'), { id })).errors).toBeUndefined();
    await heldAt(id, /^Canary at 50%/);
    const promoted = await gql(t.app, act('promoteDeployment'), { id });
    expect(promoted.errors).toBeUndefined();
    expect(promoted.data.promoteDeployment.promoted).toBe(true);
    const ended = await waitForEnd(t.app, id, 60_000);
    expect(ended).toMatchObject({ status: 'success', newVersion: commits.D });
    expect(await read(id)).toMatchObject({ status: 'SUCCESS', promoted: true });
    expect(moves(id).map((e) => weights(e.traffic))).toEqual(['green:90 blue:10', 'green:50 blue:50', 'green:0 blue:100']);
    const progress = await progressOf(id);
    const order = progress.map((e) => e.step);
    expect(order).toContain('analysis_10');
    expect(order).not.toContain('analysis_50');
    expect(order).not.toContain('analysis_100');
    const messages = progress.map((e) => e.message);
    expect(messages.some((m) => /^Paused by .+: stays paused after this hold, until resumed$/.test(m))).toBe(true);
    expect(progress.find((e) => e.step === 'switch')?.message).toBe(
      `Promoted: switching all the traffic to slot blue (port ${ports[0]}, ${short(commits.D)}) through nginx (${nginx.upstreamFile}), the remaining steps, pauses and analyses skipped`,
    );
    expect(readlinkSync(join(repo.appPath, 'slots', 'live'))).toBe('blue');

    // No traffic at all: the step says nothing, and waits for a person; a cancel aborts it.
    await load.stop();
    const summary = load.summary();
    expect(summary.failures).toEqual({ 'HTTP 500': expect.any(Number) });
    commits.E = repo.commit('E');
    const silent = await queue(commits.E);
    await heldAt(silent, /^Canary at 10%/);
    expect((await gql(t.app, act('resumeDeployment'), { id: silent })).errors).toBeUndefined();
    const inconclusive = await heldAt(silent, /^canary analysis inconclusive/);
    expect(inconclusive.pauseMessage).toBe('canary analysis inconclusive at 10%: 0 requests to the canary, fewer than the 5 needed: resume to go on, promote to go to 100%, cancel to abort');
    expect((await gql(t.app, act('cancelDeployment'), { id: silent })).errors).toBeUndefined();
    expect((await waitForEnd(t.app, silent, 60_000)).status).toBe('cancelled');
    expect(moves(silent).map((e) => weights(e.traffic))).toEqual(['blue:90 green:10', 'blue:100 green:0']);
    expect(readlinkSync(join(repo.appPath, 'slots', 'live'))).toBe('blue');
    expect(existsSync(join(repo.appPath, 'shared', 'app-green.pid'))).toBe(false);
    expect(await (await fetch(`${nginx.url}/version`)).text()).toBe('D');
  });
});
