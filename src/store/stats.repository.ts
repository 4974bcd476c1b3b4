import { sql } from 'kysely';
import { dialectOf } from '../../db/dialect.js';
import type { DeploymentCounters, DoraFigures, DoraTotals } from '../model.js';
import type { Db } from './store.js';

/**
 * Deployment statistics from the daily counters (v_deployment_stats): finished deployments whose
 * start falls on `sinceDay` or later. `total` counts the deployments that ran to an outcome
 * (successful, failed, rolled back); superseded and cancelled ones are not in it.
 */
export interface StatsFilter {
  sinceDay: string;
  fraise?: string;
  environment?: string;
  fraiseIn?: readonly string[];
  environmentIn?: readonly string[];
}

export async function readStats(db: Db, filter: StatsFilter): Promise<DeploymentCounters> {
  let query = db
    .selectFrom('v_deployment_stats')
    .select((eb) => [
      eb.fn.coalesce(eb.fn.sum<number>('total'), eb.lit(0)).as('total'),
      eb.fn.coalesce(eb.fn.sum<number>('successful'), eb.lit(0)).as('successful'),
      eb.fn.coalesce(eb.fn.sum<number>('failed'), eb.lit(0)).as('failed'),
      eb.fn.coalesce(eb.fn.sum<number>('rolled_back'), eb.lit(0)).as('rolled_back'),
      eb.fn.coalesce(eb.fn.sum<number>('duration_sum'), eb.lit(0)).as('duration_sum'),
      eb.fn.coalesce(eb.fn.sum<number>('duration_count'), eb.lit(0)).as('duration_count'),
    ])
    .where('day', '>=', filter.sinceDay);
  if (filter.fraise !== undefined) query = query.where('fraise', '=', filter.fraise);
  if (filter.environment !== undefined) query = query.where('environment', '=', filter.environment);
  if (filter.fraiseIn !== undefined) query = query.where('fraise', 'in', filter.fraiseIn.length ? [...filter.fraiseIn] : ['']);
  if (filter.environmentIn !== undefined) {
    query = query.where('environment', 'in', filter.environmentIn.length ? [...filter.environmentIn] : ['']);
  }
  const row = await query.executeTakeFirstOrThrow();
  // Drivers disagree on the type of SUM (string, bigint, number): normalise once, here.
  const total = Number(row.total);
  const successful = Number(row.successful);
  const durationCount = Number(row.duration_count);
  return {
    total,
    successful,
    failed: Number(row.failed),
    rolledBack: Number(row.rolled_back),
    avgDurationSeconds: durationCount > 0 ? round(Number(row.duration_sum) / durationCount, 3) : null,
    successRate: total > 0 ? round((100 * successful) / total, 1) : 0,
  };
}

export interface DailyStatsDelta {
  day: string;
  fraise: string;
  environment: string;
  total: number;
  successful: number;
  failed: number;
  rolledBack: number;
  durationSum: number;
  durationCount: number;
}

