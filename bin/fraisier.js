#!/usr/bin/env node
// The fraisier command: the compiled JavaScript in dist/ (`npm run build`, run by `npm install`
// in a clone through the prepare script, shipped built in the package).
import '../dist/src/cli/bin.js';
