import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';
import { createServiceRepo, freePort, helloEnvironment, type ServiceRepo } from '../setup/service-repo.js';

/*
 * A dry run answers what the real run would find: the provider, the host over SSH, the
 * repository and the branch, asked for real (a git repository in a temp directory, ssh to a
 * port nobody listens on). Nothing is queued either way.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

function composeAvailable(): boolean {
  try {
    execFileSync('sh', ['-c', 'docker compose version >/dev/null 2>&1 || docker-compose version >/dev/null 2>&1']);
    return true;
  } catch {
    if (process.env.CI) throw new Error('Docker Compose must be installed under CI (.ci/run installs docker-compose)');
    return false;
  }
}

const DRY_RUN = `mutation($e: String!, $c: String) {
  deploy(fraise: "hello", environment: $e, commit: $c, dryRun: true) { success message dryRun plan deployment { id } }
}`;

describe('a dry run', () => {
  let t: TestApp;
  let repo: ServiceRepo;
  let missing: string;
  let sshPort: number;

  beforeAll(async () => {
    repo = createServiceRepo();
    repo.commit('A');
    missing = join(repo.scratch, 'no-such-repository');
    const port = await freePort();
    sshPort = await freePort();
    const yaml = `
fraisier:
  lease: { ttl: 5s, heartbeat: 1s }
fraises:
  hello:
    type: api
    environments:
${helloEnvironment(repo, port)}
      missing:
        branch: main
        git_repo: ${missing}
        app_path: ${join(repo.scratch, 'missing-app')}
        commands: { restart: [./bin/restart] }
      nobranch:
        branch: no-such-branch
        git_repo: ${repo.path}
        app_path: ${join(repo.scratch, 'nobranch-app')}
        commands: { restart: [./bin/restart] }
      remote:
        branch: main
        git_repo: ${repo.path}
        app_path: /srv/hello
        target: { provider: bare-metal, host: 127.0.0.1, port: ${sshPort}, user: deploy }
        commands: { restart: [./bin/restart] }
      paas:
        target: { provider: kubernetes, namespace: hello, kubeconfig: /etc/fraisier/not-a-real-kubeconfig }
      compose:
        branch: main
        git_repo: ${repo.path}
        app_path: ${join(repo.scratch, 'compose-app')}
        target: { provider: docker-compose }
`;
    t = await createTestApp(sqlite, { config: testConfig(yaml) });
  });
  afterAll(async () => {
    await t?.dispose();
    repo?.dispose();
  });

  const dryRun = async (environment: string, commit?: string) => {
    const result = await gql(t.app, DRY_RUN, { e: environment, c: commit ?? null });
    expect(result.errors).toBeUndefined();
    return result.data.deploy as { success: boolean; message: string; dryRun: boolean; plan: string[]; deployment: null };
  };
  const queued = async () => (await gql(t.app, '{ deployments(limit: 10) { id } }')).data.deployments.length as number;

  it('succeeds when the real run could: the head of the branch, and what would run', async () => {
    expect(await dryRun('local')).toEqual({
      success: true,
      dryRun: true,
      plan: ['preflight', 'fetch', 'install', 'restart', 'health_check'],
      message: `dry run: would deploy ${repo.head().slice(0, 12)} to hello/local (bare-metal); nothing was queued`,
      deployment: null,
    });
  });

  it.skipIf(!composeAvailable())('lists the commands a Compose deployment would run', async () => {
    const result = await dryRun('compose');
    expect(result.success).toBe(true);
    const lines = result.message.split('\n').map((line) => line.trim());
    expect(lines[0]).toBe(`dry run: would deploy ${repo.head().slice(0, 12)} to hello/compose (docker-compose); nothing was queued`);
    expect(lines.slice(1, 3)).toEqual(['on local:', expect.stringMatching(/^docker[ -]compose .* config$/)]);
    expect(lines.at(-1)).toMatch(/^docker[ -]compose .* up --detach --no-build --remove-orphans$/);
  });

  it('fails naming the repository when it cannot be reached', async () => {
    const result = await dryRun('missing');
    expect(result).toMatchObject({ success: false, dryRun: true, deployment: null, plan: ['preflight', 'fetch', 'restart', 'health_check'] });
    const [first, ...problems] = result.message.split('\n');
    expect(first).toBe('dry run: deploying the head of main to hello/missing (bare-metal) would fail; nothing was queued');
    expect(problems).toEqual([expect.stringMatching(new RegExp(`^  - repository ${missing} is not reachable from local: git exited with code 128: .+`))]);
  });

  it('fails when the branch does not exist, unless an exact commit is asked for', async () => {
    const result = await dryRun('nobranch');
    expect(result.success).toBe(false);
    expect(result.message).toBe(
      `dry run: deploying the head of no-such-branch to hello/nobranch (bare-metal) would fail; nothing was queued\n  - branch "no-such-branch" does not exist in ${repo.path}`,
    );
    // An exact commit is fetched by itself: the branch is not needed.
    const exact = await dryRun('nobranch', repo.head());
    expect(exact).toMatchObject({ success: true, message: `dry run: would deploy ${repo.head().slice(0, 12)} to hello/nobranch (bare-metal); nothing was queued` });
  });

  it('fails when the SSH host cannot be reached', async () => {
    const result = await dryRun('remote');
    expect(result.success).toBe(false);
    const [, ...problems] = result.message.split('\n');
    expect(problems).toEqual([expect.stringMatching(new RegExp(`^  - deploy@127\\.0\\.0\\.1:${sshPort} cannot be reached over SSH: ssh exited with code 255: .*[Cc]onnection refused`))]);
  });

  it('fails when no provider of the target is installed', async () => {
    const result = await dryRun('paas');
    expect(result).toMatchObject({ success: false, dryRun: true });
    expect(result.message).toBe(
      'dry run: deploying the head of the repository to hello/paas (kubernetes) would fail; nothing was queued\n  - no target provider "kubernetes" in this Fraisier (available: bare-metal, docker-compose, coolify)',
    );
  });

  it('queues nothing', async () => {
    expect(await queued()).toBe(0);
  });
});
