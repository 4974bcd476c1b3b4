#!/usr/bin/env node
// npm run build: the TypeScript of src/, schema/ and db/ compiled by tsc into dist/ (tsconfig.build.json),
// then the files tsc does not emit (the dashboard's public files, the init template: anything
// beside the sources that is not TypeScript) copied to the same place under dist/, where the
// compiled modules look for them (src/package-files.ts). Then the command itself is bundled by
// esbuild into dist/bundle/ (what bin/fraisier.js runs): one module per lazily loaded part instead
// of some 900 files to resolve and read at every start, which was most of a CLI command's time.
// dist/ is made afresh: no module of a deleted source survives.
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const SOURCES = ['src', 'schema', 'db'];

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);

let copied = 0;
for (const top of SOURCES) {
  for (const entry of readdirSync(join(root, top), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.endsWith('.ts')) continue;
    const from = join(entry.parentPath ?? entry.path, entry.name);
    cpSync(from, join(dist, from.slice(root.length + 1)));
    copied += 1;
  }
}

await build({
  entryPoints: { fraisier: join(dist, 'src', 'cli', 'bin.js') },
  outdir: join(dist, 'bundle'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Native or optional drivers stay packages of their own, loaded from node_modules when used.
  external: ['better-sqlite3', 'pg', 'pg-native', 'mysql2'],
  // CommonJS dependencies bundled into ES modules still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __fraisierRequire } from 'node:module'; const require = __fraisierRequire(import.meta.url);" },
  logLevel: 'warning',
});
console.log(`dist/: compiled ${SOURCES.join(', ')}; ${copied} other files copied; the command bundled in dist/bundle/`);
