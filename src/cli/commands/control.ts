import type { Command } from 'commander';
import { withClient } from '../client/open-client.js';
import { CliError, EXIT } from '../exit-codes.js';
import { createTerminal } from '../output/terminal.js';
import { addModeOptions, examples, type ModeFlags } from '../options.js';

/* `fraisier stop|start FRAISE ENV`: the environment's service, through its target (systemctl, `compose stop`). */
export function registerControl(program: Command): void {
  for (const action of ['stop', 'start'] as const) {
    const command = program
      .command(action)
      .description(
        action === 'stop'
          ? "stop a fraise's service in one environment (systemctl stop, compose stop); the deployed version stays"
          : "start a fraise's stopped service again in one environment (systemctl start, compose start)",
      )
      .argument('<fraise>', 'fraise name')
      .argument('<environment>', 'environment name');
    addModeOptions(command);
    examples(command, [`fraisier ${action} my_api staging`]);
    command.action(async (fraise: string, environment: string, flags: ModeFlags) => {
      const result = await withClient(flags, (client) => client.control(action, fraise, environment));
      if (!result.success) throw new CliError(result.message, EXIT.FAILED);
      createTerminal().out(result.message);
    });
  }
}
