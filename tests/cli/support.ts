import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { CliResult } from '../setup/cli.js';

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

/** A command run both ways (local with --config, remote with --url), at once: they must answer the same; resolves with the local answer. */
export function inBothModes(local: (args: string[]) => Promise<CliResult>, remote: (args: string[]) => Promise<CliResult>) {
  return async (args: string[]): Promise<CliResult> => {
    const [l, r] = await Promise.all([local(args), remote(args)]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }, `remote ${args.join(' ')}`).toEqual({ code: l.code, stdout: l.stdout, stderr: l.stderr });
    return l;
  };
}
