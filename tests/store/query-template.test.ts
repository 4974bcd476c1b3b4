import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../db/database.js';
import { QueryTemplate } from '../../db/query-template.js';
import { DIALECTS, openTestStore, type TestStore } from '../setup/dialects.js';

/*
 * A query template is built and compiled once per database and run with new values: each run
 * must write and read exactly what the same builder would, on every dialect, in and out of a
 * transaction, and a template whose slot would not become a parameter is refused.
 */

const insertState = new QueryTemplate((db: Kysely<Database>, v: { fraise: string; environment: string; version: string | null; at: string }) =>
  db.insertInto('tb_fraise_state').values({ fraise: v.fraise, environment: v.environment, current_version: v.version, status: 'unknown', updated_at: v.at }),
);
const versionOf = new QueryTemplate((db: Kysely<Database>, v: { fraise: string; environment: string }) =>
  db.selectFrom('tb_fraise_state').select(['current_version', 'status']).where('fraise', '=', v.fraise).where('environment', '=', v.environment),
);
// The same slot twice, beside a constant.
const renameVersion = new QueryTemplate((db: Kysely<Database>, v: { version: string; fraise: string }) =>
  db
    .updateTable('tb_fraise_state')
    .set({ current_version: v.version, last_deployed_by: v.version })
    .where('fraise', '=', v.fraise)
    .where('status', '=', 'unknown'),
);

const stores: { name: string; t: TestStore }[] = [];

beforeAll(async () => {
  for (const dialect of DIALECTS) {
    if (await dialect.unavailable()) continue;
    stores.push({ name: dialect.name, t: await openTestStore(dialect) });
  }
});
afterAll(async () => {
  for (const { t } of stores) await t.dispose();
});

describe('QueryTemplate', () => {
  it('runs with the values of each call, on every dialect (one template, several databases)', async () => {
    expect(stores.length).toBeGreaterThan(0);
    for (const { name, t } of stores) {
      const db = t.store.db;
      await insertState.execute(db, { fraise: 'a', environment: 'prod', version: 'v1', at: '2026-01-01T00:00:00.000Z' });
      await insertState.execute(db, { fraise: 'b', environment: 'prod', version: null, at: '2026-01-02T00:00:00.000Z' });
      expect((await versionOf.execute(db, { fraise: 'a', environment: 'prod' })).rows, name).toEqual([{ current_version: 'v1', status: 'unknown' }]);
      expect((await versionOf.execute(db, { fraise: 'b', environment: 'prod' })).rows, name).toEqual([{ current_version: null, status: 'unknown' }]);
      expect((await versionOf.execute(db, { fraise: 'c', environment: 'prod' })).rows, name).toEqual([]);
      // The same as the builder would have written, read back with the builder.
      const built = await db.selectFrom('tb_fraise_state').select(['fraise', 'updated_at']).orderBy('fraise').execute();
      expect(built, name).toEqual([
        { fraise: 'a', updated_at: '2026-01-01T00:00:00.000Z' },
        { fraise: 'b', updated_at: '2026-01-02T00:00:00.000Z' },
      ]);
    }
  });

  it('runs inside a transaction, and a rollback takes its writes back', async () => {
    for (const { name, t } of stores) {
      const db = t.store.db;
      await db
        .transaction()
        .execute(async (trx) => {
          await renameVersion.execute(trx, { version: 'v9', fraise: 'a' });
          expect((await versionOf.execute(trx, { fraise: 'a', environment: 'prod' })).rows[0]?.current_version, name).toBe('v9');
          throw new Error('roll back');
        })
        .catch(() => {});
      expect((await versionOf.execute(db, { fraise: 'a', environment: 'prod' })).rows[0]?.current_version, name).toBe('v1');
      await db.transaction().execute((trx) => renameVersion.execute(trx, { version: 'v2', fraise: 'a' }));
      const row = await db.selectFrom('tb_fraise_state').select(['current_version', 'last_deployed_by']).where('fraise', '=', 'a').executeTakeFirstOrThrow();
      expect(row, name).toEqual({ current_version: 'v2', last_deployed_by: 'v2' });
    }
  });

  it('refuses a slot that would not become a parameter (its value would decide the statement)', () => {
    const { t } = stores[0]!;
    const inlined = new QueryTemplate((db: Kysely<Database>, v: { limit: number }) =>
      db.selectFrom('tb_fraise_state').select('fraise').where('fraise', 'in', v.limit > 0 ? ['x'] : []).limit(1),
    );
    expect(() => inlined.execute(t.store.db, { limit: 1 })).toThrow(/limit did not become a parameter/);
  });
});
