import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A scratch directory for one test file: a fraises.yaml in it, removed by `dispose`. */
export interface Workdir {
  path: string;
  file(name: string, content: string): string;
  dispose(): void;
}

export function workdir(prefix = 'fraisier-cli-'): Workdir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    file(name, content) {
      const file = join(path, name);
      writeFileSync(file, content);
      return file;
    },
    dispose: () => rmSync(path, { recursive: true, force: true }),
  };
}

/** The lines of a command's output, without trailing spaces. */
export function lines(text: string): string[] {
  return text.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');
}

// eslint-disable-next-line no-control-regex
export const ANSI = /\u001b\[/;

/**
 * Each test of these files runs the bin several times (about a second each, more on a busy
 * machine): a per-test budget above vitest's default.
 */
export const CLI_TIMEOUT = 180_000;
