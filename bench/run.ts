// npm run bench: measures the quality bars of DESIGN §9, each figure next to a reference
// measured in the same run on the same machine. Prints one table, writes it to
// bench/results/latest.md, exits 1 when a bar is missed. `npm run bench -- fanout reads`
// runs only some benchmarks (written to bench/results/fanout-reads.md).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { benchBlueGreen } from './bluegreen.js';
import { benchCli } from './cli.js';
import { benchDeploy } from './deploy.js';
import { benchFanout } from './fanout.js';
import { benchIngest } from './ingest.js';
import { benchPickup } from './pickup.js';
import { machine, renderTable, type Row, writeResults } from './lib/report.js';
import { benchPgUrl, benchReads } from './reads.js';

const PG_ADMIN = process.env.FRAISIER_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const all = ['ingest', 'pickup', 'deploy', 'fanout', 'reads', 'cli', 'bluegreen'] as const;
const selected = process.argv.slice(2).length ? process.argv.slice(2) : [...all];
for (const name of selected) {
  if (!(all as readonly string[]).includes(name)) {
    console.error(`unknown benchmark "${name}" (known: ${all.join(', ')})`);
    process.exit(2);
  }
}

/**
 * Each benchmark starts on a quiet machine: the files the previous one wrote are flushed to
 * disk first (their writeback otherwise lands in the middle of the next one's latencies).
 */
async function settle(): Promise<void> {
  try {
    execFileSync('sync');
  } catch {
    // no sync(1): the pause alone
  }
  await new Promise((resolve) => setTimeout(resolve, 3_000));
}

const started = Date.now();
const workDir = mkdtempSync(join(tmpdir(), 'fraisier-bench-'));
const rows: Row[] = [];
const notes: string[] = [];
console.error(`fraisier bench on ${machine()}: ${selected.join(', ')}`);
try {
  if (selected.includes('ingest')) {
    console.error('· webhook ingest');
    const r = await benchIngest(workDir, { name: 'SQLite', url: `sqlite:${join(workDir, 'ingest.db')}` });
    rows.push(...r.rows);
    notes.push(...r.notes);
    // Hundreds of megabytes nobody reads again: gone before they are flushed during the next bench.
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(workDir, `ingest.db${suffix}`), { force: true });
  }
  if (selected.includes('pickup')) {
    await settle();
    console.error('· pickup: webhook → first DeploymentProgress');
    const r = await benchPickup(workDir);
    rows.push(...r.rows);
    notes.push(...r.notes);
  }
  if (selected.includes('deploy')) {
    await settle();
    console.error('· own time per deployment');
    const r = await benchDeploy(workDir);
    rows.push(...r.rows);
    notes.push(...r.notes);
  }
  if (selected.includes('fanout')) {
    await settle();
    console.error('· subscription fan-out');
    const r = await benchFanout(workDir);
    rows.push(...r.rows);
    notes.push(...r.notes);
  }
  if (selected.includes('reads')) {
    await settle();
    console.error('· read queries over 1,000,000 deployments (the data set is generated once, then reused)');
    const r = await benchReads(
      [
        { name: 'SQLite', url: `sqlite:${resolve('bench/data/reads.db')}` },
        { name: 'PostgreSQL', url: await benchPgUrl(PG_ADMIN) },
      ],
      workDir,
    );
    rows.push(...r.rows);
    notes.push(...r.notes);
  }
  if (selected.includes('bluegreen')) {
    await settle();
    console.error('· requests lost while deploying under load: blue-green, then recreate, behind nginx');
    const r = await benchBlueGreen(workDir);
    rows.push(...r.rows);
    notes.push(...r.notes);
  }
  if (selected.includes('cli')) {
    await settle();
    console.error('· the command: fraisier --version, status-all, an idle server');
    const r = await benchCli(workDir);
    rows.push(...r.rows);
    notes.push(...r.notes);
  }
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
notes.push(`total run time ${((Date.now() - started) / 1000).toFixed(0)} s`);
// A run of some benchmarks only goes beside the full results, not over them.
const resultsFile = selected.length === all.length ? 'bench/results/latest.md' : `bench/results/${selected.join('-')}.md`;
writeResults(resultsFile, rows, notes);
console.log(`\n${renderTable(rows)}\n`);
for (const note of notes) console.log(`- ${note}`);
console.log(`\nwritten to ${resultsFile}`);
const missed = rows.filter((r) => r.pass === false);
if (missed.length) {
  console.error(`\n${missed.length} bar${missed.length === 1 ? '' : 's'} missed: ${missed.map((r) => `${r.bench}: ${r.measure}`).join('; ')}`);
  process.exit(1);
}
