import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startFraisier } from './lib/processes.js';
import type { Row } from './lib/report.js';
import { ms, summarize } from './lib/stats.js';

/*
 * The command as an operator meets it, built (bin/fraisier.js over dist/, what `npm run bench`
 * builds first): how long `fraisier --version` and `fraisier status-all` on a local SQLite store
 * take from start to exit, against `node -e 0` started the same way in the same run, the peak
 * memory of status-all, and the resident memory of a server that has started and sits idle.
 * Bars (issue 17): --version ≤ 2× node -e 0, status-all ≤ 4× with a peak < 100 MiB, idle server
 * < 100 MiB.
 */

const run = promisify(execFile);
const BIN = resolve('bin/fraisier.js');
const RUNS = 15;
/** GNU time reports a process's peak resident memory (its VmHWM) once it has exited. */
const GNU_TIME = '/usr/bin/time';

interface Command {
  name: string;
  args: string[];
}

/** Wall time from spawn to exit, in milliseconds. */
async function timeOnce(command: Command, cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  await run(process.execPath, command.args, { cwd, env });
  return performance.now() - started;
}

/** Peak resident memory in MiB, or NaN without GNU time. */
async function peakMiB(command: Command, cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  if (!existsSync(GNU_TIME)) return Number.NaN;
  const { stderr } = await run(GNU_TIME, ['-f', '%M', process.execPath, ...command.args], { cwd, env });
  return Number(stderr.trim().split('\n').at(-1)) / 1024;
}

export async function benchCli(workDir: string): Promise<{ rows: Row[]; notes: string[] }> {
  const cwd = join(workDir, 'cli');
  mkdirSync(cwd, { recursive: true });
  // The example configuration (13 environments over seven providers), its store a local SQLite file.
  writeFileSync(join(cwd, 'fraises.yaml'), readFileSync(resolve('fraises.example.yaml'), 'utf8'));
  const env = { ...process.env, NO_COLOR: '1', FRAISIER_CONFIG: '', FRAISIER_DATABASE_URL: `sqlite:${join(cwd, 'fraisier.db')}` };
  const node: Command = { name: 'node -e 0', args: ['-e', '0'] };
  const version: Command = { name: 'fraisier --version', args: [BIN, '--version'] };
  const statusAll: Command = { name: 'fraisier status-all', args: [BIN, 'status-all'] };

  // Once each first: the store is created and migrated, the files are in the page cache.
  for (const command of [node, version, statusAll]) await timeOnce(command, cwd, env);
  // Interleaved, so that a busy moment of the machine weighs on all three alike.
  const samples = new Map<string, number[]>([node, version, statusAll].map((c) => [c.name, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const command of [node, version, statusAll]) samples.get(command.name)!.push(await timeOnce(command, cwd, env));
  }
  const median = (name: string) => summarize(samples.get(name)!).p50;
  const reference = median(node.name);
  const peaks = await Promise.all([0, 1, 2].map(() => peakMiB(statusAll, cwd, env)));
  const peak = Math.max(...peaks);
  const nodePeak = await peakMiB(node, cwd, env);

  const server = await startFraisier([], { cwd, env: { FRAISIER_DATABASE_URL: env.FRAISIER_DATABASE_URL } });
  let idle: number;
  let early: number;
  try {
    await fetch(`${server.url}/health`);
    // Idle: started, answered once, then left alone. V8 gives the young generation's start-up
    // growth back only once the process has been idle for a while (its memory reducer), so the
    // figure is read after 30 s; the one after 5 s is shown beside it.
    await new Promise((done) => setTimeout(done, 5_000));
    early = server.rssMiB();
    await new Promise((done) => setTimeout(done, 25_000));
    idle = server.rssMiB();
  } finally {
    await server.stop();
  }

  const ratio = (value: number) => value / reference;
  const rows: Row[] = [
    {
      bench: 'cli',
      measure: 'fraisier --version, median start to exit',
      value: ms(median(version.name)),
      reference: `node -e 0: ${ms(reference)}`,
      ratio: `${ratio(median(version.name)).toFixed(2)}×`,
      bar: '≤ 2×',
      pass: ratio(median(version.name)) <= 2,
    },
    {
      bench: 'cli',
      measure: 'fraisier status-all (SQLite), median start to exit',
      value: ms(median(statusAll.name)),
      reference: `node -e 0: ${ms(reference)}`,
      ratio: `${ratio(median(statusAll.name)).toFixed(2)}×`,
      bar: '≤ 4×',
      pass: ratio(median(statusAll.name)) <= 4,
    },
    {
      bench: 'cli',
      measure: 'fraisier status-all (SQLite), peak memory',
      value: Number.isFinite(peak) ? `${peak.toFixed(0)} MiB` : 'n/a (no GNU time)',
      reference: Number.isFinite(nodePeak) ? `node -e 0: ${nodePeak.toFixed(0)} MiB` : '-',
      ratio: '-',
      bar: '< 100 MiB',
      pass: Number.isFinite(peak) ? peak < 100 : null,
    },
    {
      bench: 'cli',
      measure: 'fraisier serve, idle resident memory (after 30 s)',
      value: `${idle.toFixed(0)} MiB`,
      reference: `after 5 s: ${early.toFixed(0)} MiB`,
      ratio: '-',
      bar: '< 100 MiB',
      pass: idle < 100,
    },
  ];
  const notes = [`cli: ${RUNS} runs of each command, interleaved; the example configuration on a local SQLite store; peak memory from ${GNU_TIME} -f %M`];
  return { rows, notes };
}
