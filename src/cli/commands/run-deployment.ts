import type { Command } from 'commander';
import type { FraisierClient } from '../client/client.js';
import { withClient } from '../client/open-client.js';
import type { DeploymentResultView, DeploymentView, ProgressView } from '../client/views.js';
import { CliError, EXIT, silentExit } from '../exit-codes.js';
import { keepRunningIfOutputCloses } from '../output/closed-output.js';
import { clean, shortVersion, targetPath } from '../output/format.js';
import { type OperationKind, printOutcome, ProgressRenderer, stepLabel } from '../output/progress-renderer.js';
import { createTerminal, printData, type Terminal } from '../output/terminal.js';
import { dataFormat, type JsonFlag, type ModeFlags } from '../options.js';

/** Ctrl-C: the conventional exit code of a command interrupted by SIGINT. */
const INTERRUPTED = 130;

export interface RunFlags extends ModeFlags, JsonFlag {
  /** undefined: follow on a terminal. */
  follow?: boolean;
}

/** --follow / --no-follow, as deploy, rollback and run-job take them. */
export function addFollowOptions(command: Command): Command {
  return command
    .option('--follow', 'show the live steps and wait for the end (default on a terminal)')
    .option('--no-follow', 'remote mode: return once queued (local mode always runs it to the end)');
}

/**
 * What deploy, rollback and run-job share: ask for it, print the plan of a dry run or the refusal, then
 * (following, or in local mode where this process runs it) stream the steps and end with the
 * outcome. Exit 0 only when it succeeded.
 */
export async function runDeployment(kind: OperationKind, flags: RunFlags, request: (client: FraisierClient) => Promise<DeploymentResultView>): Promise<void> {
  const term = createTerminal();
  const follow = flags.follow ?? term.isTTY;
  await withClient(flags, async (client) => {
    // This process runs it: a reader that leaves (`| head`) must not cut it off mid-step.
    if (client.runsDeployments) keepRunningIfOutputCloses();
    const result = await request(client);
    if (!result.success) {
      if (dataFormat(flags)) {
        printData(term, flags, result);
        throw silentExit(EXIT.FAILED);
      }
      throw new CliError(cleanLines(result.message ?? `the ${kind} was refused`), EXIT.FAILED);
    }
    if (result.dryRun || !result.deployment) {
      if (dataFormat(flags)) return printData(term, flags, result);
      return printPlan(term, result);
    }
    const queued = result.deployment;
    if (!follow && !client.runsDeployments) {
      // Remote, not following: queued is the answer; the server runs it.
      if (dataFormat(flags)) return printData(term, flags, result);
      term.out(`${clean(result.message ?? `deployment ${queued.id} queued`)}`);
      term.out(term.color.dim(`  follow it: fraisier history --fraise ${queued.fraise} --environment ${queued.environment}`));
      return;
    }
    const renderer = follow && !dataFormat(flags) ? new ProgressRenderer(term) : undefined;
    if (renderer) printHeader(term, kind, queued, result.plan);
    const events: ProgressView[] = [];
    const final = await followUntilEnd(term, client, queued, (event) => {
      events.push(event);
      renderer?.event(event);
    });
    if (dataFormat(flags)) printData(term, flags, { ...result, deployment: { ...final, progress: events } });
    else if (renderer) renderer.finish(final, kind);
    else printOutcome(term, final, kind);
    if (final.status !== 'SUCCESS') throw silentExit(EXIT.FAILED);
  });
}

function printHeader(term: Terminal, kind: OperationKind, d: DeploymentView, plan: string[]): void {
  const c = term.color;
  const verb = kind === 'rollback' ? 'Rolling back' : kind === 'job' ? `Running job ${d.job ?? ''} of` : 'Deploying';
  term.out(c.bold(`${verb} ${d.fraise} → ${d.environment} (${targetPath(d.target)})`));
  const commit = d.gitCommit ? `commit ${shortVersion(d.gitCommit)}` : d.gitBranch ? `head of ${d.gitBranch}` : undefined;
  term.out(c.dim(`  deployment ${d.id}${commit ? ` · ${commit}` : ''} · ${plan.length} step${plan.length === 1 ? '' : 's'}: ${plan.join(', ')}`));
  term.out();
}

/** A server's message, line by line (a dry run lists its commands or its problems one a line). */
function cleanLines(text: string): string {
  return text.split('\n').map(clean).join('\n');
}

function printPlan(term: Terminal, result: DeploymentResultView): void {
  const c = term.color;
  term.out(cleanLines(result.message ?? 'dry run'));
  term.out(c.bold('Plan:'));
  result.plan.forEach((step, i) => term.out(`  ${String(i + 1).padStart(2)}. ${step.padEnd(14)} ${c.dim(stepLabel(step))}`));
}

/**
 * Follows until the end. Ctrl-C: locally (this process runs it) the deployment is cancelled and
 * followed to its end, a second Ctrl-C quits at once; remotely the CLI stops following and the
 * server carries on.
 */
export async function followUntilEnd(term: Terminal, client: FraisierClient, d: DeploymentView, onProgress: (event: ProgressView) => void): Promise<DeploymentView> {
  const detach = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (!client.runsDeployments) return detach.abort();
    if (interrupts > 1) {
      term.err(`fraisier: interrupted; deployment ${d.id} is left to the lease sweep (it ends FAILED or is queued again)`);
      process.exit(INTERRUPTED);
    }
    term.err(`fraisier: cancelling deployment ${d.id}... (Ctrl-C again to quit at once)`);
    client.cancel(d.id).catch((error: unknown) => term.err(`fraisier: could not cancel: ${(error as Error).message}`));
  };
  process.on('SIGINT', onSigint);
  try {
    const final = await client.follow(d.id, onProgress, detach.signal);
    if (detach.signal.aborted) {
      term.err(`fraisier: stopped following; deployment ${d.id} goes on at ${client.where} (fraisier status ${d.fraise} ${d.environment})`);
      throw silentExit(INTERRUPTED);
    }
    return final;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
