import type { Command } from 'commander';
import { READ_ONLY, withClient } from '../client/open-client.js';
import type { DeploymentView, EnvironmentView, FraiseView } from '../client/views.js';
import { CliError, EXIT } from '../exit-codes.js';
import { clean, shortVersion, statusColor, targetLabel } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { createTerminal, printData } from '../output/terminal.js';
import { relativeTime } from '../output/time.js';
import { addJsonOption, addModeOptions, dataFormat, examples, type JsonFlag, type ModeFlags } from '../options.js';

interface EnvironmentStatus {
  fraise: string;
  environment: string;
  status: string;
  currentVersion: string | null;
  lastDeployedAt: string | null;
  branch: string | null;
  target: EnvironmentView['target'];
}

const statusOf = (fraise: FraiseView, env: EnvironmentView): EnvironmentStatus => ({
  fraise: fraise.name,
  environment: env.name,
  status: env.status,
  currentVersion: env.currentVersion,
  lastDeployedAt: env.lastDeployedAt,
  branch: env.branch,
  target: env.target,
});

export function registerStatus(program: Command): void {
  const status = program
    .command('status')
    .description('the health, running version and last deployment of one fraise in one environment')
    .argument('<fraise>', 'fraise name')
    .argument('<environment>', 'environment name')
    .option('--check', "also ask the target now (its health check, service manager or containers), beside the recorded status");
  addModeOptions(status);
  addJsonOption(status);
  examples(status, ['fraisier status my_api production', 'fraisier status my_api production --json | jq -r .currentVersion']);
  status.action(async (fraiseName: string, envName: string, flags: ModeFlags & JsonFlag & { check?: boolean }) => {
    const term = createTerminal();
    // --check asks the target, with its secrets.
    const needs = flags.check ? {} : READ_ONLY;
    const { state, last, target } = await withClient(flags, async (client) => {
      // Both check the names (NOT_FOUND with a suggestion); the fraise carries the state.
      const [fraise, deployments] = await Promise.all([client.fraise(fraiseName), client.deployments({ fraise: fraiseName, environment: envName, limit: 1 })]);
      const env = fraise.environments.find((e) => e.name === envName)!;
      const target = flags.check ? await client.targetHealth(fraiseName, envName) : undefined;
      return { state: statusOf(fraise, env), last: deployments[0] ?? null, target };
    }, needs);
    if (dataFormat(flags)) return printData(term, flags, { ...state, lastDeployment: last, ...(target ? { targetHealth: target } : {}) });
    const c = term.color;
    term.out(`${c.bold(`${state.fraise}/${state.environment}`)}: ${statusColor(c, state.status)(state.status)}`);
    const rows: [string, string][] = [
      ['Version', state.currentVersion ?? 'none deployed'],
      ['Last deployed', state.lastDeployedAt ? `${relativeTime(state.lastDeployedAt)} (${state.lastDeployedAt})` : 'never'],
      ['Target', targetLabel(state.target)],
      ['Branch', state.branch ?? '-'],
      ['Last deployment', last ? describeDeployment(last) : 'none'],
      ...(target ? [['Target now', `${statusColor(c, target.status)(target.status)} (${clean(target.message)})`] as [string, string]] : []),
    ];
    for (const [label, value] of rows) term.out(`  ${`${label}:`.padEnd(17)}${value}`);
  });

  const all = program
    .command('status-all')
    .description('the health and running version of every fraise in every environment')
    .option('-e, --environment <name>', 'only this environment');
  addModeOptions(all);
  addJsonOption(all);
  examples(all, ['fraisier status-all', 'fraisier status-all --environment production', 'fraisier status-all --json | jq \'.[] | select(.status != "HEALTHY")\'']);
  all.action(async (flags: ModeFlags & JsonFlag & { environment?: string }) => {
    const term = createTerminal();
    const fraises = await withClient(flags, (client) => client.fraises(), READ_ONLY);
    if (flags.environment) {
      const names = [...new Set(fraises.flatMap((f) => f.environments.map((e) => e.name)))];
      if (!names.includes(flags.environment)) {
        const { suggest } = await import('../../config/validate.js');
        const hint = suggest(flags.environment, names);
        throw new CliError(`no fraise has an environment "${flags.environment}"${hint ? `; did you mean "${hint}"?` : ''}`, EXIT.FAILED);
      }
    }
    const rows = fraises.flatMap((f) => f.environments.filter((e) => !flags.environment || e.name === flags.environment).map((e) => statusOf(f, e)));
    if (dataFormat(flags)) return printData(term, flags, rows);
    const c = term.color;
    const lines = renderTable(
      rows,
      [
        { header: 'FRAISE', value: (r) => r.fraise },
        { header: 'ENVIRONMENT', value: (r) => r.environment },
        { header: 'STATUS', value: (r) => r.status, style: (text, r) => statusColor(c, r.status)(text) },
        { header: 'VERSION', value: (r) => shortVersion(r.currentVersion) },
        { header: 'DEPLOYED', value: (r) => relativeTime(r.lastDeployedAt) },
        { header: 'TARGET', value: (r) => targetLabel(r.target), shrink: true },
      ],
      term.width,
      c.bold,
    );
    for (const line of lines) term.out(line);
  });
}

/** "#12 SUCCESS 3h ago (abc123 → def456)" or with the error of a failed one. */
export function describeDeployment(d: DeploymentView): string {
  const when = relativeTime(d.completedAt ?? d.startedAt);
  const change = d.newVersion ? ` (${shortVersion(d.oldVersion)} → ${shortVersion(d.newVersion)})` : '';
  const error = d.errorMessage ? `: ${clean(d.errorMessage)}` : '';
  return `#${d.id} ${d.status} ${when}${change}${error}`;
}
