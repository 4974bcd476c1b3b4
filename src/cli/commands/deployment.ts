import type { Command } from 'commander';
import { READ_ONLY, withClient } from '../client/open-client.js';
import type { DeploymentView, ProgressView } from '../client/views.js';
import { EXIT, silentExit } from '../exit-codes.js';
import { keepRunningIfOutputCloses } from '../output/closed-output.js';
import { clean, shortVersion, statusColor, targetLabel } from '../output/format.js';
import { gateLines } from '../output/gates.js';
import { ProgressRenderer } from '../output/progress-renderer.js';
import { createTerminal, printData, type Terminal } from '../output/terminal.js';
import { formatDuration, relativeTime } from '../output/time.js';
import { addJsonOption, addModeOptions, checkDeploymentId, dataFormat, examples, type JsonFlag, type ModeFlags } from '../options.js';
import { followUntilEnd } from './run-deployment.js';

/* `fraisier deployment ID [--follow]`: one deployment, as `gh run view` shows one run. */

export function registerDeployment(program: Command): void {
  const command = program
    .command('deployment')
    .description('one deployment: its status, fraise, environment, commit, times and error; --follow streams its steps to the end')
    .argument('<id>', 'deployment id (see fraisier history)')
    .option('--follow', 'stream its steps until it ends; exit 0 only if it succeeded');
  addModeOptions(command);
  addJsonOption(command);
  examples(command, [
    'fraisier deployment 42',
    'fraisier deployment 42 --follow',
    'fraisier deployment 42 --output yaml',
    '',
    'Exit codes with --follow: 0 succeeded, 1 failed, rolled back, cancelled or superseded, 3 unreachable.',
  ]);
  command.action(async (id: string, flags: ModeFlags & JsonFlag & { follow?: boolean }) => {
    checkDeploymentId(id);
    const term = createTerminal();
    const data = dataFormat(flags);
    // --follow, in local mode, runs the deployment when nobody else does: that needs its secrets.
    const needs = flags.follow ? {} : READ_ONLY;
    await withClient(flags, async (client) => {
      const deployment = await client.deployment(id);
      if (!flags.follow) {
        if (data) return printData(term, flags, deployment);
        return printDeployment(term, deployment);
      }
      // In local mode a deployment nobody runs yet is run here (as deploy does): a reader that
      // leaves (`| head`) must not cut it off mid-step.
      if (client.runsDeployments) keepRunningIfOutputCloses();
      const renderer = data ? undefined : new ProgressRenderer(term);
      if (renderer) {
        printDeployment(term, deployment);
        term.out();
      }
      const events: ProgressView[] = [];
      const final = await followUntilEnd(term, client, deployment, (event) => {
        events.push(event);
        renderer?.event(event);
      });
      if (data) printData(term, flags, { ...final, progress: events });
      else renderer!.finish(final, 'deploy');
      if (final.status !== 'SUCCESS') throw silentExit(EXIT.FAILED);
    }, needs);
  });
}

/** The deployment's record, one field a line. */
function printDeployment(term: Terminal, d: DeploymentView): void {
  const c = term.color;
  term.out(`${c.bold(`Deployment ${d.id}`)}: ${statusColor(c, d.status)(d.status)}`);
  const commit = d.gitCommit ?? (d.gitBranch ? `head of ${d.gitBranch}` : null);
  const rows: [string, string | null][] = [
    ['Fraise', d.job ? `${d.fraise} (job ${d.job})` : d.fraise],
    ['Environment', d.environment],
    ['Target', targetLabel(d.target)],
    ['Commit', commit],
    ['Branch', d.gitBranch],
    ['Version', d.newVersion || d.oldVersion ? `${shortVersion(d.oldVersion)} → ${shortVersion(d.newVersion)}` : null],
    ['Triggered by', d.requestedBy ? `${d.triggeredBy} (${clean(d.requestedBy)})` : d.triggeredBy],
    ['Requested', at(d.requestedAt)],
    // A queued one has not started (its record's startedAt is when it was queued).
    ['Started', d.status === 'PENDING' || d.status === 'WAITING' ? null : at(d.startedAt)],
    ['Completed', d.completedAt ? at(d.completedAt) : null],
    ['Duration', d.durationSeconds !== null ? formatDuration(d.durationSeconds) : null],
    ['Pause', d.status === 'PAUSED' ? `${clean(d.pauseMessage ?? 'paused')}${d.pausedUntil ? ` (until ${at(d.pausedUntil)})` : ' (until resumed or promoted)'}` : null],
    ['Promoted', d.promoted ? 'yes: the remaining steps and pauses are skipped' : null],
    ['Next check', d.status === 'WAITING' && d.waitingUntil ? `${at(d.waitingUntil)}: when a gate opens or expires by time alone` : null],
    ['Error', d.errorMessage ? clean(d.errorMessage) : null],
  ];
  for (const [label, value] of rows) if (value) term.out(`  ${`${label}:`.padEnd(14)}${value}`);
  // Its environment's protection rules, as last evaluated: each gate, and every approval or rejection.
  if (d.gates?.length) {
    term.out('  Gates:');
    for (const line of gateLines(c, d.gates, '    ')) term.out(line);
  }
}

const at = (iso: string): string => `${relativeTime(iso)} (${iso})`;
