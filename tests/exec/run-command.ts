// A stand-in for a Fraisier process, for tests that kill it: runs one command through the runner,
// here or over SSH (settings as JSON in argv[2], or "local"), then waits to be killed.
// Usage: node bin/run-ts.js tests/exec/run-command.ts <local | ssh settings JSON> <argv...>
import { createRunner } from '../../src/exec/runner.js';
import { localHost, sshHost, type SshSettings } from '../../src/providers/host.js';

const [where, ...argv] = process.argv.slice(2);
const runner = createRunner();
const host = where === 'local' ? localHost(runner) : sshHost(runner, JSON.parse(where!) as SshSettings);
console.log('running');
await host.run(argv).catch((error: Error) => console.error(error.message));
