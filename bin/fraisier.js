#!/usr/bin/env node
// The fraisier command. TypeScript sources run through tsx's loader, so a fresh clone needs
// no build step: `npm install && npm start` is enough.
import { register } from 'tsx/esm/api';

register();
const { exitQuietlyWhenOutputCloses } = await import('../src/cli/output/closed-output.ts');
exitQuietlyWhenOutputCloses();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
