import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, type ServerProcess, startServer } from '../setup/cli.js';
import { freePort } from '../setup/service-repo.js';

/*
 * The README's quick start, as a new user runs it: `npm start` in a directory with no
 * fraises.yaml (the bundled example), then a deployment of its `hello` fraise, which must
 * end with the service answering. Nothing is prepared by hand: the first start makes the
 * example's repository.
 */

describe('the quick start', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'fraisier-quick-start-'));
  let server: ServerProcess | undefined;

  afterAll(async () => {
    await server?.stop();
    const pidFile = join(cwd, '.fraisier/hello/shared/app.pid');
    if (existsSync(pidFile)) {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
      } catch {
        // already gone
      }
    }
    rmSync(cwd, { recursive: true, force: true });
  });

  it('starts on the example, makes its repository, and deploys hello to a service that answers', async () => {
    const port = await freePort();
    const env = { HELLO_PORT: String(port), FRAISIER_DATABASE_URL: '' };
    server = await startServer(['--example-fallback'], { cwd, env });
    expect(server.output()).toContain(`made the example's repository ${join(cwd, '.fraisier/repos/hello')}`);
    const repository = join(cwd, '.fraisier/repos/hello');
    expect(readFileSync(join(repository, 'VERSION'), 'utf8').trim()).toBe('1');

    const deployed = await runCli(['deploy', 'hello', 'local', '--url', server.url, '--follow'], { cwd, env });
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    const answer = await fetch(`http://127.0.0.1:${port}/version`);
    expect((await answer.text()).trim()).toBe('1');

    // A second start finds the repository (with whatever the user committed since) and leaves it alone.
    await server.stop();
    server = await startServer(['--example-fallback'], { cwd, env });
    expect(server.output()).not.toContain("made the example's repository");
  });
});
