import { printSchema } from 'graphql';
import { z } from 'zod';
import { sortedSchema } from '../schema/index.js';
import { rawConfigSchema } from './config/raw-schema.js';
import { TARGET_SCHEMAS } from './config/target-schemas.js';

/*
 * The generated, committed artefacts: compiled/schema.graphql (the printed SDL) and
 * compiled/fraises.schema.json (the JSON Schema of fraises.yaml, for editors). A test fails when
 * the committed files differ from what this prints.
 */

export function printGraphQLSchema(): string {
  return `${printSchema(sortedSchema)}\n`;
}

export function printConfigJsonSchema(): string {
  const schema = z.toJSONSchema(rawConfigSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  // `target:` is checked against its provider's own settings: show editors each provider's shape.
  const targets = Object.values(TARGET_SCHEMAS).map((s) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }));
  const customTarget = {
    type: 'object',
    properties: { provider: { type: 'string', description: 'A provider registered by a plugin' } },
    required: ['provider'],
    additionalProperties: true,
  };
  const replaced = replaceTarget(schema, { anyOf: [...targets.map(stripMeta), customTarget] });
  return `${JSON.stringify(
    {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'https://fraisier.dev/schemas/fraises.schema.json',
      title: 'fraises.yaml',
      description: 'Fraisier configuration: fraises, their environments and targets, Git providers, branch mapping.',
      ...stripMeta(replaced),
    },
    null,
    2,
  )}\n`;
}

function stripMeta(schema: unknown): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = schema as Record<string, unknown>;
  return rest;
}

/** Replaces the schema of every `target` property (environment level) by `replacement`. */
function replaceTarget(node: unknown, replacement: unknown): unknown {
  if (Array.isArray(node)) return node.map((item) => replaceTarget(item, replacement));
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && value && typeof value === 'object' && 'target' in value && 'app_path' in value) {
      out[key] = { ...(replaceTarget(value, replacement) as object), target: replacement };
    } else {
      out[key] = replaceTarget(value, replacement);
    }
  }
  return out;
}
