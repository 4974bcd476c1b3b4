import { lstat, mkdir, readdir, readlink, rename, stat, symlink, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ExecError, type RunOptions, type RunResult } from '../exec/runner.js';

/*
 * The file operations a release-based target runs on its host (release/layout.ts and
 * release/host-lock.ts: mkdir -p, test -d, readlink, ln -s, ln -sfn, mv -T, ls -1t and the
 * lock's removal), done in this process when the host is this machine: each would otherwise be
 * a process start, and a deployment runs about ten of them. The command lines stay what they
 * are (over SSH they run as such, and dry runs print them); here the same argv has the same
 * outcome: stdout, and on failure an ExecError as the runner throws it, with the exit status
 * the program would have had.
 */

type Operation = (paths: (path: string) => string, args: readonly string[]) => Promise<string>;

/** A failure as the program reports it: its exit status and its message. */
class Failed extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

const OPERATIONS: Record<string, Operation> = {
  'mkdir -p --': async (at, paths) => {
    for (const path of paths) await mkdir(at(path), { recursive: true });
    return '';
  },
  'test -d': async (at, [path]) => {
    const found = await stat(at(path!)).catch(() => undefined);
    if (!found?.isDirectory()) throw new Failed(1, '');
    return '';
  },
  'readlink --': async (at, [path]) => {
    try {
      return await readlink(at(path!));
    } catch {
      throw new Failed(1, '');
    }
  },
  'ln -s --': async (at, [target, link]) => {
    await symlink(target!, at(link!));
    return '';
  },
  'ln -sfn --': async (at, [target, link]) => {
    const existing = await lstat(at(link!)).catch(() => undefined);
    if (existing) await unlink(at(link!));
    await symlink(target!, at(link!));
    return '';
  },
  'mv -T --': async (at, [from, to]) => {
    // rename(2), as mv does on one file system: replaces `to` (a symlink itself, never what it points at) atomically.
    await rename(at(from!), at(to!));
    return '';
  },
  'ls -1t --': async (at, [dir]) => {
    // ls says 2 when it cannot read the directory at all.
    const names = await readdir(at(dir!)).catch((error: unknown) => {
      throw new Failed(2, `ls: ${describe(error)}`);
    });
    // ls without -a leaves out names starting with a dot.
    const shown = names.filter((name) => !name.startsWith('.'));
    const times = await Promise.all(shown.map(async (name) => [name, (await lstat(resolve(at(dir!), name))).mtimeMs] as const));
    return times
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([name]) => name)
      .join('\n');
  },
};

/** release/host-lock.ts's removeLock: the lock goes only while it still names its owner. */
const UNLOCK_SCRIPT = 'if [ "$(readlink -- "$1")" = "$2" ]; then rm -f -- "$1"; fi';

/** The operation `argv` is, done here; undefined when it is not one of them (the runner runs it). */
export function runFileOperation(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> | undefined {
  const at = (path: string) => resolve(options.cwd ?? '.', path);
  if (argv[0] === 'sh' && argv[1] === '-c' && argv[2] === UNLOCK_SCRIPT && argv.length === 6) {
    const [lock, owner] = [argv[4]!, argv[5]!];
    return perform(argv, options, async () => {
      const text = await readlink(at(lock)).catch(() => undefined);
      if (text === owner) await unlink(at(lock)).catch(() => {});
      return '';
    });
  }
  for (const [shape, operation] of Object.entries(OPERATIONS)) {
    const words = shape.split(' ');
    if (argv.length > words.length && words.every((word, i) => argv[i] === word)) {
      return perform(argv, options, () => operation(at, argv.slice(words.length)));
    }
  }
  return undefined;
}

async function perform(argv: readonly string[], options: RunOptions, operation: () => Promise<string>): Promise<RunResult> {
  const name = argv[0]!;
  const started = performance.now();
  const result = (exitCode: number, stdout: string, stderr: string): RunResult => ({ argv, exitCode, stdout, stderr, durationMs: performance.now() - started });
  if (options.signal?.aborted) throw new ExecError(`${name} was stopped (cancelled)`, result(-1, '', ''), 'aborted');
  try {
    return result(0, await operation(), '');
  } catch (error) {
    const failed = error instanceof Failed ? error : new Failed(1, `${name}: ${describe(error)}`);
    throw new ExecError(`${name} exited with code ${failed.exitCode}${failed.message ? `: ${failed.message}` : ''}`, result(failed.exitCode, '', failed.message), 'exit');
  }
}

/** "cannot create 'x': File exists", as close to the programs' own words as Node's errors allow. */
function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    EEXIST: 'File exists',
    ENOENT: 'No such file or directory',
    EACCES: 'Permission denied',
    EPERM: 'Operation not permitted',
    ENOTDIR: 'Not a directory',
    EISDIR: 'Is a directory',
    ENOTEMPTY: 'Directory not empty',
    EXDEV: 'Invalid cross-device link',
    EROFS: 'Read-only file system',
    ENOSPC: 'No space left on device',
  };
  const reason = (e.code && reasons[e.code]) ?? e.message;
  return e.path ? `'${e.path}': ${reason}` : reason;
}
