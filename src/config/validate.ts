import { closest, distance } from 'fastest-levenshtein';
import type { z } from 'zod';
import { type ConfigProblem, formatPath, type PathSegment } from './problems.js';
import { rawConfigSchema, type RawConfig, UNUSED_DESCRIPTION } from './raw-schema.js';
import { lineOf, type YamlSource } from './yaml-source.js';

type Issue = z.core.$ZodIssue;
type AnySchema = z.core.$ZodType;

/** Validates the expanded document against the raw schema; every problem, each with path and line. */
export function validateRaw(data: unknown, source: YamlSource): { raw?: RawConfig; problems: ConfigProblem[] } {
  const result = rawConfigSchema.safeParse(data);
  if (result.success) return { raw: result.data, problems: [] };
  return { problems: describeIssues(rawConfigSchema, result.error.issues, data, source) };
}

/**
 * Turns zod issues into problems with key paths and lines. `schema` is what was validated (to
 * suggest keys), `prefix` where it sits in the file, `data` the whole file's data.
 */
export function describeIssues(
  schema: AnySchema,
  issues: readonly Issue[],
  data: unknown,
  source: YamlSource,
  prefix: PathSegment[] = [],
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) collect(schema, issue, prefix, prefix, data, source, problems);
  return problems;
}

function collect(
  schema: AnySchema,
  issue: Issue,
  root: PathSegment[],
  prefix: PathSegment[],
  data: unknown,
  source: YamlSource,
  out: ConfigProblem[],
): void {
  const path = [...prefix, ...(issue.path as PathSegment[])];
  const error = (message: string, key?: string) =>
    out.push({
      severity: 'error',
      path: formatPath(key === undefined ? path : [...path, key]),
      line: lineOf(source, path, key),
      message,
    });

  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(schema, path.slice(root.length));
      for (const key of issue.keys) error(unknownKeyMessage(key, known), key);
      return;
    }
    case 'invalid_union': {
      // Report the branch whose type matched what was written (a mapping vs a list, ...).
      const branches = issue.errors.filter(
        (branch) => !branch.some((inner) => inner.path.length === 0 && inner.code === 'invalid_type'),
      );
      if (branches.length === 1 && !isCustom(issue)) {
        for (const inner of branches[0]!) collect(schema, inner, root, path, data, source, out);
        return;
      }
      error(isCustom(issue) ? issue.message : `unexpected value ${describe(valueAt(data, path))}`);
      return;
    }
    case 'invalid_key': {
      const key = path.at(-1);
      const inner = issue.issues[0];
      error(`invalid name ${JSON.stringify(key)}: ${inner && isCustom(inner) ? inner.message : 'not allowed here'}`);
      return;
    }
    case 'invalid_type': {
      if (isCustom(issue)) return void error(issue.message);
      const value = valueAt(data, path);
      if (value === undefined) return void error(`required (expected ${issue.expected})`);
      error(`expected ${issue.expected}, got ${describe(value)}`);
      return;
    }
    case 'invalid_value': {
      if (isCustom(issue)) return void error(issue.message);
      const values = issue.values.map((v) => JSON.stringify(v));
      const value = valueAt(data, path);
      const suggestion =
        typeof value === 'string' ? suggest(value, issue.values.filter((v): v is string => typeof v === 'string')) : undefined;
      error(
        `expected ${values.length === 1 ? values[0] : `one of ${values.join(', ')}`}, got ${describe(value)}${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
      );
      return;
    }
    default:
      error(isCustom(issue) ? issue.message : issue.message.replace(/^Invalid input: /, ''));
  }
}

/** zod's own messages start with "Invalid ..."; ours are written for this file. */
function isCustom(issue: Issue): boolean {
  return !/^(Invalid|Unrecognized|Too (small|big))/.test(issue.message);
}

function unknownKeyMessage(key: string, known: string[]): string {
  const suggestion = suggest(key, known);
  if (suggestion) return `unknown key "${key}"; did you mean "${suggestion}"?`;
  return `unknown key "${key}"${known.length ? ` (known keys here: ${known.join(', ')})` : ''}`;
}

/** The closest candidate when it is close enough to be a likely typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const best = closest(word, candidates as string[]);
  const d = distance(word.toLowerCase(), best.toLowerCase());
  const limit = Math.max(2, Math.floor(Math.max(word.length, best.length) / 3));
  return d <= limit && d < word.length ? best : undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return `${typeof value} ${String(value)}`;
}

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let node = data;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}

interface Def {
  type: string;
  shape?: Record<string, AnySchema>;
  valueType?: AnySchema;
  element?: AnySchema;
  options?: AnySchema[];
  innerType?: AnySchema;
  in?: AnySchema;
}

const defOf = (schema: AnySchema): Def => schema._zod.def as unknown as Def;

/** The schemas that could describe the value at `path` (several under a union). */
function schemasAt(schema: AnySchema, path: readonly PathSegment[]): AnySchema[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
      return schemasAt(def.innerType!, path);
    case 'pipe':
      return schemasAt(def.in!, path);
    case 'union':
      return def.options!.flatMap((option) => schemasAt(option, path));
    default:
      break;
  }
  if (path.length === 0) return [schema];
  const [head, ...rest] = path;
  if (def.type === 'object' && typeof head === 'string' && def.shape?.[head]) return schemasAt(def.shape[head], rest);
  if (def.type === 'record') return schemasAt(def.valueType!, rest);
  if (def.type === 'array' && typeof head === 'number') return schemasAt(def.element!, rest);
  return [];
}

/** The keys an object at `path` may have, for "did you mean" suggestions. */
export function knownKeysAt(schema: AnySchema, path: readonly PathSegment[]): string[] {
  const keys = new Set<string>();
  for (const candidate of schemasAt(schema, path)) {
    const def = defOf(candidate);
    if (def.type === 'object') for (const key of Object.keys(def.shape ?? {})) keys.add(key);
  }
  return [...keys];
}

/** A key present in the file that Fraisier loads but does not act on, and why when that is worth saying. */
export interface UnusedKey {
  path: string;
  note?: string;
}

/** Key paths present in the data that Fraisier loads but does not act on yet. */
export function unusedKeys(data: unknown): UnusedKey[] {
  const found: UnusedKey[] = [];
  const walk = (schema: AnySchema, value: unknown, path: PathSegment[]) => {
    if (value === null || typeof value !== 'object') return;
    for (const candidate of schemasAt(schema, [])) {
      const def = defOf(candidate);
      if (def.type === 'object' && !Array.isArray(value)) {
        for (const [key, child] of Object.entries(value)) {
          const childSchema = def.shape?.[key];
          if (!childSchema || child === undefined) continue;
          const description = (childSchema as z.ZodType).description;
          if (description?.startsWith(UNUSED_DESCRIPTION)) {
            const note = description.slice(UNUSED_DESCRIPTION.length).trim();
            found.push({ path: formatPath([...path, key]), ...(note ? { note } : {}) });
          } else walk(childSchema, child, [...path, key]);
        }
        return;
      }
      if (def.type === 'record' && !Array.isArray(value)) {
        for (const [key, child] of Object.entries(value)) walk(def.valueType!, child, [...path, key]);
        return;
      }
      if (def.type === 'array' && Array.isArray(value)) {
        value.forEach((child, index) => walk(def.element!, child, [...path, index]));
        return;
      }
    }
  };
  walk(rawConfigSchema, data, []);
  return found;
}
