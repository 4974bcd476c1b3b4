import { sql } from 'kysely';
import { dialectOf } from '../../db/dialect.js';
import type { DeploymentStats } from '../model.js';
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

export async function readStats(db: Db, filter: StatsFilter): Promise<DeploymentStats> {
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
