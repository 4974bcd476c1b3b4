import type { Command } from 'commander';
import { withClient } from '../client/open-client.js';
import type { DeploymentView } from '../client/views.js';
import { CliError, EXIT } from '../exit-codes.js';
import { clean, statusColor } from '../output/format.js';
import { unmetGates } from '../output/gates.js';
import { createTerminal, printData, type Terminal } from '../output/terminal.js';
import { addJsonOption, addModeOptions, checkDeploymentId, dataFormat, examples, type JsonFlag, type ModeFlags } from '../options.js';

/*
 * `fraisier approve ID [--comment TEXT]` and `fraisier reject ID --reason TEXT`: an approver's
 * decision on a deployment WAITING on its environment's approvals gate (protection.approvals).
 * Who may decide is the server's (or, locally, the services') check: the approve scope on that
 * fraise and environment, being one of the rule's approvers, not the one who asked for it. A
 * rejection ends the deployment CANCELLED with the reason; an approval that opens the last gate
 * starts it on whichever process claims it.
 */

export function registerGates(program: Command): void {
  const approve = program
    .command('approve')
    .description("approve a deployment WAITING for approval (protection.approvals): once enough approvers did and its other gates are open, it starts")
    .argument('<id>', 'deployment id (see fraisier history --waiting)')
    .option('-m, --comment <text>', 'a comment, recorded with the approval and shown in its history');
  addModeOptions(approve);
  addJsonOption(approve);
  examples(approve, ['fraisier history --waiting', 'fraisier approve 42', 'fraisier approve 42 --comment "checked the migration"']);
  approve.action(async (id: string, flags: ModeFlags & JsonFlag & { comment?: string }) => {
    checkDeploymentId(id);
    const term = createTerminal();
    const deployment = await withClient(flags, (client) => client.decide('approve', id, flags.comment));
    if (dataFormat(flags)) return printData(term, flags, deployment);
    term.out(approved(term, deployment));
  });

  const reject = program
    .command('reject')
    .description('reject a deployment WAITING for approval (protection.approvals): it ends CANCELLED with the reason')
    .argument('<id>', 'deployment id (see fraisier history --waiting)')
    .option('-r, --reason <text>', 'why (required): recorded, shown in its history and as its error');
  addModeOptions(reject);
  addJsonOption(reject);
  examples(reject, ['fraisier reject 42 --reason "not during the sale"']);
  reject.action(async (id: string, flags: ModeFlags & JsonFlag & { reason?: string }) => {
    checkDeploymentId(id);
    // Checked here, before anything is asked of the server: a rejection without a reason is a usage error.
    if (!flags.reason?.trim()) throw new CliError(`reject needs --reason: say why deployment ${id} is rejected (it is recorded and shown in its history)`, EXIT.USAGE);
    const term = createTerminal();
    const deployment = await withClient(flags, (client) => client.decide('reject', id, flags.reason));
    if (dataFormat(flags)) return printData(term, flags, deployment);
    term.out(rejected(term, deployment));
  });
}

const what = (d: DeploymentView) => `Deployment ${d.id} of ${d.fraise}/${d.environment}`;

function approved(term: Terminal, d: DeploymentView): string {
  const c = term.color;
  const status = statusColor(c, d.status)(d.status);
  const tally = d.gates?.find((g) => g.kind === 'APPROVALS')?.message;
  const head = `${c.green('✓')} ${what(d)} approved${tally ? ` (${clean(tally)})` : ''}`;
  const unmet = d.status === 'WAITING' ? unmetGates(d) : [];
  if (unmet.length) return `${head}; still ${status}: ${unmet.map((g) => `${g.kind.toLowerCase()}: ${clean(g.message)}`).join('; ')}`;
  if (['WAITING', 'PENDING', 'IN_PROGRESS', 'PAUSED'].includes(d.status)) return `${head}: it starts (${status}; follow it with fraisier deployment ${d.id} --follow)`;
  return `${head}: it is ${status}`;
}

function rejected(term: Terminal, d: DeploymentView): string {
  const c = term.color;
  return `${c.green('✓')} ${what(d)} rejected: ${statusColor(c, d.status)(d.status)}${d.errorMessage ? ` (${clean(d.errorMessage)})` : ''}`;
}
