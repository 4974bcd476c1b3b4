import { exitQuietlyWhenOutputCloses } from './output/closed-output.js';

/*
 * The fraisier command's entry: bin/fraisier.js runs its compiled form (dist/src/cli/bin.js),
 * `npm run dev` and the tests run this source through tsx. It loads only the command-line
 * parser; each command loads what it needs when it runs.
 */
exitQuietlyWhenOutputCloses();
const { main } = await import('./main.js');
process.exitCode = await main(process.argv.slice(2));
