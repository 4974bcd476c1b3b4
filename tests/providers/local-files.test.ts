import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRunner, ExecError, type RunResult } from '../../src/exec/runner.js';
import { runFileOperation } from '../../src/providers/local-files.js';
import { createLock, removeLock, replaceLock } from '../../src/providers/release/host-lock.js';
import { isDirectory, layoutOf, listReleases, makeDirectories, readLink, switchCurrent } from '../../src/providers/release/layout.js';

/*
 * The release layout's file operations done in-process on this machine must come out as the
 * programs themselves: each command line is run both ways, in two copies of the same tree, and
 * the exit status, the output and the tree afterwards are compared.
 */

const runner = createRunner();
const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** Two identical trees: one for the programs, one for the in-process operations. */
function twins(prepare: (root: string) => void): [string, string] {
  const pair = [0, 1].map(() => {
    const root = mkdtempSync(join(tmpdir(), 'fraisier-local-files-'));
    roots.push(root);
    prepare(root);
    return root;
  });
  return [pair[0]!, pair[1]!];
}

type Outcome = { exitCode: number; stdout: string };

async function outcome(run: () => Promise<RunResult>): Promise<Outcome> {
  try {
    const result = await run();
    return { exitCode: result.exitCode, stdout: result.stdout.trimEnd() };
  } catch (error) {
    if (!(error instanceof ExecError)) throw error;
    expect(error.message).toMatch(/exited with code \d+/);
    return { exitCode: error.result.exitCode, stdout: '' };
  }
}

/** Every entry under root: its kind, and a symlink's text. */
function tree(root: string, dir = root): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      const relative = path.slice(root.length + 1);
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) return [`${relative} -> ${readlinkSync(path).replaceAll(root, '<root>')}`];
      if (stat.isDirectory()) return [`${relative}/`, ...tree(root, path)];
      return [relative];
    });
}

async function same(prepare: (root: string) => void, commands: (root: string) => (readonly string[])[]) {
  const [real, here] = twins(prepare);
  for (const [a, b] of commands(real).map((argv, i) => [argv, commands(here)[i]!] as const)) {
    const op = runFileOperation(b);
    expect(op, `${b.join(' ')} is done in-process`).toBeDefined();
    // It runs (and may fail) while the program runs: handled now, its outcome read below.
    op?.catch(() => undefined);
    const [byProgram, inProcess] = [await outcome(() => runner.run(a)), await outcome(() => op!)];
    expect({ ...inProcess, stdout: inProcess.stdout.replaceAll(here, '<root>') }, a.join(' ')).toEqual({ ...byProgram, stdout: byProgram.stdout.replaceAll(real, '<root>') });
  }
  expect(tree(here)).toEqual(tree(real));
}

describe('file operations done in-process', () => {
  it('make the layout, test for directories and read links as the programs do', async () => {
    await same(
      (root) => mkdirSync(join(root, 'app', 'releases', 'abc'), { recursive: true }),
      (root) => {
        const layout = layoutOf(join(root, 'app'));
        return [makeDirectories(layout), makeDirectories(layout), isDirectory(layout.release('abc')), isDirectory(layout.release('nope')), readLink(layout.current)];
      },
    );
  });

  it('switch current atomically, and read it back', async () => {
    await same(
      (root) => {
        mkdirSync(join(root, 'app', 'releases', 'a'), { recursive: true });
        mkdirSync(join(root, 'app', 'releases', 'b'), { recursive: true });
      },
      (root) => {
        const layout = layoutOf(join(root, 'app'));
        return [...switchCurrent(layout, layout.release('a')), readLink(layout.current), ...switchCurrent(layout, layout.release('b')), readLink(layout.current)];
      },
    );
  });

  it('list releases newest first', async () => {
    await same(
      (root) => {
        for (const [name, age] of [['old', 300], ['new', 10], ['mid', 100]] as const) {
          const path = join(root, 'app', 'releases', name);
          mkdirSync(path, { recursive: true });
          const when = Date.now() / 1000 - age;
          utimesSync(path, when, when);
        }
      },
      (root) => [listReleases(layoutOf(join(root, 'app')))],
    );
  });

  it('take, refuse, replace and give up the host lock', async () => {
    await same(
      (root) => writeFileSync(join(root, 'unrelated'), ''),
      (root) => {
        const lock = join(root, '.fraisier-lock.a.b');
        return [createLock(lock, 'owner-1'), createLock(lock, 'owner-2'), removeLock(lock, 'owner-2'), readLink(lock), ...replaceLock(lock, 'owner-3', 'u1'), readLink(lock), removeLock(lock, 'owner-3'), readLink(lock)];
      },
    );
  });

  it('fail as the programs fail, with their exit status', async () => {
    await same(
      (root) => writeFileSync(join(root, 'file'), ''),
      (root) => [
        ['mkdir', '-p', '--', join(root, 'file', 'below')],
        ['mv', '-T', '--', join(root, 'missing'), join(root, 'elsewhere')],
        ['ls', '-1t', '--', join(root, 'missing')],
      ],
    );
  });

  it('leave every other command to the runner', () => {
    expect(runFileOperation(['git', 'status'])).toBeUndefined();
    expect(runFileOperation(['mkdir', '/tmp/x'])).toBeUndefined();
    expect(runFileOperation(['sh', '-c', 'rm -rf /'])).toBeUndefined();
  });
});
