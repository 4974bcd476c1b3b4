import {
  type DocumentNode,
  type FragmentDefinitionNode,
  getNamedType,
  getNullableType,
  getOperationAST,
  getVariableValues,
  type GraphQLCompositeType,
  GraphQLError,
  type GraphQLField,
  type GraphQLSchema,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type FieldNode,
  SchemaMetaFieldDef,
  type SelectionSetNode,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  valueFromAST,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { readListSize } from '../../../schema/list-size.js';

/*
 * graphql-armor's cost limit counts each field once, so fifteen aliases of
 * `deployment { progress { message } }` cost a few dozen points and answer 60,000 rows. Here a
 * list costs its size (the `limit` it is given, else its default, capped at its maximum; see
 * schema/list-size.ts) times what is selected in it, before any resolver runs.
 */

export interface ListCostOptions {
  /** Operations costing more are refused with BAD_USER_INPUT. */
  maxCost: number;
}

export function useListCost(options: ListCostOptions): Plugin {
  const check = (args: { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null; variableValues?: Record<string, unknown> | null }) => {
    const cost = operationCost(args.schema, args.document, args.operationName, args.variableValues);
    if (cost <= options.maxCost) return undefined;
    return new GraphQLError(
      `query cost ${count(cost)} is over the maximum of ${count(options.maxCost)}: a list counts as its limit (its default when not given) ` +
        'times the cost of the fields selected in it; select fewer fields or aliases, or ask for smaller pages',
      { extensions: { code: 'BAD_USER_INPUT', cost, maxCost: options.maxCost } },
    );
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const refusal = check(args);
      if (refusal) setResultAndStopExecution({ errors: [refusal] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const refusal = check(args);
      if (refusal) setResultAndStopExecution({ errors: [refusal] });
    },
  };
}

/**
 * The cost of the operation: the sum over its fields of size × (1 + the cost of the field's own
 * selection), where size is 1 but for lists that declare one. 0 when the operation is not found.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName?: string | null,
  variableValues?: Record<string, unknown> | null,
): number {
  const operation = getOperationAST(document, operationName ?? undefined);
  if (!operation) return 0;
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variableValues ?? {});
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const walker = new CostWalker(schema, fragments, coerced.coerced);
  return walker.selection(root, operation.selectionSet);
}

class CostWalker {
  /** A fragment's cost does not depend on where it is spread: computed once, however often it is. */
  readonly #fragmentCosts = new Map<string, number>();
  readonly #visiting = new Set<string>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: Map<string, FragmentDefinitionNode>,
    /** undefined when the variables do not coerce: execution refuses them anyway; sizes count as their maximum. */
    private readonly variables: Record<string, unknown> | undefined,
  ) {}

  selection(parent: GraphQLCompositeType, set: SelectionSetNode): number {
    let total = 0;
    for (const node of set.selections) {
      if (node.kind === Kind.FIELD) total += this.#field(parent, node);
      else if (node.kind === Kind.INLINE_FRAGMENT) {
        const type = node.typeCondition ? this.schema.getType(node.typeCondition.name.value) : parent;
        if (type && isCompositeType(type)) total += this.selection(type, node.selectionSet);
      } else total += this.#fragment(node.name.value);
    }
    return total;
  }

  #field(parent: GraphQLCompositeType, node: FieldNode): number {
    const field = fieldOf(this.schema, parent, node.name.value);
    if (!field) return 1;
    const named = getNamedType(field.type);
    const inner = node.selectionSet && isCompositeType(named) ? this.selection(named, node.selectionSet) : 0;
    return this.#size(field, node) * (1 + inner);
  }

  #fragment(name: string): number {
    const known = this.#fragmentCosts.get(name);
    if (known !== undefined) return known;
    const fragment = this.fragments.get(name);
    // A cycle is refused by validation before execution; count it once here.
    if (!fragment || this.#visiting.has(name)) return 0;
    const type = this.schema.getType(fragment.typeCondition.name.value);
    if (!type || !isCompositeType(type)) return 0;
    this.#visiting.add(name);
    const cost = this.selection(type, fragment.selectionSet);
    this.#visiting.delete(name);
    this.#fragmentCosts.set(name, cost);
    return cost;
  }

  #size(field: GraphQLField<unknown, unknown>, node: FieldNode): number {
    if (!isListType(getNullableType(field.type))) return 1;
    const size = readListSize(field);
    if (!size) return 1;
    const definition = field.args.find((a) => a.name === size.argument);
    const given = node.arguments?.find((a) => a.name.value === size.argument);
    let value: unknown = definition?.defaultValue;
    if (given && definition) {
      if (!this.variables) return size.max;
      const fromQuery = valueFromAST(given.value, definition.type, this.variables);
      if (fromQuery !== undefined && fromQuery !== null) value = fromQuery;
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) return size.max;
    // Above the maximum the resolver refuses, with a message naming it: cost what it would answer.
    return Math.min(Math.max(Math.ceil(value), 0), size.max);
  }
}

function fieldOf(schema: GraphQLSchema, parent: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined {
  if (name === TypeNameMetaFieldDef.name) return TypeNameMetaFieldDef;
  if (parent === schema.getQueryType()) {
    if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
    if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
  }
  return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
}

function count(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(n);
}
