import type { Command } from 'commander';
import { withClient } from '../client/open-client.js';
import { createTerminal } from '../output/terminal.js';
import { addModeOptions, examples, integer, type ModeFlags } from '../options.js';

export function registerLogs(program: Command): void {
  const command = program
    .command('logs')
    .description("the last lines of a fraise's logs in one environment, as its target reports them (journalctl on bare metal, compose logs on Docker Compose)")
    .argument('<fraise>', 'fraise name')
    .argument('<environment>', 'environment name')
    .option('-n, --lines <n>', 'how many lines (1 to 10000; default 100)', integer('--lines', 1, 10_000), 100);
  addModeOptions(command);
  examples(command, ['fraisier logs my_api production', 'fraisier logs my_api production -n 500 | grep ERROR']);
  command.action(async (fraise: string, environment: string, flags: ModeFlags & { lines: number }) => {
    const text = await withClient(flags, (client) => client.logs(fraise, environment, flags.lines));
    const term = createTerminal();
    // As the target gave them: logs are the application's own output.
    process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
    if (text === '' && term.isTTY) term.err(`(no log lines for ${fraise}/${environment})`);
  });
}
