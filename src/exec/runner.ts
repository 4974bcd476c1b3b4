import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { execa } from 'execa';
import { graceSeconds, LOCAL_SUPERVISOR, processIdentity, terminateGroup } from './process-group.js';

/*
 * The one way Fraisier runs a program: an argv array (never a shell string), a timeout, an
 * AbortSignal, and an environment built from an allowlist plus what the caller passes, so that
 * Fraisier's own secrets (database URL, tokens) never reach a deploy script. Values that come
 * from outside (branch, author, message) are passed in `env`, never spliced into arguments.
 *
 * Every command runs in a process group of its own, led by a supervisor (see process-group.ts)
 * that ends the group when Fraisier dies; a timeout or an abort ends the whole group too
 * (SIGTERM, then SIGKILL after `killGraceMs`), not just the first process.
 */

/** The process group a command runs in, as soon as it exists. */
export interface SpawnedProcess {
  /** The supervisor's pid, which is the group id. */
  pgid: number;
  /** `<boot id>:<start time>` of the supervisor (null where /proc cannot tell). */
  identity: string | null;
}

export interface RunOptions {
  cwd?: string;
  /** Added to the base environment. */
  env?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  input?: string;
  /** Each line of output as it comes (for progress messages). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Between SIGTERM and SIGKILL when the command is stopped (default 5 s). */
  killGraceMs?: number;
  /**
   * The command's standard input stays open for as long as Fraisier lives and ends when it dies
   * (instead of /dev/null): ssh hands that end to the remote side, which stops the command then.
   * Ignored when `input` is given.
   */
  liveStdin?: boolean;
  /** Called once the command's process group exists, and with null when it has ended. */
  onProcess?: (process: SpawnedProcess | null) => void;
}

export interface RunResult {
  argv: readonly string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export class ExecError extends Error {
  constructor(
    message: string,
    readonly result: RunResult,
    readonly reason: 'exit' | 'timeout' | 'aborted' | 'spawn',
  ) {
    super(message);
    this.name = 'ExecError';
  }
}

/** Variables a command inherits from Fraisier's own environment. */
// The Docker client's own settings: an operator who points Fraisier at an engine means its commands too.
const INHERITED = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SHELL', 'SSH_AUTH_SOCK', 'DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_CONFIG', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY'];

/** Output kept per stream: enough for an error message, bounded for memory. */
const MAX_CAPTURE = 256 * 1024;

export interface CommandRunner {
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult>;
}

/** Default time between SIGTERM and SIGKILL. */
const DEFAULT_KILL_GRACE_MS = 5_000;

