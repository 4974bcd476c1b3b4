import type { Command } from 'commander';
import { withClient } from '../client/open-client.js';
import { CliError, EXIT, silentExit } from '../exit-codes.js';
import { statusColor } from '../output/format.js';
import { createTerminal, printData } from '../output/terminal.js';
import { addJsonOption, addModeOptions, checkDeploymentId, dataFormat, examples, type JsonFlag, type ModeFlags } from '../options.js';

export function registerCancel(program: Command): void {
  const command = program
    .command('cancel')
    .description('cancel a deployment: a queued one ends at once, a running one stops at its next step')
    .argument('<id>', 'deployment id (see fraisier history)');
  addModeOptions(command);
  addJsonOption(command);
  examples(command, ['fraisier cancel 42', 'fraisier history --status IN_PROGRESS --json | jq -r ".[].id" | xargs -n1 fraisier cancel']);
  command.action(async (id: string, flags: ModeFlags & JsonFlag) => {
    checkDeploymentId(id);
    const term = createTerminal();
    const deployment = await withClient(flags, (client) => client.cancel(id));
    const running = deployment.status === 'IN_PROGRESS' || deployment.status === 'PAUSED';
    const stopped = deployment.status === 'CANCELLED' || running;
    if (dataFormat(flags)) {
      printData(term, flags, deployment);
      if (!stopped) throw silentExit(EXIT.FAILED);
      return;
    }
    const c = term.color;
    const what = `${deployment.fraise}/${deployment.environment}${deployment.job ? ` (job ${deployment.job})` : ''}`;
    if (deployment.status === 'CANCELLED') {
      term.out(`${c.green('✓')} Deployment ${deployment.id} of ${what} ${statusColor(c, 'CANCELLED')('CANCELLED')}`);
    } else if (running) {
      // It runs in another process: it stops at its next step boundary there.
      term.out(`${c.yellow('⟳')} Cancel requested: deployment ${deployment.id} of ${what} stops at its next step (follow it with fraisier history)`);
    } else {
      throw new CliError(`deployment ${deployment.id} of ${what} ended ${deployment.status} before it could be cancelled`, EXIT.FAILED);
    }
  });
}
