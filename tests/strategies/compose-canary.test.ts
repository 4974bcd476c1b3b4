import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SteadyLoad } from '../../bench/lib/steady-load.js';
import type { LocalEvent } from '../../src/events/bus.js';
import { createTestApp, type TestApp, testConfig } from '../setup/app.js';
import { deploy, slotPorts } from '../setup/blue-green.js';
import { waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { composeSlotsConfig, runningContainers, SLOT_COMPOSE_FILE } from '../setup/compose-slots.js';
import { type ComposeRepo, createComposeRepo, dockerUnavailable, removeProject } from '../setup/docker.js';
import { nginxUnavailable, startNginx, type TestNginx } from '../setup/nginx.js';

/*
 * The canary on Docker Compose: the same slot projects as blue-green (`<project>-blue`,
 * `<project>-green`), nginx's weights moved to 50% then 100%, each step judged from its access
 * log, under a steady load: every request answered, both versions served at 50%, the old
 * slot's project down at the end.
 */

const sqlite = DIALECTS[0]!;
const skip = dockerUnavailable() ?? nginxUnavailable();

describe.skipIf(skip)('canary on Docker Compose behind nginx, under a steady load', () => {
  let t: TestApp;
  let repo: ComposeRepo;
  let nginx: TestNginx;
  let ports: [number, number];
  const project = `fraisier-canary-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    repo = createComposeRepo();
    ports = await slotPorts();
    nginx = await startNginx({ initialPort: ports[0], accessLog: true });
    const config = composeSlotsConfig(
      repo,
      project,
      `type: canary
          slots: {blue: ${ports[0]}, green: ${ports[1]}}
          proxy: ${nginx.proxyYaml()}
          steps: [50, 100]
          pause: 1s
          analysis: {source: access_log, path: ${nginx.accessLog}, min_requests: 5, interval: 0.3s}
          drain: 10s`,
    );
    t = await createTestApp(sqlite, { config: testConfig(config) });
    await t.app.startWorkers();
  });
  afterAll(async () => {
    await t?.dispose();
    await nginx?.stop();
    for (const name of [`${project}-blue`, `${project}-green`, project]) removeProject(name);
    repo?.dispose();
  });

  it('moves the traffic to B by its steps without losing a request', { timeout: 300_000 }, async () => {
    const A = repo.commit('A', { files: { 'compose.yaml': SLOT_COMPOSE_FILE } });
    expect(await deploy(t, A)).toMatchObject({ status: 'success', newVersion: A });
    expect(runningContainers(`${project}-blue`)).toBe(1);

    const moves: { at: number; weights: string }[] = [];
    const stopWatching = t.app.bus.watch((event: LocalEvent) => {
      if (event.type === 'progress' && event.event.traffic) moves.push({ at: performance.now(), weights: event.event.traffic.map((s) => `${s.slot}:${s.weight}`).join(' ') });
    });
    const load = new SteadyLoad(`${nginx.url}/version`, { ratePerSecond: 100, clients: 8 });
    load.start();
    await waitUntil(() => load.records.length >= 50, { what: 'the load to run', timeoutMs: 30_000 });

    const B = repo.commit('B');
    const second = await deploy(t, B);
    expect(second).toMatchObject({ status: 'success', newVersion: B });
    expect(readlinkSync(join(repo.appPath, 'slots', 'live'))).toBe('green');
    expect(runningContainers(`${project}-blue`)).toBe(0);
    expect(runningContainers(`${project}-green`)).toBe(1);

    const settled = load.records.length;
    await waitUntil(() => load.records.length >= settled + 50, { what: 'more requests', timeoutMs: 30_000 });
    const records = await load.stop();
    stopWatching();

    expect(moves.map((m) => m.weights)).toEqual(['blue:50 green:50', 'blue:0 green:100']);
    expect(load.summary().failures).toEqual({});
    const body = (r: { body: string }) => r.body.trim();
    const half = records.filter((r) => r.start > moves[0]!.at && r.start < moves[1]!.at).map(body);
    expect(new Set(half)).toEqual(new Set(['A', 'B']));
    expect(records.filter((r) => r.start > moves[1]!.at).filter((r) => body(r) !== 'B')).toEqual([]);
  });
});
