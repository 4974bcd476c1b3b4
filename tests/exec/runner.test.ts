import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRunner, ExecError, type SpawnedProcess } from '../../src/exec/runner.js';
import { waitUntil } from '../setup/deployments.js';
import { sshdUnavailable, startSshd, type TestSshd } from '../setup/sshd.js';

/*
 * The runner runs each command in a process group of its own: stopping a command (cancel, a
 * lost lease, a timeout) stops everything it started, SIGTERM first and SIGKILL after the grace;
 * and the command dies with the process that runs it, even killed with SIGKILL, here and on the
 * far side of an SSH connection.
 */

const NODE = process.execPath;
const POLL = { timeoutMs: 20_000, intervalMs: 20 };

/** Running or stopped; not gone and not a zombie (this machine's init may be slow to reap). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** A shell command line that starts a child in the background, writes both pids, then waits. */
const parentAndChild = (dir: string, ignoreTerm = false) => [
  'sh',
  '-c',
  `${ignoreTerm ? "trap '' TERM; " : ''}sleep 300 & echo $! > "$1/child.pid"; echo $$ > "$1/parent.pid"; wait`,
  'sh',
  dir,
];

let dir: string;
const started: number[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fraisier-runner-'));
});
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const file of ['child.pid', 'parent.pid', 'remote.pid']) rmSync(join(dir, file), { force: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The two pids parentAndChild wrote, once both exist. */
async function pids(): Promise<number[]> {
  const files = ['parent.pid', 'child.pid'].map((f) => join(dir, f));
  await waitUntil(() => files.every((f) => existsSync(f) && readFileSync(f, 'utf8').trim() !== ''), POLL);
  const found = files.map((f) => Number(readFileSync(f, 'utf8')));
  started.push(...found);
  return found;
}

describe('the runner', () => {
  const runner = createRunner();

  it('stops the whole process group on abort, and reports where it ran', async () => {
    const controller = new AbortController();
    const seen: (SpawnedProcess | null)[] = [];
    const run = runner.run(parentAndChild(dir), { signal: controller.signal, onProcess: (p) => seen.push(p) });
    const found = await pids();
    expect(seen).toEqual([{ pgid: expect.any(Number), identity: expect.stringMatching(/^[0-9a-f-]+:\d+$/) }]);
    controller.abort('cancel');
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecError);
    expect((error as ExecError).reason).toBe('aborted');
    // Gone when run() returns: the child in the background as well as the shell.
    expect(found.filter(alive)).toEqual([]);
    expect(seen.at(-1)).toBe(null);
  });

  it('kills what ignores SIGTERM once the grace is over, on timeout', async () => {
    const run = runner.run(parentAndChild(dir, true), { timeoutMs: 1_000, killGraceMs: 300 });
    const found = await pids();
    const error = (await run.catch((e: unknown) => e)) as ExecError;
    expect(error.reason).toBe('timeout');
    expect(found.filter(alive)).toEqual([]);
  });

  it('passes every argument as it is, and says when a program does not exist', async () => {
    const odd = ['$(id)', '; rm -rf /', "it's", '"quoted"', '*', ''];
    const result = await runner.run([NODE, '-e', 'console.log(JSON.stringify(process.argv.slice(1)))', ...odd]);
    expect(JSON.parse(result.stdout)).toEqual(odd);
    const missing = (await runner.run(['no-such-program-fraisier']).catch((e: unknown) => e)) as ExecError;
    expect(missing.reason).toBe('spawn');
    expect(missing.message).toBe('no-such-program-fraisier: command not found');
    expect((await runner.run(['cat'], { input: 'given input' })).stdout).toBe('given input');
  });
});

/** Starts a process that runs `argv` through the runner (here, or over SSH), as Fraisier would. */
function stand_in(where: string, argv: string[]): Promise<ChildProcess> {
  const child = spawn(NODE, [resolve('bin/run-ts.js'), 'tests/exec/run-command.ts', where, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolvePromise, reject) => {
    child.stdout!.once('data', () => resolvePromise(child));
    child.once('exit', (code) => reject(new Error(`stand-in exited with ${code}`)));
  });
}

describe('a command whose runner is killed with SIGKILL', () => {
  it('dies with it, children included', { timeout: 30_000 }, async () => {
    const runner = await stand_in('local', parentAndChild(dir));
    const found = await pids();
    runner.kill('SIGKILL');
    await waitUntil(() => found.every((pid) => !alive(pid)), { ...POLL, what: `${found.join(', ')} to end` });
  });

  describe.skipIf(sshdUnavailable())('over SSH', () => {
    let sshd: TestSshd;
    beforeAll(async () => {
      sshd = await startSshd();
    });
    afterAll(() => sshd?.stop());

    it('dies on the remote side too (no terminal there: nothing else would stop it)', { timeout: 30_000 }, async () => {
      const settings = JSON.stringify({ host: sshd.host, port: sshd.port, user: sshd.user, identityFile: sshd.identityFile, knownHosts: sshd.knownHosts });
      const runner = await stand_in(settings, parentAndChild(dir));
      // sshd runs on this machine: the remote processes are visible here.
      const found = await pids();
      runner.kill('SIGKILL');
      await waitUntil(() => found.every((pid) => !alive(pid)), { ...POLL, what: `remote ${found.join(', ')} to end` });
    });
  });
});
