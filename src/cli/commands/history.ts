import type { Command } from 'commander';
import type { DeploymentsQuery, FraisierClient } from '../client/client.js';
import { READ_ONLY, withClient } from '../client/open-client.js';
import type { DeploymentView } from '../client/views.js';
import { DEPLOYMENT_STATUSES } from '../../model.js';
import { CliError, EXIT } from '../exit-codes.js';
import { clean, shortVersion, statusColor } from '../output/format.js';
import { gateLine, unmetGates } from '../output/gates.js';
import { renderTable } from '../output/table.js';
import { createTerminal, printData, type Terminal } from '../output/terminal.js';
import { formatDuration, parseSince, relativeTime } from '../output/time.js';
import { addJsonOption, addModeOptions, dataFormat, examples, integer, type JsonFlag, type ModeFlags } from '../options.js';

const STATUSES = DEPLOYMENT_STATUSES.map((s) => s.toUpperCase());
/** The API answers at most this many per request; more are read page by page. */
const PAGE = 100;
const MAX_LIMIT = 10_000;

export function registerHistory(program: Command): void {
  const command = program
    .command('history')
    .description('past and running deployments, newest first')
    .option('-f, --fraise <name>', 'only this fraise')
    .option('-e, --environment <name>', 'only this environment')
    .option('-n, --limit <n>', `how many (1 to ${MAX_LIMIT}; default 20)`, integer('--limit', 1, MAX_LIMIT), 20)
    .option('--since <when>', 'only those requested since: a span back from now (30m, 24h, 7d, 2w) or a date (2026-01-31)')
    .option('--status <status>', `only this status (${STATUSES.join(', ')})`)
    .option('--waiting', 'only the deployments WAITING on a gate (approvals, a window, a freeze, promotion, a timer), each with the gates it waits for');
  addModeOptions(command);
  addJsonOption(command);
  examples(command, [
    'fraisier history',
    'fraisier history --fraise my_api --limit 50',
    'fraisier history --environment production --since 7d',
    'fraisier history --status FAILED --since 24h --json',
    'fraisier history --waiting            # what waits for an approval, a window...',
  ]);
  command.action(async (flags: ModeFlags & JsonFlag & { fraise?: string; environment?: string; limit: number; since?: string; status?: string; waiting?: boolean }) => {
    const term = createTerminal();
    let status = flags.status?.toUpperCase();
    if (status && !STATUSES.includes(status)) throw new CliError(`--status: expected one of ${STATUSES.join(', ')} (got "${flags.status}")`, EXIT.USAGE);
    if (flags.waiting) {
      if (status && status !== 'WAITING') throw new CliError(`--waiting and --status ${status} ask for two statuses: give one`, EXIT.USAGE);
      status = 'WAITING';
    }
    const query: Omit<DeploymentsQuery, 'limit'> = {
      ...(flags.fraise ? { fraise: flags.fraise } : {}),
      ...(flags.environment ? { environment: flags.environment } : {}),
      ...(status ? { status } : {}),
      ...(flags.since ? { since: parseSince(flags.since) } : {}),
    };
    const deployments = await withClient(flags, (client) => readPages(client, query, flags.limit), READ_ONLY);
    if (dataFormat(flags)) return printData(term, flags, deployments);
    if (flags.waiting) return printWaiting(term, deployments);
    if (deployments.length === 0) return term.out('No deployments.');
    const c = term.color;
    const lines = renderTable(
      deployments,
      [
        { header: 'ID', value: (d) => d.id, align: 'right' },
        { header: 'FRAISE', value: (d) => (d.job ? `${d.fraise}:${d.job}` : d.fraise) },
        { header: 'ENVIRONMENT', value: (d) => d.environment },
        { header: 'STATUS', value: (d) => d.status, style: (text, d) => statusColor(c, d.status)(text) },
        { header: 'VERSION', value: versionChange },
        { header: 'TRIGGER', value: (d) => d.triggeredBy.toLowerCase() },
        { header: 'STARTED', value: (d) => relativeTime(d.startedAt) },
        { header: 'DURATION', value: (d) => formatDuration(d.durationSeconds), align: 'right' },
        { header: 'ERROR', value: (d) => clean(d.errorMessage ?? ''), shrink: true },
      ],
      term.width,
      c.bold,
    );
    for (const line of lines) term.out(line);
  });
}

/**
 * Each waiting deployment on a line (id, fraise/environment, version change, who asked and
 * when), then one line for each gate it waits for, as the server last evaluated it.
 */
function printWaiting(term: Terminal, deployments: DeploymentView[]): void {
  if (deployments.length === 0) return term.out('No deployment is waiting.');
  const c = term.color;
  for (const d of deployments) {
    const who = d.requestedBy ? ` by ${clean(d.requestedBy)}` : '';
    // When time alone changes a gate (a window opens, a soak or timer ends, the approvals' time runs out).
    const until = d.waitingUntil ? `; gates evaluated again ${relativeTime(d.waitingUntil)} (${d.waitingUntil})` : '';
    // Not resolved to a commit yet: the branch head it will deploy.
    const change = !d.newVersion && !d.gitCommit && d.gitBranch ? `head of ${d.gitBranch}` : versionChange(d);
    term.out(`${c.bold(d.id)}  ${d.job ? `${d.fraise}:${d.job}` : d.fraise}/${d.environment}  ${change}  requested ${relativeTime(d.requestedAt)}${who}${until}`);
    const unmet = unmetGates(d);
    if (unmet.length === 0) term.out(`    ${c.green('✓')} every gate is open: it starts at the next look of the queue`);
    for (const gate of unmet) term.out(`    ${gateLine(c, gate)}`);
  }
}

/** "3f2a1b9 → 9c0d4e1": commit ids cut to 7 characters, as git's short form, to keep rows short. */
function versionChange(d: DeploymentView): string {
  if (d.job) return '-';
  const short = (v: string | null) => (v && /^[0-9a-f]{40,64}$/.test(v) ? v.slice(0, 7) : shortVersion(v));
  const target = d.newVersion ?? d.gitCommit;
  if (!target) return short(d.oldVersion);
  return `${short(d.oldVersion)} → ${short(target)}`;
}

/** `limit` deployments, newest first, page by page (the API gives at most 100 at once). */
async function readPages(client: FraisierClient, query: Omit<DeploymentsQuery, 'limit'>, limit: number): Promise<DeploymentView[]> {
  const out: DeploymentView[] = [];
  let before: string | undefined;
  while (out.length < limit) {
    const want = Math.min(PAGE, limit - out.length);
    const page = await client.deployments({ ...query, limit: want, ...(before ? { before } : {}) });
    out.push(...page);
    if (page.length < want) break;
    before = page.at(-1)!.id;
  }
  return out;
}