export function createRunner(base: Record<string, string | undefined> = process.env): CommandRunner {
  const inherited: Record<string, string> = {};
  for (const name of INHERITED) if (base[name] !== undefined) inherited[name] = base[name]!;
  return {
    async run(argv, options = {}) {
      if (argv.length === 0 || !argv[0]) throw new Error('empty command');
      const [file, ...args] = argv as [string, ...string[]];
      const name = file.split('/').pop();
      const env = { ...inherited, ...options.env };
      const started = performance.now();
      const capture = { stdout: '', stderr: '' };
      const empty = (): RunResult => ({ argv, exitCode: -1, stdout: '', stderr: '', durationMs: performance.now() - started });
      const missing = missingProgram(file, env.PATH, options.cwd);
      if (missing) throw new ExecError(`${name}: ${missing}`, empty(), 'spawn');
      const graceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
      const mode = options.liveStdin && options.input === undefined ? 'live-stdin' : '-';
      const subprocess = execa('/bin/sh', ['-c', LOCAL_SUPERVISOR, 'fraisier-supervise', graceSeconds(graceMs), mode, file, ...args], {
        ...(options.cwd ? { cwd: options.cwd } : {}),
        env,
        extendEnv: false,
        shell: false,
        reject: false,
        stripFinalNewline: true,
        ...(options.input !== undefined ? { input: options.input } : {}),
        // stdin, stdout, stderr, and the supervisor socket (descriptor 3).
        stdio: [options.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'],
        buffer: false,
        // The supervisor leads a new session and process group: the group is stopped as a whole.
        detached: true,
        cleanup: false,
      });
      const pgid = subprocess.pid;
      // Our end of the supervisor socket goes when the supervisor does: a watcher left behind
      // (its supervisor killed from outside) then stops what remains of the group.
      subprocess.once('exit', () => subprocess.stdio[3]?.destroy());
      subprocess.stdio[3]?.on('error', () => {});
      if (pgid !== undefined) options.onProcess?.({ pgid, identity: processIdentity(pgid) });
      let stopped: 'timeout' | 'aborted' | undefined;
      let stopping: Promise<void> | undefined;
      const stop = (why: 'timeout' | 'aborted') => {
        if (stopped || pgid === undefined) return;
        stopped = why;
        stopping = terminateGroup(pgid, graceMs);
      };
      const onAbort = () => stop('aborted');
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = options.timeoutMs ? setTimeout(() => stop('timeout'), options.timeoutMs) : undefined;
      const collect = (stream: 'stdout' | 'stderr') => {
        let partial = '';
        subprocess[stream]?.setEncoding('utf8');
        subprocess[stream]?.on('data', (chunk: string) => {
          if (capture[stream].length < MAX_CAPTURE) capture[stream] += chunk.slice(0, MAX_CAPTURE - capture[stream].length);
          if (!options.onLine) return;
          partial += chunk;
          const lines = partial.split(/\r?\n/);
          partial = lines.pop() ?? '';
          for (const line of lines) options.onLine(line, stream);
        });
        subprocess[stream]?.on('end', () => {
          if (partial && options.onLine) options.onLine(partial, stream);
        });
      };
      collect('stdout');
      collect('stderr');
      let outcome: Awaited<typeof subprocess>;
      try {
        outcome = await subprocess;
        await stopping;
      } finally {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (pgid !== undefined) options.onProcess?.(null);
      }
      const result: RunResult = {
        argv,
        exitCode: outcome.exitCode ?? -1,
        stdout: capture.stdout.trimEnd(),
        stderr: capture.stderr.trimEnd(),
        durationMs: performance.now() - started,
      };
      if (stopped === 'aborted' || options.signal?.aborted) throw new ExecError(`${name} was stopped (cancelled)`, result, 'aborted');
      if (stopped === 'timeout') throw new ExecError(`${name} timed out after ${Math.round((options.timeoutMs ?? 0) / 1000)}s`, result, 'timeout');
      if (outcome.failed && outcome.exitCode === undefined && !outcome.signal) {
        const cause = (outcome as { cause?: { code?: string; message?: string } }).cause;
        const reason = cause?.code === 'ENOENT' && options.cwd ? `no directory ${options.cwd}` : (cause?.message ?? outcome.shortMessage);
        throw new ExecError(`${name}: ${reason}`, result, 'spawn');
      }
      if (outcome.signal) throw new ExecError(`${name} was killed by ${outcome.signal}`, result, 'exit');
      if (result.exitCode !== 0) {
        const detail = lastLines(result.stderr || result.stdout, 3);
        throw new ExecError(`${name} exited with code ${result.exitCode}${detail ? `: ${detail}` : ''}`, result, 'exit');
      }
      return result;
    },
  };
}

/**
 * Why `file` cannot be run (not found, not executable), or undefined. Checked before spawning:
 * the supervisor would otherwise turn "no such program" into an exit code like any other.
 */
function missingProgram(file: string, path: string | undefined, cwd: string | undefined): string | undefined {
  const candidates = file.includes('/')
    ? [isAbsolute(file) ? file : resolve(cwd ?? '.', file)]
    : (path ?? '').split(delimiter).filter(Boolean).map((dir) => join(isAbsolute(dir) ? dir : resolve(cwd ?? '.', dir), file));
  let denied = false;
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EACCES') denied = true;
    }
  }
  return denied ? 'permission denied' : 'command not found';
}

function lastLines(text: string, count: number): string {
  return text.split(/\r?\n/).filter(Boolean).slice(-count).join(' / ').slice(0, 500);
}
