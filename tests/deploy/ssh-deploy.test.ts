import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { createServiceRepo, freePort, helloEnvironment, type ServiceRepo } from '../setup/service-repo.js';
import { sshdUnavailable, startSshd, type TestSshd } from '../setup/sshd.js';

/*
 * The same deployment as tests/deploy/local-deploy.test.ts, over SSH to a real sshd on
 * 127.0.0.1 with a key made by the test. Host keys are checked: a wrong one stops preflight.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

describe.skipIf(sshdUnavailable())('a deployment over SSH', () => {
  let sshd: TestSshd;
  let repo: ServiceRepo;
  let port: number;
  let t: TestApp;

  const config = (knownHosts: string) => `
fraises:
  hello:
    type: api
    environments:
${helloEnvironment(repo, port, {
  name: 'remote',
  install: `[node, -e, "require('node:fs').writeFileSync('installed', process.env.FRAISIER_COMMIT + ' by ' + process.env.FRAISIER_AUTHOR)"]`,
  env: { PATH: `"${process.env.PATH}"` },
  more: `ssh:
  host: ${sshd.host}
  port: ${sshd.port}
  user: ${sshd.user}
  identity_file: ${sshd.identityFile}
  known_hosts: ${knownHosts}`,
})}`;

  beforeAll(async () => {
    sshd = await startSshd();
    repo = createServiceRepo();
    port = await freePort();
    t = await createTestApp(sqlite, { config: testConfig(config(sshd.knownHosts)) });
    await t.app.startWorkers();
  });
  afterAll(async () => {
    await t?.dispose();
    repo?.dispose();
    await sshd?.stop();
  });

  it('deploys commit A over SSH, then rolls a broken B back', { timeout: 90_000 }, async () => {
    const a = repo.commit('A');
    // The dry run asks the host (ssh) and the repository from there.
    const dry = await gql(t.app, `mutation { deploy(fraise: "hello", environment: "remote", dryRun: true) { success message } }`);
    expect(dry.data.deploy).toEqual({ success: true, message: `dry run: would deploy ${a.slice(0, 12)} to hello/remote (bare-metal); nothing was queued` });
    const result = await gql(t.app, `mutation($c: String) { deploy(fraise: "hello", environment: "remote", commit: $c) { deployment { id } } }`, { c: a });
    const deployment = await waitForEnd(t.app, result.data.deploy.deployment.id);
    expect(deployment).toMatchObject({ status: 'success', newVersion: a });
    expect(await (await fetch(`http://127.0.0.1:${port}/version`)).text()).toBe('A');
    // The install command ran in the release on the target (sshd is on this machine), with the
    // deployment's values as env vars: an API deployment has a commit but no commit author.
    expect(readFileSync(join(repo.appPath, 'releases', a, 'installed'), 'utf8')).toBe(`${a} by undefined`);
    const messages = (await t.app.services.queries.progress(deployment.id)).map((e) => e.message);
    expect(messages).toContain(`Checking hello/remote on ${sshd.user}@127.0.0.1:${sshd.port}`);

    const b = repo.commit('B', { healthy: false });
    const broken = await gql(t.app, `mutation($c: String) { deploy(fraise: "hello", environment: "remote", commit: $c) { deployment { id } } }`, { c: b });
    const rolledBack = await waitForEnd(t.app, broken.data.deploy.deployment.id);
    expect(rolledBack.status).toBe('rolled_back');
    expect(await (await fetch(`http://127.0.0.1:${port}/version`)).text()).toBe('A');
  });

  it('refuses a host whose key does not match known_hosts', async () => {
    const wrong = await createTestApp(sqlite, { config: testConfig(config(sshd.wrongKnownHosts)) });
    try {
      await wrong.app.startWorkers();
      const dry = await gql(wrong.app, `mutation { deploy(fraise: "hello", environment: "remote", dryRun: true, force: true) { success message } }`);
      expect(dry.data.deploy.success).toBe(false);
      expect(dry.data.deploy.message).toMatch(/\n {2}- .*127\.0\.0\.1.* cannot be reached over SSH: ssh exited with code 255: .*Host key verification failed/);
      const result = await gql(wrong.app, `mutation { deploy(fraise: "hello", environment: "remote", force: true) { deployment { id } } }`);
      const deployment = await waitForEnd(wrong.app, result.data.deploy.deployment.id);
      expect(deployment.status).toBe('failed');
      expect(deployment.errorMessage).toMatch(/^cannot prepare .* on .*127\.0\.0\.1.*: ssh exited with code 255: .*Host key verification failed/);
    } finally {
      await wrong.dispose();
    }
  });
});
