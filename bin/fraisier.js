#!/usr/bin/env node
// The fraisier command: the bundled JavaScript in dist/bundle/ (`npm run build`, run by `npm install`
// in a clone through the prepare script, shipped built in the package).
import module from 'node:module';

// Node 22.1 and later keep V8's compiled code on disk between runs, so every command after the
// first starts faster; older Node lacks the function and compiles each time.
module.enableCompileCache?.();
await import('../dist/bundle/fraisier.js');
