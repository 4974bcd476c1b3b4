import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/*
 * The processes a benchmark runs: the system under test and its reference each in a process of
 * its own, the load generated from yet another, as the quality bars require.
 */

const BIN = resolve('bin/fraisier.js');
/** USER_HZ: /proc reports CPU time in these (100 on every Linux this runs on). */
const CLOCK_TICKS = 100;

export interface Child {
  process: ChildProcess;
  url: string;
  output(): string;
  /** Resident memory of the process now, in MiB (from /proc). */
  rssMiB(): number;
  /**
   * The most resident memory the process had since it started or since resetPeakRss, in MiB
   * (VmHWM): a peak between two samples is not missed.
   */
  peakRssMiB(): number;
  /** Starts peakRssMiB over from the memory resident now; false where the kernel cannot. */
  resetPeakRss(): boolean;
  /** CPU time the process has used so far, every thread, user and system, in seconds (from /proc). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

function waitForUrl(child: ChildProcess, pattern: RegExp, what: string): Promise<{ url: string; output: () => string }> {
  return new Promise((resolvePromise, reject) => {
    let output = '';
    let listening = false;
    const timer = setTimeout(() => reject(new Error(`${what} did not start:\n${output.slice(-2000)}`)), 60_000);
    // The server's log lines keep coming (one per delivery under ingest): once it listens, only
    // the tail is kept and nothing is searched, so that reading them costs this process little
    // of the CPU the server under test shares with it.
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.length > 200_000) output = output.slice(-100_000);
      if (listening) return;
      const match = pattern.exec(output);
      if (match) {
        listening = true;
        clearTimeout(timer);
        resolvePromise({ url: match[1]!, output: () => output });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before it listened:\n${output.slice(-2000)}`));
    });
  });
}

/** A process that did not start is not left running (it would weigh on every later figure). */
function killed(child: ChildProcess) {
  return (error: unknown): never => {
    child.kill('SIGKILL');
    throw error;
  };
}

/** A memory figure of /proc/<pid>/status, in MiB. */
function statusMiB(child: ChildProcess, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return Number.NaN;
  }
}

function wrap(child: ChildProcess, url: string, output: () => string): Child {
  return {
    process: child,
    url,
    output,
    rssMiB: () => statusMiB(child, 'VmRSS'),
    peakRssMiB: () => statusMiB(child, 'VmHWM'),
    resetPeakRss: () => {
      try {
        // Linux 4.0+: "5" resets the peak resident set size to the current one.
        writeFileSync(`/proc/${child.pid}/clear_refs`, '5');
        return true;
      } catch {
        return false;
      }
    },
    cpuSeconds: () => {
      try {
        const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        // Fields after the command name: utime and stime are the 12th and 13th, in clock ticks.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
      } catch {
        return Number.NaN;
      }
    },
    stop: () =>
      new Promise<void>((resolveStop) => {
        if (child.exitCode !== null) return resolveStop();
        child.once('exit', () => resolveStop());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      }),
  };
}

/**
 * `fraisier serve` on a random port. FRAISIER_BENCH_PROFILE=<dir> writes a CPU profile of each
 * server into <dir> (open it in Chrome's DevTools) to see where a figure's time goes.
 */
export async function startFraisier(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<Child> {
  const profile = process.env.FRAISIER_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${resolve(process.env.FRAISIER_BENCH_PROFILE)}`] : [];
  const child = spawn(process.execPath, [...profile, BIN, 'serve', '--port', '0', ...args], {
    cwd: options.cwd,
    env: { ...process.env, NODE_ENV: 'production', FRAISIER_LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The URL is logged at info, as in production (where deliveries are logged at info too).
  const { url, output } = await waitForUrl(child, /listening on (http:\/\/[^\s"]+)/, 'fraisier serve').catch(killed(child));
  return wrap(child, url, output);
}

/**
 * A reference server: by default bench/reference-server.mjs, a plain node:http server answering
 * 200 to everything.
 */
export async function startReference(script = 'bench/reference-server.mjs', args: string[] = []): Promise<Child> {
  const child = spawn(process.execPath, [resolve(script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const { url, output } = await waitForUrl(child, /listening on (http:\/\/\S+)/, 'reference server').catch(killed(child));
  return wrap(child, url, output);
}

/** Runs a TypeScript worker of the bench in its own process; resolves with its JSON answer. */
export function runWorker<T>(script: string, input: unknown, timeoutMs = 300_000): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(script)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not finish within ${timeoutMs / 1000}s`));
    }, timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${script} exited with ${code}`));
      try {
        resolvePromise(JSON.parse(stdout.trim().split('\n').at(-1)!) as T);
      } catch (error) {
        reject(new Error(`${script} answered no JSON: ${stdout.slice(-500)} (${(error as Error).message})`));
      }
    });
    child.stdin!.end(JSON.stringify(input));
  });
}

/** Reads a worker's JSON input from stdin. */
export async function readInput<T>(): Promise<T> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return JSON.parse(text) as T;
}
