import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import { createStore, type Store } from '../src/store/store.js';
import { type Child, runWorker, startFraisier, startReference } from './lib/processes.js';
import type { Row } from './lib/report.js';
import { ms, summarize } from './lib/stats.js';

/*
 * Read queries at scale: 1,000,000 recorded deployments (10 fraises × 5 environments over a
 * year), generated in bulk by SQL and kept between runs, queried through the HTTP API one
 * request at a time. Bar (DESIGN §9): deployments(limit: 20) and stats p99 < 10 ms.
 */

export const ROWS = 1_000_000;
const FRAISES = 10;
const ENVIRONMENTS = 5;
const DATA = resolve('bench/data');

export function readsConfig(): string {
  const envs = Array.from({ length: ENVIRONMENTS }, (_, e) => `      e${e}:\n        app_path: /tmp/fraisier-bench\n        steps: [{ name: noop, command: ["true"] }]`).join('\n');
  const fraises = Array.from({ length: FRAISES }, (_, f) => `  f${f}:\n    type: custom\n    environments:\n${envs}`).join('\n');
  return `fraisier:\n  webhook: { rate_limit: false }\nfraises:\n${fraises}\n`;
}

/** Generates the data set unless it is already there. Resolves with how long it took (0 if reused). */
export async function ensureDataset(store: Store): Promise<number> {
  await store.migrate();
  const existing = await sql<{ n: number; newest: string | null }>`SELECT COUNT(*) AS n, MAX(requested_at) AS newest FROM tb_deployment`.execute(store.db);
  const { n, newest } = existing.rows[0] ?? { n: 0, newest: null };
  // The data is dated back from when it was made and `stats` reads the last days from now: an
  // old data set would leave stats less and less to read. Reused only while a day old at most.
  const fresh = newest !== null && newest >= new Date(Date.now() - 86_400_000).toISOString();
  if (Number(n) === ROWS && fresh) return 0;
  const started = performance.now();
  for (const table of ['tb_deployment_progress', 'tb_deployment_daily_stats', 'tb_fraise_state', 'tb_deployment', 'tb_deployment_request', 'tb_webhook_event']) {
    await sql`DELETE FROM ${sql.table(table)}`.execute(store.db);
  }
  const span = 365 * 86_400;
  const start = Math.floor(Date.now() / 1000) - span;
  const step = span / ROWS;
  if (store.dialect === 'sqlite') {
    const time = (column: string, offset: string) => sql.raw(`strftime('%Y-%m-%dT%H:%M:%fZ', ${start} + ${column} * ${step} + ${offset}, 'unixepoch')`);
    await sql`
      WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${sql.lit(ROWS)})
      INSERT INTO tb_deployment_request (id, fraise, environment, kind, requested_at, requested_by, trigger_type, git_branch, git_commit, force)
      SELECT n, 'f' || (n % ${sql.lit(FRAISES)}), 'e' || ((n / ${sql.lit(FRAISES)}) % ${sql.lit(ENVIRONMENTS)}), 'deploy', ${time('n', '0')}, 'bench',
             CASE n % 3 WHEN 0 THEN 'webhook' WHEN 1 THEN 'api' ELSE 'manual' END, 'main', printf('%040x', n), 0
      FROM seq`.execute(store.db);
    await sql`
      INSERT INTO tb_deployment (id, fk_request, fraise, environment, status, requested_at, started_at, completed_at, duration_seconds,
                                 old_version, new_version, git_commit, git_branch, target_provider, attempt, cancel_requested)
      SELECT id, id, fraise, environment,
             CASE id % 20 WHEN 0 THEN 'failed' WHEN 1 THEN 'rolled_back' ELSE 'success' END,
             requested_at, ${time('id', '1')}, ${time('id', '21 + id % 100')}, 20 + id % 100, printf('%040x', id - 1),
             CASE WHEN id % 20 > 1 THEN git_commit END, git_commit, 'main', 'bare-metal', 1, 0
      FROM tb_deployment_request`.execute(store.db);
  } else {
    const time = (offset: string) =>
      sql.raw(`to_char(to_timestamp(${start} + n * ${step} + ${offset}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);
    await sql`
      INSERT INTO tb_deployment_request (id, fraise, environment, kind, requested_at, requested_by, trigger_type, git_branch, git_commit, force)
      SELECT n, 'f' || (n % ${sql.lit(FRAISES)}), 'e' || ((n / ${sql.lit(FRAISES)}) % ${sql.lit(ENVIRONMENTS)}), 'deploy', ${time('0')}, 'bench',
             CASE n % 3 WHEN 0 THEN 'webhook' WHEN 1 THEN 'api' ELSE 'manual' END, 'main', lpad(to_hex(n), 40, '0'), 0
      FROM generate_series(1, ${sql.lit(ROWS)}) AS n`.execute(store.db);
    await sql`
      INSERT INTO tb_deployment (id, fk_request, fraise, environment, status, requested_at, started_at, completed_at, duration_seconds,
                                 old_version, new_version, git_commit, git_branch, target_provider, attempt, cancel_requested)
      SELECT n, n, 'f' || (n % ${sql.lit(FRAISES)}), 'e' || ((n / ${sql.lit(FRAISES)}) % ${sql.lit(ENVIRONMENTS)}),
             CASE n % 20 WHEN 0 THEN 'failed' WHEN 1 THEN 'rolled_back' ELSE 'success' END,
             ${time('0')}, ${time('1')}, ${time('21 + n % 100')}, 20 + n % 100, lpad(to_hex(n - 1), 40, '0'),
             CASE WHEN n % 20 > 1 THEN lpad(to_hex(n), 40, '0') END, lpad(to_hex(n), 40, '0'), 'main', 'bare-metal', 1, 0
      FROM generate_series(1, ${sql.lit(ROWS)}) AS n`.execute(store.db);
    for (const table of ['tb_deployment_request', 'tb_deployment']) {
      await sql`SELECT setval(pg_get_serial_sequence(${table}, 'id'), (SELECT MAX(id) FROM ${sql.table(table)}))`.execute(store.db);
    }
  }
  await sql`
    INSERT INTO tb_deployment_daily_stats (day, fraise, environment, total, successful, failed, rolled_back, duration_sum, duration_count)
    SELECT SUBSTR(started_at, 1, 10), fraise, environment, COUNT(*),
           SUM(CASE WHEN status = 'success' THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END),
           SUM(CASE WHEN status = 'rolled_back' THEN 1 ELSE 0 END), SUM(duration_seconds), COUNT(duration_seconds)
    FROM tb_deployment GROUP BY SUBSTR(started_at, 1, 10), fraise, environment`.execute(store.db);
  // The planner's statistics, once everything is in (the daily stats included).
  await sql`ANALYZE`.execute(store.db);
  return performance.now() - started;
}

const QUERIES = [
  { name: 'deployments(limit: 20)', body: '{ deployments(limit: 20) { id fraise environment status startedAt durationSeconds newVersion } }' },
  { name: 'deployments(fraise, environment)', body: '{ deployments(fraise: "f3", environment: "e2", limit: 20) { id status startedAt } }' },
  { name: 'stats', body: '{ stats { total successful failed rolledBack avgDurationSeconds successRate } }' },
  { name: 'fraises', body: '{ fraises { name environments { name status currentVersion lastDeployedAt target { provider } } } }' },
];
const BARRED = new Set(['deployments(limit: 20)', 'stats']);

export async function benchReads(targets: { name: string; url: string }[], workDir: string): Promise<{ rows: Row[]; notes: string[] }> {
  mkdirSync(DATA, { recursive: true });
  writeFileSync(join(workDir, 'reads.yaml'), readsConfig());
  const rows: Row[] = [];
  const notes: string[] = [];
  const reference = await startReference();
  try {
    const ref = await runWorker<Record<string, number[]>>('bench/query-worker.ts', { url: reference.url, warmup: 200, count: 2000, queries: [{ name: 'ref', path: '/', body: '{}' }] });
    const refSummary = summarize(ref.ref!);
    for (const target of targets) {
      // Generating a million rows takes minutes: longer than the deadline the store gives request work.
      const store = createStore(target.url, { waitTimeoutMs: 30 * 60_000 });
      let generated: number;
      try {
        generated = await ensureDataset(store);
      } finally {
        await store.close();
      }
      notes.push(generated ? `${target.name}: generated ${ROWS.toLocaleString('en')} deployments in ${(generated / 1000).toFixed(1)} s` : `${target.name}: reused the ${ROWS.toLocaleString('en')}-deployment data set`);
      let server: Child | undefined;
      try {
        server = await startFraisier(['--config', join(workDir, 'reads.yaml'), '--database', target.url], { cwd: workDir });
        const samples = await runWorker<Record<string, number[]>>('bench/query-worker.ts', {
          url: server.url,
          warmup: 100,
          count: 1000,
          queries: QUERIES.map((q) => ({ name: q.name, path: '/graphql', body: JSON.stringify({ query: q.body }) })),
        });
        for (const query of QUERIES) {
          const s = summarize(samples[query.name]!);
          const barred = BARRED.has(query.name);
          rows.push({
            bench: `reads at 1M (${target.name})`,
            measure: `${query.name} p50 / p99`,
            value: `${ms(s.p50)} / ${ms(s.p99)}`,
            reference: `bare node:http p99 ${ms(refSummary.p99)}`,
            ratio: `${(s.p99 / refSummary.p99).toFixed(1)}×`,
            bar: barred ? 'p99 < 10 ms' : '-',
            pass: barred ? s.p99 < 10 : null,
          });
        }
      } finally {
        await server?.stop();
      }
    }
  } finally {
    await reference.stop();
  }
  return { rows, notes };
}

/** The PostgreSQL database of the data set (created once, kept between runs). */
export async function benchPgUrl(adminUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = 'fraisier_bench_reads'");
    if (exists.rowCount === 0) await client.query('CREATE DATABASE fraisier_bench_reads');
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = '/fraisier_bench_reads';
  return url.toString();
}
