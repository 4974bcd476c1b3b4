import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../db/database.js';
import { InlineLimitsPlugin } from '../../db/pg-prepared.js';
import { listDeployments } from '../../src/store/deployment.repository.js';
import { DIALECTS, openTestStore, type TestStore } from '../setup/dialects.js';

/*
 * On PostgreSQL the store's statements are prepared once per connection (planning the views
 * cost more than running them), and a plan made stale by a migration from another process is
 * replaced rather than failing the query.
 */

const postgres = DIALECTS.find((d) => d.name === 'postgres')!;
const skip = await postgres.unavailable();

describe.skipIf(skip)('prepared statements on PostgreSQL', () => {
  let t: TestStore;
  beforeAll(async () => {
    // One connection: every statement below runs on the connection that prepared it.
    t = await openTestStore(postgres, { poolSize: 1 });
  });
  afterAll(() => t?.dispose());

  it('prepares reads and writes once per connection, never BEGIN or DDL', async () => {
    for (let i = 0; i < 3; i++) await t.store.db.selectFrom('v_deployment_history').selectAll().orderBy('id', 'desc').limit(20).execute();
    const prepared = await t.store.db.transaction().execute(async (trx) => {
      await trx.selectFrom('tb_fraise_state').select('fraise').where('fraise', '=', 'x').execute();
      return (await sql<{ name: string; statement: string }>`SELECT name, statement FROM pg_prepared_statements ORDER BY name`.execute(trx)).rows;
    });
    const statements = prepared.map((p) => p.statement.toLowerCase());
    expect(statements.filter((s) => s.includes('from "v_deployment_history"'))).toHaveLength(1);
    expect(statements.some((s) => s.includes('from "tb_fraise_state"'))).toBe(true);
    expect(statements.some((s) => /^\s*(begin|commit|create|alter)/.test(s))).toBe(false);
    expect(prepared.every((p) => p.name.startsWith('fraisier_'))).toBe(true);
  });

  it('plans a list read once: its limit is in the statement, not a parameter that forces a plan per execution', async () => {
    for (let i = 0; i < 8; i++) await listDeployments(t.store.db, { limit: 20 });
    const { rows } = await sql<{ statement: string; generic_plans: number; custom_plans: number }>`
      SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements`.execute(t.store.db);
    const list = rows.filter((r) => /from "v_deployment_history".*limit 20/is.test(r.statement));
    expect(list).toHaveLength(1);
    // With `LIMIT $1`, PostgreSQL made a custom plan at each of the 8 executions.
    expect(Number(list[0]!.custom_plans)).toBe(0);
  });

  it('replans a statement whose result changed under it (a migration from another process)', async () => {
    const other = new pg.Client({ connectionString: t.database.url });
    await other.connect();
    try {
      await other.query('CREATE VIEW v_prepared_probe AS SELECT 1::int AS n');
      const read = () => sql<{ n: unknown }>`SELECT * FROM v_prepared_probe`.execute(t.store.db);
      expect((await read()).rows).toEqual([{ n: 1 }]);
      await other.query("CREATE OR REPLACE VIEW v_prepared_probe AS SELECT 1::int AS n, 'two'::text AS label");
      expect((await read()).rows).toEqual([{ n: 1, label: 'two' }]);
    } finally {
      await other.query('DROP VIEW IF EXISTS v_prepared_probe');
      await other.end();
    }
  });
});

describe('limits written into the statement', () => {
  // Compiled only: no server needed, and the pool is never asked for a connection.
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: {} as never }), plugins: [new InlineLimitsPlugin()] });
  const compiled = (limit: number) => db.selectFrom('tb_deployment').select('id').limit(limit).compile();

  it('takes non-negative integers only, so nothing else reaches the statement text', () => {
    expect(compiled(20)).toMatchObject({ sql: expect.stringMatching(/limit 20$/), parameters: [] });
    for (const bad of [1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
      expect(compiled(bad)).toMatchObject({ sql: expect.stringMatching(/limit \$1$/), parameters: [bad] });
    }
  });
});
