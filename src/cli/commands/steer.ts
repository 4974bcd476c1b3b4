import type { Command } from 'commander';
import { withClient } from '../client/open-client.js';
import type { DeploymentView } from '../client/views.js';
import { statusColor } from '../output/format.js';
import { createTerminal, printData, type Terminal } from '../output/terminal.js';
import { addJsonOption, addModeOptions, checkDeploymentId, dataFormat, examples, type JsonFlag, type ModeFlags } from '../options.js';

/*
 * `fraisier pause|resume|promote ID`: steer a running deployment, whichever Fraisier process runs
 * it (the request is written to the store; that process acts on it at once, or at its next lease
 * renewal). Abort is `fraisier cancel ID`.
 */

type Action = 'pause' | 'resume' | 'promote';

const COMMANDS: Record<Action, { description: string; examples: string[] }> = {
  pause: {
    description: 'pause a running deployment at its next step boundary (PAUSED: it keeps its lease and target) until resumed, promoted or cancelled',
    examples: ['fraisier pause 42', 'fraisier pause 42 --server https://fraisier.example.com'],
  },
  resume: {
    description: "resume a PAUSED deployment (an operator's pause or its strategy's hold), or withdraw a pause not yet taken",
    examples: ['fraisier resume 42'],
  },
  promote: {
    description: "promote a running deployment: its strategy's remaining steps and pauses are skipped (a canary goes to 100%)",
    examples: ['fraisier promote 42'],
  },
};

export function registerSteer(program: Command): void {
  for (const action of ['pause', 'resume', 'promote'] as const) {
    const command = program.command(action).description(COMMANDS[action].description).argument('<id>', 'deployment id (see fraisier history)');
    addModeOptions(command);
    addJsonOption(command);
    examples(command, COMMANDS[action].examples);
    command.action(async (id: string, flags: ModeFlags & JsonFlag) => {
      checkDeploymentId(id);
      const term = createTerminal();
      const deployment = await withClient(flags, (client) => client.steer(action, id));
      if (dataFormat(flags)) return printData(term, flags, deployment);
      term.out(sentence(term, action, deployment));
    });
  }
}

function sentence(term: Terminal, action: Action, d: DeploymentView): string {
  const c = term.color;
  const what = `Deployment ${d.id} of ${d.fraise}/${d.environment}${d.job ? ` (job ${d.job})` : ''}`;
  const status = statusColor(c, d.status)(d.status);
  if (action === 'pause') {
    return d.status === 'PAUSED'
      ? `${c.green('✓')} ${what} ${status}: ${d.pauseMessage ?? 'paused'}${d.pausedUntil ? `; it stays paused after its hold (until ${d.pausedUntil})` : ''}, until resumed`
      : `${c.yellow('⟳')} Pause requested: ${what} pauses at its next step boundary (follow it with fraisier deployment ${d.id} --follow)`;
  }
  if (action === 'resume') {
    return d.status === 'PAUSED'
      ? `${c.yellow('⟳')} Resume requested: ${what} goes on in a moment`
      : `${c.green('✓')} ${what} ${status}: not paused any more`;
  }
  return `${c.green('✓')} ${what} promoted (${status}): its remaining steps and pauses are skipped`;
}
