import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workdir, type Workdir } from '../cli/support.js';

/*
 * The Dockerfile, built as a user would (`docker build .`) but FROM a Node image made from this
 * machine (tests/ops/node-base-image.sh), since no image registry is reachable here; the
 * build stage's npm reaches the npm registry through the host's network. Then the image run with
 * a configuration mounted and its store on a volume, as the Dockerfile's header says.
 */

const run = promisify(execFile);
const BUILD_TIMEOUT = 1_200_000;
const id = randomUUID().slice(0, 8);
const BASE = `fraisier-test/node-base:${id}`;
const IMAGE = `fraisier-test/fraisier:${id}`;
const BUILD_STAGE = `fraisier-test/fraisier-build:${id}`;
const CONTAINER = `fraisier-test-${id}`;
const VOLUME = `fraisier-test-${id}`;
const TOKEN = 'image-test-token-0123456789';

async function docker(args: string[], timeout = 60_000): Promise<string> {
  const { stdout } = await run('docker', args, { timeout, maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

async function dockerAvailable(): Promise<string | undefined> {
  try {
    await docker(['info'], 30_000);
    return undefined;
  } catch (error) {
    const reason = `docker is not available: ${(error as Error).message.split('\n')[0]}`;
    if (process.env.CI) throw new Error(`${reason} (under CI the image must be built)`);
    return reason;
  }
}

/** Polls `check` until it returns a value (a condition, not a fixed wait), failing after `timeoutMs`. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 250));
  }
}

const skip = await dockerAvailable();

describe.skipIf(skip)('the Docker image', () => {
  let dir: Workdir;
  let url: string;

  beforeAll(async () => {
    dir = workdir('fraisier-image-');
    await run(resolve('tests/ops/node-base-image.sh'), [BASE], { timeout: 300_000 });
    const build = (extra: string[]) =>
      docker(['build', '--network', 'host', '--build-arg', `NODE_IMAGE=${BASE}`, '--build-arg', 'RUNTIME_PACKAGES=', ...extra, '.'], BUILD_TIMEOUT);
    // The build stage tagged too, so that cleaning up removes its layers with it.
    await build(['--target', 'build', '-t', BUILD_STAGE]);
    await build(['-t', IMAGE]);

    const config = dir.file(
      'fraises.yaml',
      `
fraisier:
  tokens:
    - { name: test, token: ${TOKEN}, scopes: [read] }
fraises:
  hello:
    type: api
    environments:
      production:
        target: { provider: bare-metal, app_path: /tmp/hello }
`,
    );
    chmodSync(config, 0o644); // read by the image's user, uid 1000
    await docker(['volume', 'create', VOLUME]);
    await docker([
      'run', '-d', '--name', CONTAINER,
      '-p', '127.0.0.1::8080',
      '-v', `${config}:/etc/fraisier/fraises.yaml:ro`,
      '-v', `${VOLUME}:/var/lib/fraisier`,
      // The image's own check, asked more often than its 30 s so the test need not wait that long.
      '--health-interval', '1s',
      IMAGE,
    ]);
    url = `http://${(await docker(['port', CONTAINER, '8080'])).split('\n')[0]}`;
  }, BUILD_TIMEOUT * 2 + 300_000);

  afterAll(async () => {
    await docker(['rm', '-f', CONTAINER]).catch(() => {});
    await docker(['volume', 'rm', VOLUME]).catch(() => {});
    // Removing an image copies nothing but deletes every layer, one by one on vfs: minutes.
    await docker(['rmi', IMAGE, BUILD_STAGE, BASE], 600_000).catch(() => {});
    dir?.dispose();
  }, 660_000);

  it('runs as a non-root user, with a health check and the store on a volume', async () => {
    const config = JSON.parse(await docker(['image', 'inspect', '--format', '{{json .Config}}', IMAGE])) as {
      User: string;
      Healthcheck?: { Test: string[] };
      Volumes: Record<string, unknown>;
    };
    expect(config.User).toBe('node');
    expect(config.Healthcheck?.Test[0]).toBe('CMD');
    expect(Object.keys(config.Volumes)).toEqual(['/var/lib/fraisier']);
    expect(await docker(['exec', CONTAINER, 'id', '-u'])).toBe('1000');
  });

  it('becomes healthy and answers /health from outside the container', async () => {
    const health = await waitFor('the container to be healthy', async () => {
      const status = await docker(['inspect', '--format', '{{.State.Health.Status}}', CONTAINER]);
      if (status === 'unhealthy') throw new Error(`unhealthy:\n${await docker(['logs', CONTAINER]).catch(() => '')}`);
      return status === 'healthy' ? status : undefined;
    });
    expect(health).toBe('healthy');
    const answer = await fetch(`${url}/health`);
    expect(await answer.json()).toEqual({ status: 'ok' });
    const graphql = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ query: '{ fraises { name } }' }),
    });
    expect(await graphql.json()).toEqual({ data: { fraises: [{ name: 'hello' }] } });
  });

  it('keeps its SQLite store on the volume, and stops cleanly on docker stop', async () => {
    expect(await docker(['exec', CONTAINER, 'stat', '-c', '%U %n', '/var/lib/fraisier/fraisier.db'])).toBe('node /var/lib/fraisier/fraisier.db');
    await docker(['stop', CONTAINER], 120_000);
    expect(await docker(['inspect', '--format', '{{.State.ExitCode}}', CONTAINER])).toBe('0');
    expect(await docker(['logs', CONTAINER])).toMatch(/"msg":"stopped"/);
  });
});
