import { exitQuietlyWhenOutputCloses } from './output/closed-output.js';
import { packageVersion } from './package-info.js';

/*
 * The fraisier command's entry: bin/fraisier.js runs its bundled form (dist/bundle/fraisier.js),
 * `npm run dev` and the tests run this source through tsx. It loads the command-line parser
 * and the commands' definitions; each command loads what it needs when it runs. `--version`
 * alone needs none of them, and is what scripts and installers call to check the command.
 */
exitQuietlyWhenOutputCloses();
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`${packageVersion()}\n`);
} else {
  const { main } = await import('./main.js');
  process.exitCode = await main(argv);
}
