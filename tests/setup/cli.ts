import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * Node's arguments that run the fraisier command as users do: bin/fraisier.js over dist/, which
 * the suite's global setup (tests/setup/build-once.ts) rebuilds when the sources are newer.
 * tests/cli/package.test.ts installs the packed package and runs that instead.
 */
export const CLI_ARGS = [resolve('bin/fraisier.js')];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CommandOption {
  /** An installed fraisier executable to run instead of the sources (tests/cli/package.test.ts). */
  command?: string;
}

/** [file, argv] that run the sources, or the installed command when one is given. */
function invocation(args: string[], command: string | undefined): [string, string[]] {
  return command ? [command, args] : [process.execPath, [...CLI_ARGS, ...args]];
}

/** Runs the fraisier command as a real subprocess and waits for it. */
export function runCli(
  args: string[],
  options: CommandOption & { env?: Record<string, string>; cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    const child = execFile(
      ...invocation(args, options.command),
      {
        env: { ...process.env, NO_COLOR: '1', FRAISIER_CONFIG: '', ...options.env },
        cwd: options.cwd ?? process.cwd(),
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number | string }).code as number | null) : 0;
        resolvePromise({ code: typeof code === 'number' ? code : null, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `fraisier serve` and resolves once it listens (its URL read from its log). */
export function startServer(args: string[], options: CommandOption & { env?: Record<string, string>; cwd?: string } = {}): Promise<ServerProcess> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(...invocation(['serve', '--port', '0', ...args], options.command), {
      env: { ...process.env, NO_COLOR: '1', FRAISIER_CONFIG: '', ...options.env },
      cwd: options.cwd ?? process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // not left running behind a failed test
      reject(new Error(`server did not start:\n${output}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolvePromise({
          child,
          url: match[1]!,
          output: () => output,
          stop: (signal = 'SIGTERM') => {
            child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${output}`));
    });
  });
}
