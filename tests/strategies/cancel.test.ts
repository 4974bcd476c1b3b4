import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { blueGreenConfig, slotPorts } from '../setup/blue-green.js';
import { waitForEnd, waitForStep } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { nginxUnavailable, startNginx, type TestNginx } from '../setup/nginx.js';
import { createServiceRepo, type ServiceRepo } from '../setup/service-repo.js';

/*
 * A blue-green deployment cancelled in its watch window: the traffic goes back to the slot that
 * served before, the new slot stops, and the deployment ends CANCELLED.
 */

describe.skipIf(nginxUnavailable())('a blue-green deployment cancelled in its watch window', () => {
  let t: TestApp;
  let repo: ServiceRepo;
  let nginx: TestNginx;
  let ports: [number, number];

  beforeAll(async () => {
    repo = createServiceRepo();
    ports = await slotPorts();
    nginx = await startNginx({ initialPort: ports[0] });
    t = await createTestApp(DIALECTS[0]!, { config: testConfig(blueGreenConfig(repo, nginx, ports, { watch: '10m' })) });
    await t.app.startWorkers();
  });
  afterAll(async () => {
    await t?.dispose();
    await nginx?.stop();
    repo?.dispose();
  });

  it('switches the traffic back and stops the new slot', { timeout: 60_000 }, async () => {
    // The first deployment's watch window is cancelled too: nothing served before it, so it keeps the traffic.
    const A = repo.commit('A');
    const first = await gql(t.app, `mutation($c: String) { deploy(fraise: "hello", environment: "local", commit: $c) { deployment { id } } }`, { c: A });
    const firstId = first.data.deploy.deployment.id as string;
    await waitForStep(t.app, firstId, 'watch');
    await gql(t.app, `mutation($id: ID!) { cancelDeployment(id: $id) { id } }`, { id: firstId });
    expect((await waitForEnd(t.app, firstId)).status).toBe('cancelled');
    expect((await (await fetch(`${nginx.url}/version`)).text())).toBe('A');

    const B = repo.commit('B');
    const result = await gql(t.app, `mutation($c: String) { deploy(fraise: "hello", environment: "local", commit: $c) { deployment { id } } }`, { c: B });
    const id = result.data.deploy.deployment.id as string;
    await waitForStep(t.app, id, 'watch');
    expect((await (await fetch(`${nginx.url}/version`)).text())).toBe('B');
    await gql(t.app, `mutation($id: ID!) { cancelDeployment(id: $id) { id } }`, { id });
    const ended = await waitForEnd(t.app, id);
    expect(ended.status).toBe('cancelled');
    expect(await (await fetch(`${nginx.url}/version`)).text()).toBe('A');
    expect(readlinkSync(join(repo.appPath, 'slots', 'live'))).toBe('blue');
    expect(existsSync(join(repo.appPath, 'shared', 'app-green.pid'))).toBe(false);
    const progress = await t.app.services.queries.progress(id);
    expect(progress.filter((e) => e.traffic).map((e) => e.traffic!.map((s) => `${s.slot}:${s.weight}`).join(' '))).toEqual(['green:100 blue:0', 'blue:100 green:0']);
    expect(progress.map((e) => e.message)).toContain(`cancelled in the watch window: switching the traffic back to slot blue (port ${ports[0]}, ${A.slice(0, 12)})`);
  });
});
