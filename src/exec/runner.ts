import { execa } from 'execa';

/*
 * The one way Fraisier runs a program: an argv array (never a shell string), a timeout, an
 * AbortSignal, and an environment built from an allowlist plus what the caller passes, so that
 * Fraisier's own secrets (database URL, tokens) never reach a deploy script. Values that come
 * from outside (branch, author, message) are passed in `env`, never spliced into arguments.
 */

export interface RunOptions {
  cwd?: string;
  /** Added to the base environment. */
  env?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  input?: string;
  /** Each line of output as it comes (for progress messages). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
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
const INHERITED = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SHELL', 'SSH_AUTH_SOCK'];

/** Output kept per stream: enough for an error message, bounded for memory. */
const MAX_CAPTURE = 256 * 1024;

export interface CommandRunner {
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult>;
}

export function createRunner(base: Record<string, string | undefined> = process.env): CommandRunner {
  const inherited: Record<string, string> = {};
  for (const name of INHERITED) if (base[name] !== undefined) inherited[name] = base[name]!;
  return {
    async run(argv, options = {}) {
      if (argv.length === 0 || !argv[0]) throw new Error('empty command');
      const [file, ...args] = argv as [string, ...string[]];
      const started = performance.now();
      const capture = { stdout: '', stderr: '' };
      const subprocess = execa(file, args, {
        ...(options.cwd ? { cwd: options.cwd } : {}),
        env: { ...inherited, ...options.env },
        extendEnv: false,
        shell: false,
        reject: false,
        stripFinalNewline: true,
        ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
        ...(options.signal ? { cancelSignal: options.signal } : {}),
        ...(options.input !== undefined ? { input: options.input } : { stdin: 'ignore' }),
        forceKillAfterDelay: 5_000,
        buffer: false,
        // A command's own children die with it.
        detached: false,
      });
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
      const outcome = await subprocess;
      const result: RunResult = {
        argv,
        exitCode: outcome.exitCode ?? -1,
        stdout: capture.stdout.trimEnd(),
        stderr: capture.stderr.trimEnd(),
        durationMs: performance.now() - started,
      };
      const name = file.split('/').pop();
      if (outcome.isCanceled || options.signal?.aborted) throw new ExecError(`${name} was stopped (cancelled)`, result, 'aborted');
      if (outcome.timedOut) throw new ExecError(`${name} timed out after ${Math.round((options.timeoutMs ?? 0) / 1000)}s`, result, 'timeout');
      if (outcome.failed && outcome.exitCode === undefined) {
        const cause = (outcome as { cause?: { code?: string; message?: string } }).cause;
        const reason = cause?.code === 'ENOENT' ? 'command not found' : (cause?.message ?? outcome.shortMessage);
        throw new ExecError(`${name}: ${reason}`, result, 'spawn');
      }
      if (result.exitCode !== 0) {
        const detail = lastLines(result.stderr || result.stdout, 3);
        throw new ExecError(`${name} exited with code ${result.exitCode}${detail ? `: ${detail}` : ''}`, result, 'exit');
      }
      return result;
    },
  };
}

function lastLines(text: string, count: number): string {
  return text.split(/\r?\n/).filter(Boolean).slice(-count).join(' / ').slice(0, 500);
}
