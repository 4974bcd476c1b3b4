import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './enums.js';
import './fraise.js';
import './deployment.js';
import './webhook.js';
import './progress.js';
import './targets.js';
import './jobs.js';
import './health.js';
import './notifications.js';
import './gates.js';
import './viewer.js';

/** The Fraisier GraphQL schema (printed to compiled/schema.graphql by `npm run compile`). */
export const schema = builder.toSchema();

/** The schema with types and fields in a stable order, for printing. */
export const sortedSchema = lexicographicSortSchema(schema);
