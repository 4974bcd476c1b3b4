import SchemaBuilder from '@pothos/core';
import type { GraphQLContext } from './context.js';

/** The Pothos builder. It defines no types: each area's file (fraise.ts, deployment.ts, ...) does. */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  Scalars: {
    ID: { Input: string; Output: string | number };
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
  };
}>({ defaultFieldNullability: false });
