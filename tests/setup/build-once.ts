import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/*
 * Vitest's global setup: the CLI tests run the built command (bin/fraisier.js over dist/), as
 * users do, so dist/ must not be older than the sources. `npm ci` builds it (prepare); after an
 * edit this rebuilds it once, before any test file starts.
 */

const SOURCES = ['src', 'schema', 'db', 'package.json', 'tsconfig.build.json', 'scripts/build.mjs'];
const STAMP = join('dist', 'bundle', 'fraisier.js');

function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

export default function setup(): void {
  const built = existsSync(STAMP) ? statSync(STAMP).mtimeMs : 0;
  if (SOURCES.every((source) => newest(source) <= built)) return;
  const result = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('npm run build failed: the CLI tests run dist/');
}
