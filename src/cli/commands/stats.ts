import type { Command } from 'commander';
import { READ_ONLY, withClient } from '../client/open-client.js';
import { createTerminal, printData } from '../output/terminal.js';
import { formatDuration } from '../output/time.js';
import { addJsonOption, addModeOptions, dataFormat, examples, integer, type JsonFlag, type ModeFlags } from '../options.js';

export function registerStats(program: Command): void {
  const command = program
    .command('stats')
    .description('deployment statistics over the last days: totals, success rate, average duration, and DORA\'s four keys')
    .option('-f, --fraise <name>', 'only this fraise')
    .option('-e, --environment <name>', 'only this environment')
    .option('-d, --days <n>', 'the period, in days (1 to 3650; default 30)', integer('--days', 1, 3650), 30);
  addModeOptions(command);
  addJsonOption(command);
  examples(command, ['fraisier stats', 'fraisier stats --fraise my_api --days 7', 'fraisier stats --json | jq .successRate']);
  command.action(async (flags: ModeFlags & JsonFlag & { fraise?: string; environment?: string; days: number }) => {
    const term = createTerminal();
    const stats = await withClient(
      flags,
      (client) => client.stats({ days: flags.days, ...(flags.fraise ? { fraise: flags.fraise } : {}), ...(flags.environment ? { environment: flags.environment } : {}) }),
      READ_ONLY,
    );
    if (dataFormat(flags)) return printData(term, flags, stats);
    const c = term.color;
    const scope = [flags.fraise, flags.environment].filter(Boolean).join('/');
    term.out(c.bold(`Deployments over the last ${flags.days} day${flags.days === 1 ? '' : 's'}${scope ? ` (${scope})` : ''}`));
    const rows: [string, string][] = [
      ['Total', String(stats.total)],
      ['Successful', String(stats.successful)],
      ['Failed', String(stats.failed)],
      ['Rolled back', String(stats.rolledBack)],
      ['Success rate', stats.total ? `${stats.successRate.toFixed(1)}%` : '-'],
      ['Avg duration', formatDuration(stats.avgDurationSeconds)],
    ];
    // DORA's four keys, each "-" when nothing measured it.
    rows.push(
      ['Deploys / day', stats.deploymentFrequency.toFixed(2)],
      ['Lead time', formatDuration(stats.leadTimeSeconds)],
      ['Change fail', stats.changeFailureRate === null ? '-' : `${stats.changeFailureRate.toFixed(1)}%`],
      ['Time to restore', formatDuration(stats.timeToRestoreSeconds)],
    );
    const width = Math.max(...rows.map(([label]) => label.length)) + 2;
    for (const [label, value] of rows) term.out(`  ${`${label}:`.padEnd(width)}${value}`);
  });
}
