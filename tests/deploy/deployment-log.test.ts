import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd, waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { createServiceRepo, freePort, helloEnvironment, type ServiceRepo } from '../setup/service-repo.js';
import { githubPush } from '../setup/github-push.js';
import { deliver, githubHeaders } from '../webhooks/support.js';

/*
 * What the operator reads in the log: one line per change of a deployment's state, with its ids
 * as fields, and client mistakes at info rather than error. A real deployment of the hello
 * service (see local-deploy.test.ts), logged through Fraisier's own logger (its censoring too).
 */

interface Line {
  level: number;
  msg: string;
  [field: string]: unknown;
}

const INFO = 30;
const ERROR = 50;
const SECRET = 'sekrit-0123456789-value';
const WEBHOOK_SECRET = 'deployment-log-secret-0123';

function capture() {
  const lines: Line[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Line);
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

describe('the deployment log', () => {
  let t: TestApp;
  let repo: ServiceRepo;
  const { logger, lines } = capture();

  beforeAll(async () => {
    repo = createServiceRepo();
    const port = await freePort();
    const yaml = `
fraisier:
  lease: { ttl: 5s, heartbeat: 1s }
  poll_interval: 1s
  webhook:
    rate_limit: false
git:
  github:
    webhook_secret: ${WEBHOOK_SECRET}
fraises:
  hello:
    type: api
    environments:
${helloEnvironment(repo, port, { env: { API_TOKEN: SECRET } })}`;
    t = await createTestApp(sqlite, { config: testConfig(yaml), logger });
    await t.app.startWorkers();
  });
  afterAll(async () => {
    await t?.dispose();
    repo?.dispose();
  });

  it('writes queued, started, each step with its duration and the final status, with the ids', async () => {
    const commit = repo.commit('A');
    const short = commit.slice(0, 12);
    const result = await gql(t.app, `mutation($c: String) { deploy(fraise: "hello", environment: "local", commit: $c) { success deployment { id } } }`, { c: commit });
    expect(result.data.deploy.success).toBe(true);
    const id = result.data.deploy.deployment.id as string;
    expect(await waitForEnd(t.app, id)).toMatchObject({ status: 'success' });
    const ours = await waitUntil(() => {
      const found = lines.filter((line) => line.deployment === Number(id));
      return found.some((line) => line.status === 'success') && found;
    });

    expect(ours.map((line) => line.msg.replace(/\d+\.\d+s/g, 'Ns'))).toEqual([
      `deployment ${id} queued: hello/local ${short} (api by local)`,
      `deployment ${id} started: hello/local ${short}`,
      `deployment ${id}: step preflight finished in Ns`,
      `deployment ${id}: step fetch finished in Ns`,
      `deployment ${id}: step install finished in Ns`,
      `deployment ${id}: step restart finished in Ns`,
      `deployment ${id}: step health_check finished in Ns`,
      `deployment ${id} SUCCESS: hello/local ${short} in Ns`,
    ]);
    for (const line of ours) {
      expect(line).toMatchObject({ level: INFO, deployment: Number(id), fraise: 'hello', environment: 'local', kind: 'deploy', commit: short });
    }
    const steps = ours.filter((line) => line.step !== undefined);
    expect(steps.map((line) => line.step)).toEqual(['preflight', 'fetch', 'install', 'restart', 'health_check']);
    for (const step of steps) expect(step.durationMs).toEqual(expect.any(Number));
    expect(ours[0]).toMatchObject({ trigger: 'api' });
    expect(ours.at(-1)).toMatchObject({ status: 'success', durationSeconds: expect.any(Number) });
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });


  it('says which step stopped a failed deployment, at warn for the end', async () => {
    const commit = repo.commit('B', { healthy: false });
    const result = await gql(t.app, `mutation($c: String) { deploy(fraise: "hello", environment: "local", commit: $c) { deployment { id } } }`, { c: commit });
    const id = result.data.deploy.deployment.id as string;
    expect(await waitForEnd(t.app, id)).toMatchObject({ status: 'rolled_back' });
    const ours = await waitUntil(() => {
      const found = lines.filter((line) => line.deployment === Number(id));
      return found.some((line) => line.status === 'rolled_back') && found;
    });
    expect(ours.map((line) => line.msg)).toContainEqual(expect.stringMatching(new RegExp(`^deployment ${id}: step rollback stopped after [0-9.]+s \\(rolled_back\\)$`)));
    expect(ours.at(-1)).toMatchObject({ level: 40, status: 'rolled_back', reason: expect.stringMatching(/^health check failed/) });
  });

  it('logs client mistakes at info at most, never at error', async () => {
    const before = lines.length;
    const unknownFraise = await gql(t.app, 'mutation { deploy(fraise: "nope", environment: "local") { success } }');
    expect(unknownFraise.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const unknownEnvironment = await gql(t.app, 'mutation { deploy(fraise: "hello", environment: "nope") { success } }');
    expect(unknownEnvironment.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const badCommit = await gql(t.app, 'mutation { deploy(fraise: "hello", environment: "local", commit: "not-a-commit") { success } }');
    expect(badCommit.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const badQuery = await gql(t.app, 'mutation { deploy(fraise: "hello") { success } }');
    expect(badQuery.errors?.length).toBeGreaterThan(0);
    const badToken = await gql(t.app, '{ fraises { name } }', {}, { authorization: 'Bearer wrong-token-0123456789' });
    expect(badToken.errors?.length ?? 0).toBeGreaterThanOrEqual(0);
    const unknownDeployment = await gql(t.app, '{ deployment(id: "999999") { id } }');
    expect(unknownDeployment.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    const logged = lines.slice(before);
    expect(logged.filter((line) => line.level > INFO), JSON.stringify(logged)).toEqual([]);
    expect(logged).toContainEqual(expect.objectContaining({ level: INFO, code: 'NOT_FOUND', path: 'deploy', msg: 'refused: unknown fraise "nope"' }));
  });
});

describe('a webhook for a repository no fraise deploys', () => {
  let t: TestApp;
  const { logger, lines } = capture();
  let url: string;

  beforeAll(async () => {
    const yaml = `
fraisier:
  webhook:
    rate_limit: false
git:
  github:
    webhook_secret: ${WEBHOOK_SECRET}
fraises:
  hello:
    type: api
    environments:
      production:
        branch: main
        git_repo: https://github.com/acme/hello.git
        target: { provider: bare-metal, app_path: /srv/hello }
`;
    t = await createTestApp(sqlite, { config: testConfig(yaml), logger });
    ({ url } = await t.app.start({ port: 0 }));
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('is logged at info at most, as is a bad signature', async () => {
    const before = lines.length;
    const body = JSON.stringify({
      ref: 'refs/heads/main',
      before: '0'.repeat(40),
      after: 'a'.repeat(40),
      repository: { full_name: 'acme/unknown', clone_url: 'https://github.com/acme/unknown.git' },
      head_commit: { id: 'a'.repeat(40), message: 'elsewhere' },
    });
    const webhook = await deliver(url, '/webhook', body, await githubHeaders(body, { secret: WEBHOOK_SECRET }));
    expect(webhook.status).toBe(200);
    expect(webhook.json).toMatchObject({ deployments: [], event: { outcome: 'ignored' } });
    expect(webhook.text).toContain('acme/unknown');
    const unsigned = await deliver(url, '/webhook', body, await githubHeaders(body, { secret: 'not-the-secret-0123456' }));
    expect(unsigned.status).toBe(401);
    const logged = lines.slice(before);
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.filter((line) => line.level > INFO), JSON.stringify(logged)).toEqual([]);
    expect(JSON.stringify(logged)).not.toContain(WEBHOOK_SECRET);
  });

  it('a push that queues a deployment is one line at info: the queued line, with the delivery\'s ids', async () => {
    const before = lines.length;
    const sha = 'b'.repeat(40);
    const response = await githubPush(url, WEBHOOK_SECRET, { sha, message: 'one line' });
    expect(response.status).toBe(202);
    const answer = (await response.json()) as { deployments: { id: string }[] };
    const id = Number(answer.deployments[0]!.id);
    const queuedLine = await waitUntil(() => lines.slice(before).find((line) => line.deployment === id && line.msg.includes('queued')));
    const atInfo = lines.slice(before).filter((line) => line.level === INFO && (line.deliveryId !== undefined || line.msg.startsWith('webhook delivery')));
    expect(atInfo, JSON.stringify(atInfo)).toEqual([queuedLine]);
    expect(queuedLine).toMatchObject({ level: INFO, provider: 'github', deliveryId: expect.any(String), webhookEvent: expect.any(Number), trigger: 'webhook' });
  });
});
