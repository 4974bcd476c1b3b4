import {
  type KyselyPlugin,
  LimitNode,
  OperationNodeTransformer,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
  ValueNode,
} from 'kysely';
import type pg from 'pg';

/*
 * PostgreSQL plans a statement every time it is sent unnamed: for the API's reads over the
 * views that was 1.2 ms of planning for 0.2 ms of execution. Named (prepared) statements are
 * planned once per connection and reused, as postgres.js does by default. Every SELECT,
 * INSERT, UPDATE, DELETE and WITH that Kysely sends gets a name of its own, the same on every
 * connection; anything else (BEGIN, DDL, SET) goes unnamed. The names are capped: past
 * MAX_NAMED distinct texts, new ones go unnamed.
 *
 * A prepared statement outlives a migration run by another process; should it change what a
 * statement returns, PostgreSQL refuses the old plan ("cached plan must not change result
 * type"): the statement is then sent again under a new name, which plans it afresh.
 */

const MAX_NAMED = 2_000;
const PREPARABLE = /^\s*(select|insert|update|delete|with)\b/i;

export function preparedStatementPool(pool: pg.Pool): PostgresPool {
  const names = new Map<string, string>();
  let counter = 0;
  const nameOf = (text: string): string | undefined => {
    const known = names.get(text);
    if (known !== undefined) return known;
    if (names.size >= MAX_NAMED || !PREPARABLE.test(text)) return undefined;
    const name = `fraisier_${(++counter).toString(36)}`;
    names.set(text, name);
    return name;
  };

  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    const run = async <R>(text: string, values: readonly unknown[]): Promise<PostgresQueryResult<R>> => {
      const name = nameOf(text);
      if (name === undefined) return (await client.query(text, values as unknown[])) as unknown as PostgresQueryResult<R>;
      try {
        return (await client.query({ name, text, values: values as unknown[] })) as unknown as PostgresQueryResult<R>;
      } catch (error) {
        if (!isStalePlan(error)) throw error;
        names.delete(text);
        const renamed = nameOf(text);
        return (await client.query(renamed ? { name: renamed, text, values: values as unknown[] } : { text, values: values as unknown[] })) as unknown as PostgresQueryResult<R>;
      }
    };
    return {
      query: ((sqlOrCursor: unknown, parameters?: readonly unknown[]) =>
        typeof sqlOrCursor === 'string' ? run(sqlOrCursor, parameters ?? []) : client.query(sqlOrCursor as never)) as PostgresPoolClient['query'],
      release: () => client.release(),
    };
  };

  return {
    connect: async () => wrap(await pool.connect()),
    end: () => pool.end(),
  };
}

function isStalePlan(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === '0A000' && typeof message === 'string' && message.includes('cached plan');
}

/**
 * Row limits written into the statement instead of sent as parameters. A prepared statement
 * whose LIMIT is a parameter is planned anew at every execution: its generic plan assumes a
 * tenth of the table, is costed far above the custom one and never chosen (a custom plan per
 * call in pg_prepared_statements, 0.3 ms per read over the views). With the limit in the text,
 * each shape is planned once per connection. Only non-negative integers are written in: any
 * other value stays a parameter, so the text cannot carry anything else.
 */
export class InlineLimitsPlugin implements KyselyPlugin {
  readonly #transformer = new InlineLimits();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

class InlineLimits extends OperationNodeTransformer {
  protected override transformLimit(node: LimitNode): LimitNode {
    const limit = node.limit;
    if (ValueNode.is(limit) && !limit.immediate && isRowCount(limit.value)) return LimitNode.create(ValueNode.createImmediate(limit.value));
    return super.transformLimit(node);
  }
}

function isRowCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
