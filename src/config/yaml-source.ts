import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, type Scalar, visit } from 'yaml';
import { type ConfigProblem, formatPath, type PathSegment } from './problems.js';
import { inUrlPassword } from './secrets.js';

/*
 * fraises.yaml as a YAML document that remembers where each key is, so that every problem can
 * name its line; and the expansion of ${VAR} / ${VAR:-default} (and the Python Fraisier's
 * `!envvar NAME`) in every string, done on the document so positions survive.
 */

export interface YamlSource {
  doc: Document;
  lines: LineCounter;
}

/** The Python Fraisier marks env references with `!envvar NAME`; keep the tag, expand it later. */
const envvarTag = {
  tag: '!envvar',
  resolve: (value: string) => value,
};

export function parseYaml(text: string): { source: YamlSource; problems: ConfigProblem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, customTags: [envvarTag], prettyErrors: false, uniqueKeys: true });
  // Syntax errors cascade: the first one is the one to fix.
  const first = doc.errors[0];
  if (!first) return { source: { doc, lines }, problems: [] };
  const line = lines.linePos(first.pos[0]).line;
  const lineText = text.split(/\r?\n/)[line - 1] ?? '';
  const hint = lineText.includes('${') && /[[{]/.test(lineText) ? ' (inside [ ] or { }, quote values that use ${...})' : '';
  return {
    source: { doc, lines },
    problems: [{ severity: 'error', path: '(yaml)', line, message: `${first.message.split('\n')[0] ?? first.message}${hint}` }],
  };
}

/** The line of the value at `path` (or of its key, when `key` is set). */
export function lineOf(source: YamlSource, path: readonly PathSegment[], key?: string): number | undefined {
  let node: unknown = source.doc.contents;
  let lastKeyNode: unknown;
  for (const segment of key === undefined ? path : [...path, key]) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) break;
      lastKeyNode = pair.key;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
      lastKeyNode = node;
    } else {
      break;
    }
  }
  const target = (key !== undefined ? lastKeyNode : node ?? lastKeyNode) as Node | undefined;
  const offset = target?.range?.[0];
  return offset === undefined ? undefined : source.lines.linePos(offset).line;
}

export interface ExpandOptions {
  /**
   * Whether an unset variable at `path` (in a URL's password when `inUrlPassword`) may leave its
   * value unavailable instead of being a problem: secrets, when the configuration is loaded to read.
   */
  defer?: (path: readonly PathSegment[], inUrlPassword: boolean) => boolean;
  /**
   * Whether a ${VAR} unset at `path` is left as written: values that a shell or systemd reads
   * later, with its own variables (${CREDENTIALS_DIRECTORY}, ${DATABASE_URL} in a hook...).
   */
  passThrough?: (path: readonly PathSegment[]) => boolean;
}

/** A ${VAR} (or !envvar) left unset where that was allowed: its value is unavailable. */
export interface UnsetReference {
  path: PathSegment[];
  variable: string;
  line?: number;
}

export interface Expansion {
  problems: ConfigProblem[];
  /** Values that stay unavailable (options.defer); the value left in the document is meaningless. */
  unset: UnsetReference[];
  /** ${VAR}s left as written for systemd or the shell (options.passThrough). */
  leftAsWritten: UnsetReference[];
}

const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g;

/**
 * Expands ${VAR}, ${VAR:-default} (unset or empty → default) and ${VAR-default} (unset →
 * default) in every string value; `$${` stays a literal `${`. A plain scalar that was a single
 * reference takes the type of what it expands to, so `port: ${PORT:-8080}` is a number.
 */
export function expandEnv(source: YamlSource, env: Record<string, string | undefined>, options: ExpandOptions = {}): Expansion {
  const problems: ConfigProblem[] = [];
  const unset: UnsetReference[] = [];
  const leftAsWritten: UnsetReference[] = [];
  /** An unset variable: a problem, or recorded when the value may stay unavailable. */
  const missing = (path: PathSegment[], node: Scalar, variable: string, inPassword: boolean, message: string) => {
    const line = lineOfNode(source, node);
    if (options.defer?.(path, inPassword)) unset.push({ path, variable, ...(line ? { line } : {}) });
    else problems.push({ severity: 'error', path: formatPath(path), line, message });
  };
  visit(source.doc, {
    Scalar(key, node, ancestry) {
      if (key === 'key') return;
      const path = pathOf(ancestry, node);
      if (node.tag === '!envvar') {
        const name = String(node.value ?? '').trim();
        const value = env[name];
        if (value === undefined) {
          missing(path, node, name, false, `environment variable ${name} is not set`);
        } else {
          node.value = value;
        }
        node.tag = undefined;
        return;
      }
      if (typeof node.value !== 'string' || !node.value.includes('$')) return;
      const original = node.value;
      let single = false;
      const expanded = original.replace(REFERENCE, (match, name: string | undefined, op: string | undefined, fallback: string | undefined, offset: number) => {
        if (match === '$${') return '${';
        if (match.length === original.length && offset === 0) single = true;
        const value = env[name!];
        if (op === ':-' && (value === undefined || value === '')) return fallback ?? '';
        if (op === '-' && value === undefined) return fallback ?? '';
        if (value === undefined && options.passThrough?.(path)) {
          const line = lineOfNode(source, node);
          leftAsWritten.push({ path, variable: name!, ...(line ? { line } : {}) });
          return match;
        }
        if (value === undefined) {
          missing(path, node, name!, inUrlPassword(original, offset), `environment variable ${name} is not set (write \${${name}:-default} to give a default)`);
          return '';
        }
        return value;
      });
      if (expanded === original) return;
      node.value = single && node.type === 'PLAIN' ? retype(expanded) : expanded;
    },
  });
  return { problems, unset, leftAsWritten };
}

function retype(value: string): string | number | boolean {
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}

function lineOfNode(source: YamlSource, node: Scalar): number | undefined {
  const offset = node.range?.[0];
  return offset === undefined ? undefined : source.lines.linePos(offset).line;
}

function pathOf(ancestry: readonly unknown[], node: unknown): PathSegment[] {
  const path: PathSegment[] = [];
  let child: unknown = node;
  for (let i = ancestry.length - 1; i >= 0; i--) {
    const parent = ancestry[i];
    if (isPair(parent)) {
      if (isScalar(parent.key)) path.unshift(String(parent.key.value));
    } else if (isSeq(parent)) {
      path.unshift(parent.items.indexOf(child as never));
    }
    child = parent;
  }
  return path;
}
