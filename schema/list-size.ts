import type { GraphQLField } from 'graphql';

/*
 * A list read from the store says how long it can be, for the query cost
 * (src/server/plugins/use-list-cost.ts): a field's cost is its size times what is selected in it.
 * Lists without a size (the configuration's fraises, environments, jobs) count once: their
 * length is the operator's, not the caller's.
 */

/** How many items a list field answers at most. */
export interface ListSize {
  /** The argument that sets the size; when the query leaves it out, its default. */
  argument: string;
  /** The largest size the resolver accepts (a larger one is refused with BAD_USER_INPUT). */
  max: number;
}

const KEY = 'fraisierListSize';

/** The field's `extensions`: `t.field({ ..., extensions: listSize({ argument: 'limit', max: 100 }) })`. */
export function listSize(size: ListSize): Record<string, ListSize> {
  return { [KEY]: size };
}

export function readListSize(field: GraphQLField<unknown, unknown>): ListSize | undefined {
  return (field.extensions as Record<string, ListSize | undefined>)[KEY];
}
