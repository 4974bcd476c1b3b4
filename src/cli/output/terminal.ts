import { createRequire } from 'node:module';
import pc from 'picocolors';
import { dataFormat, type JsonFlag } from '../options.js';

/*
 * Where the CLI writes, and how: colour only on a terminal and never with NO_COLOR (or
 * TERM=dumb); tables as wide as the terminal (COLUMNS, else 100 when not a terminal).
 */

export type Colors = ReturnType<typeof pc.createColors>;

export interface Terminal {
  readonly isTTY: boolean;
  readonly color: Colors;
  readonly colorEnabled: boolean;
  /** Columns tables must fit in. */
  readonly width: number;
  out(text?: string): void;
  err(text: string): void;
}

export const DEFAULT_WIDTH = 100;

export function createTerminal(
  stdout: NodeJS.WriteStream = process.stdout,
  stderr: NodeJS.WriteStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): Terminal {
  const isTTY = stdout.isTTY === true;
  const colorEnabled = isTTY && !env.NO_COLOR && env.TERM !== 'dumb';
  const fromEnv = Number(env.COLUMNS);
  const width = Number.isInteger(fromEnv) && fromEnv >= 20 ? fromEnv : isTTY && stdout.columns ? stdout.columns : DEFAULT_WIDTH;
  return {
    isTTY,
    color: pc.createColors(colorEnabled),
    colorEnabled,
    width,
    out: (text = '') => void stdout.write(`${text}\n`),
    err: (text) => void stderr.write(`${text}\n`),
  };
}

/** Prints a value as JSON: what --json prints, two-space indented, one trailing newline. */
export function printJson(term: Terminal, value: unknown): void {
  term.out(JSON.stringify(value, null, 2));
}

/** Prints a value in the format the flags ask for (--output yaml, or JSON otherwise). */
export function printData(term: Terminal, flags: JsonFlag, value: unknown): void {
  if (dataFormat(flags) === 'yaml') {
    // A document per value, ending with one newline, as --json does.
    term.out(loadYaml().stringify(value, { lineWidth: 0 }).trimEnd());
  } else printJson(term, value);
}

/**
 * The yaml package, loaded when a command prints YAML rather than at start-up (remote commands
 * need it for nothing else). Through require: the bundle's dynamic import of a CommonJS package
 * would give only its default export.
 */
export function loadYaml(): typeof import('yaml') {
  return createRequire(import.meta.url)('yaml') as typeof import('yaml');
}
