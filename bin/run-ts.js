#!/usr/bin/env node
// Runs a TypeScript script of this repository (used by npm scripts: compile, bench).
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

register();
const [script, ...args] = process.argv.slice(2);
if (!script) {
  console.error('usage: run-ts <script.ts> [args...]');
  process.exit(2);
}
process.argv = [process.argv[0], resolve(script), ...args];
await import(pathToFileURL(resolve(script)).href);
