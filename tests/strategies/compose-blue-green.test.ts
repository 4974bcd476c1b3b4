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
 * The same blue-green on Docker Compose: each slot a project of its own (`<project>-blue`,
 * `<project>-green`) publishing its port with ${FRAISIER_PORT}, the images built once per
 * release, nginx in front, a steady load through it: A → B, then an unhealthy C that never
 * takes traffic; not one request fails.
 */

const sqlite = DIALECTS[0]!;
const skip = dockerUnavailable() ?? nginxUnavailable();

describe.skipIf(skip)('blue-green on Docker Compose behind nginx, under a steady load', () => {
  let t: TestApp;
  let repo: ComposeRepo;
  let nginx: TestNginx;
  let ports: [number, number];
  const project = `fraisier-bg-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    repo = createComposeRepo();
    ports = await slotPorts();
    nginx = await startNginx({ initialPort: ports[0] });
    const config = composeSlotsConfig(
      repo,
      project,
      `type: blue-green
          slots: {blue: ${ports[0]}, green: ${ports[1]}}
          proxy: ${nginx.proxyYaml()}
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

  it('switches from A to B and refuses an unhealthy C without losing a request', { timeout: 300_000 }, async () => {
    const A = repo.commit('A', { files: { 'compose.yaml': SLOT_COMPOSE_FILE } });
    expect(await deploy(t, A)).toMatchObject({ status: 'success', newVersion: A });
    expect((await (await fetch(`${nginx.url}/version`)).text()).trim()).toBe('A');
    expect(runningContainers(`${project}-blue`)).toBe(1);

    const switches: number[] = [];
    const stopWatching = t.app.bus.watch((event: LocalEvent) => {
      if (event.type === 'progress' && (event.event.step === 'switch' || event.event.traffic)) switches.push(performance.now());
    });
    const load = new SteadyLoad(`${nginx.url}/version`, { ratePerSecond: 100, clients: 8 });
    load.start();
    await waitUntil(() => load.records.length >= 50, { what: 'the load to run', timeoutMs: 30_000 });

    const B = repo.commit('B');
    const second = await deploy(t, B);
    expect(second).toMatchObject({ status: 'success', newVersion: B });
    expect(readlinkSync(join(repo.appPath, 'slots', 'live'))).toBe('green');
    // The old slot's project is down, the new one runs B.
    expect(runningContainers(`${project}-blue`)).toBe(0);
    expect(runningContainers(`${project}-green`)).toBe(1);

    const C = repo.commit('C', { healthy: false });
    const third = await deploy(t, C);
    expect(third.status).toBe('failed');
    expect(third.errorMessage).toMatch(new RegExp(`^health check of slot blue \\(port ${ports[0]}\\) failed: .*; the traffic stays on slot green \\(${B.slice(0, 12)}\\)$`));
    expect(runningContainers(`${project}-blue`)).toBe(0);

    const settled = load.records.length;
    await waitUntil(() => load.records.length >= settled + 50, { what: 'more requests', timeoutMs: 30_000 });
    const records = await load.stop();
    stopWatching();

    expect(load.summary().failures).toEqual({});
    expect(load.summary().failed).toBe(0);
    const [begin, end] = switches;
    expect(begin).toBeDefined();
    const body = (r: { body: string }) => r.body.trim();
    expect(records.filter((r) => r.start < begin!).filter((r) => body(r) !== 'A')).toEqual([]);
    expect(records.filter((r) => r.start > end!).filter((r) => body(r) !== 'B')).toEqual([]);
    expect(records.filter((r) => body(r) === 'C')).toEqual([]);
  });
});
