import { type Compilable, type CompiledQuery, createQueryId, type DialectAdapter, type Kysely, type QueryResult } from 'kysely';

/*
 * A query whose shape never changes, built and compiled by Kysely once per database and then
 * run with new values (Kysely's "splitting build, compile and execute" recipe). Building and
 * compiling a statement (a tree of small frozen objects, visited into text) costs several times
 * what SQLite then takes to run it, and a webhook delivery runs eight (docs/performance.md).
 *
 * The query is built with a slot in place of each value: `slots.fraise` is a marker string,
 * and each parameter of the compiled statement that is a marker takes, at every execution, the
 * value given under that name. A value must therefore never decide the statement's shape: no
 * `in` list, no `is null`, no optional clause from a slot (write those as constants or as two
 * templates). A slot that does not come out as a parameter is refused when first compiled.
 *
 * Compiled per dialect adapter, that is per Kysely instance (its transactions share it), so a
 * plugin of that instance (PostgreSQL's inlined limits) applies as it would to the builder.
 */

const SLOT = '\u0000slot:';

type Parameter = { slot: string } | { value: unknown };

interface Compiled {
  sql: string;
  query: CompiledQuery['query'];
  parameters: Parameter[];
}

export class QueryTemplate<DB, Values extends object, Row> {
  readonly #compiled = new WeakMap<DialectAdapter, Compiled>();

  constructor(private readonly build: (db: Kysely<DB>, slots: Values) => Compilable<Row>) {}

  /** Runs the statement on `db` (a database or a transaction) with these values. */
  execute(db: Kysely<DB>, values: Values): Promise<QueryResult<Row>> {
    const adapter = db.getExecutor().adapter;
    let compiled = this.#compiled.get(adapter);
    if (!compiled) this.#compiled.set(adapter, (compiled = this.#compile(db)));
    const given = values as Record<string, unknown>;
    const parameters = compiled.parameters.map((p) => ('slot' in p ? (given[p.slot] ?? null) : p.value));
    return db.executeQuery<Row>({ sql: compiled.sql, query: compiled.query, parameters, queryId: createQueryId() });
  }

  #compile(db: Kysely<DB>): Compiled {
    const named = new Set<string>();
    const slots = new Proxy({} as Values, {
      get: (_target, name) => {
        named.add(String(name));
        return `${SLOT}${String(name)}`;
      },
    });
    const { sql, query, parameters } = this.build(db, slots).compile();
    const mapped = parameters.map((value): Parameter => (typeof value === 'string' && value.startsWith(SLOT) ? { slot: value.slice(SLOT.length) } : { value }));
    const bound = new Set(mapped.flatMap((p) => ('slot' in p ? [p.slot] : [])));
    const lost = [...named].filter((name) => !bound.has(name));
    if (lost.length || sql.includes(SLOT)) throw new Error(`query template: ${lost.join(', ') || 'a slot'} did not become a parameter of: ${sql}`);
    return { sql, query, parameters: mapped };
  }
}
