import { FraisierError } from '../errors.js';

export type PathSegment = string | number;

/** One thing wrong (or worth saying) about a configuration file, located by key path and line. */
export interface ConfigProblem {
  severity: 'error' | 'warning';
  /** Dotted key path, e.g. fraises.my_api.environments.production.health_check.timeout */
  path: string;
  line?: number;
  message: string;
  /** Set on problems others act on (e.g. the server summarises `webhook-secret-missing`). */
  code?: 'webhook-secret-missing';
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out || '(top level)';
}

/** `path: message (line N)`: the form every problem is printed in. */
export function formatProblem(problem: ConfigProblem): string {
  return `${problem.path}: ${problem.message}${problem.line ? ` (line ${problem.line})` : ''}`;
}

/** A configuration that cannot be used; carries every problem found, not only the first. */
export class ConfigError extends FraisierError {
  readonly problems: ConfigProblem[];
  readonly file?: string;

  constructor(problems: ConfigProblem[], file?: string) {
    const errors = problems.filter((p) => p.severity === 'error');
    super(
      'CONFIG_INVALID',
      `${file ?? 'configuration'}: ${errors.length} problem${errors.length === 1 ? '' : 's'}\n${errors.map(formatProblem).join('\n')}`,
    );
    this.problems = problems;
    if (file !== undefined) this.file = file;
  }
}