/** Adds a finished deployment to its day's counters (insert, or add to the existing row). */
export async function addDailyStats(db: Db, delta: DailyStatsDelta): Promise<void> {
  const values = {
    day: delta.day,
    fraise: delta.fraise,
    environment: delta.environment,
    total: delta.total,
    successful: delta.successful,
    failed: delta.failed,
    rolled_back: delta.rolledBack,
    duration_sum: delta.durationSum,
    duration_count: delta.durationCount,
  };
  const counters = ['total', 'successful', 'failed', 'rolled_back', 'duration_sum', 'duration_count'] as const;
  if (dialectOf(db) === 'mysql') {
    await db
      .insertInto('tb_deployment_daily_stats')
      .values(values)
      .onDuplicateKeyUpdate(Object.fromEntries(counters.map((c) => [c, sql<number>`${sql.ref(c)} + VALUES(${sql.ref(c)})`])))
      .execute();
    return;
  }
  await db
    .insertInto('tb_deployment_daily_stats')
    .values(values)
    .onConflict((oc) =>
      oc
        .columns(['day', 'fraise', 'environment'])
        .doUpdateSet((eb) => Object.fromEntries(counters.map((c) => [c, eb(`tb_deployment_daily_stats.${c}`, '+', eb.ref(`excluded.${c}`))]))),
    )
    .execute();
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/*
 * DORA's four keys, from the deployments themselves (jobs left out), for the deployments that
 * ran to an outcome (SUCCESS, FAILED, ROLLED_BACK) and ended in [since, until):
 * - deployment frequency: SUCCESS per day of the window;
 * - lead time for changes: median of SUCCESS's end − its commit's committer date (commit_time);
 * - change failure rate: (FAILED + ROLLED_BACK) ÷ all of them;
 * - time to restore: median, over the failures that follow a SUCCESS (or start the window), of the
 *   time to the next SUCCESS of the same fraise and environment; a run of failures is one incident.
 * Computed here from one ordered read rather than in SQL: medians and "the next success" differ
 * in each dialect's SQL, and a window holds few enough rows.
 */
export interface DoraFilter {
  since: string;
  until: string;
  fraise?: string;
  environment?: string;
  fraiseIn?: readonly string[];
  environmentIn?: readonly string[];
}

export async function readDora(db: Db, filter: DoraFilter): Promise<{ total: DoraTotals; byTarget: DoraFigures[] }> {
  let query = db
    .selectFrom('tb_deployment')
    .select(['fraise', 'environment', 'status', 'completed_at', 'commit_time'])
    .where('job', 'is', null)
    .where('status', 'in', ['success', 'failed', 'rolled_back'])
    .where('completed_at', '>=', filter.since)
    .where('completed_at', '<', filter.until);
  if (filter.fraise !== undefined) query = query.where('fraise', '=', filter.fraise);
  if (filter.environment !== undefined) query = query.where('environment', '=', filter.environment);
  if (filter.fraiseIn !== undefined) query = query.where('fraise', 'in', filter.fraiseIn.length ? [...filter.fraiseIn] : ['']);
  if (filter.environmentIn !== undefined) query = query.where('environment', 'in', filter.environmentIn.length ? [...filter.environmentIn] : ['']);
  const rows = await query.orderBy('completed_at').orderBy('id').execute();
  const days = Math.max(1e-9, (Date.parse(filter.until) - Date.parse(filter.since)) / 86_400_000);

  const groups = new Map<string, typeof rows>();
  for (const row of rows) {
    const key = `${row.fraise}\u0000${row.environment}`;
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  const all = { successes: 0, failures: 0, count: 0, leads: [] as number[], restores: [] as number[] };
  const byTarget: DoraFigures[] = [];
  for (const group of groups.values()) {
    const part = { successes: 0, failures: 0, count: 0, leads: [] as number[], restores: [] as number[] };
    let failingSince: number | null = null;
    for (const row of group) {
      const end = Date.parse(row.completed_at!);
      part.count += 1;
      if (row.status === 'success') {
        part.successes += 1;
        if (row.commit_time) part.leads.push(Math.max(0, (end - Date.parse(row.commit_time)) / 1000));
        if (failingSince !== null) part.restores.push((end - failingSince) / 1000);
        failingSince = null;
      } else {
        part.failures += 1;
        failingSince ??= end;
      }
    }
    for (const k of ['successes', 'failures', 'count'] as const) all[k] += part[k];
    all.leads.push(...part.leads);
    all.restores.push(...part.restores);
    byTarget.push({ fraise: group[0]!.fraise, environment: group[0]!.environment, ...figures(part, days) });
  }
  return { total: figures(all, days), byTarget };
}

function figures(part: { successes: number; failures: number; count: number; leads: number[]; restores: number[] }, days: number): DoraTotals {
  return {
    deploymentFrequency: round(part.successes / days, 3),
    leadTimeSeconds: median(part.leads),
    changeFailureRate: part.count > 0 ? round((100 * part.failures) / part.count, 1) : null,
    timeToRestoreSeconds: median(part.restores),
  };
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return round(sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2, 3);
}
