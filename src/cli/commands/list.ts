import type { Command } from 'commander';
import type { FraiseView } from '../client/views.js';
import { READ_ONLY, withClient } from '../client/open-client.js';
import { clean, targetLabel } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { createTerminal, printData, type Terminal } from '../output/terminal.js';
import { addJsonOption, addModeOptions, dataFormat, examples, type JsonFlag, type ModeFlags } from '../options.js';

export function registerList(program: Command): void {
  const command = program
    .command('list')
    .description('list the fraises: each with its environments, their targets and scheduled jobs')
    .option('--flat', 'one line per fraise and environment, as a table');
  addModeOptions(command);
  addJsonOption(command);
  examples(command, ['fraisier list', 'fraisier list --flat', 'fraisier list --json | jq -r ".[].name"', 'fraisier list --url http://deploy.example.com:8080']);
  command.action(async (flags: ModeFlags & JsonFlag & { flat?: boolean }) => {
    const term = createTerminal();
    const fraises = await withClient(flags, (client) => client.fraises(), READ_ONLY);
    if (dataFormat(flags)) return printData(term, flags, fraises);
    if (flags.flat) return printFlat(term, fraises);
    printTree(term, fraises);
  });
}

/** The PRD's tree: fraise (type) - description → environment → target → jobs (schedule). */
function printTree(term: Terminal, fraises: FraiseView[]): void {
  const c = term.color;
  term.out(c.bold('Fraisier - Fraise Registry'));
  if (fraises.length === 0) return term.out('(no fraises configured)');
  fraises.forEach((fraise, i) => {
    const lastFraise = i === fraises.length - 1;
    const description = fraise.description ? ` - ${clean(fraise.description)}` : '';
    term.out(`${lastFraise ? '└── ' : '├── '}${c.bold(fraise.name)} ${c.dim(`(${fraise.type.toLowerCase()})`)}${description}`);
    const indent = lastFraise ? '    ' : '│   ';
    fraise.environments.forEach((env, j) => {
      const lastEnv = j === fraise.environments.length - 1;
      term.out(`${indent}${lastEnv ? '└── ' : '├── '}${env.name} ${c.dim('→')} ${targetLabel(env.target)}`);
      const jobIndent = `${indent}${lastEnv ? '    ' : '│   '}`;
      env.jobs.forEach((job, k) => {
        const when = job.schedule ?? (job.systemdTimer ? `systemd timer ${job.systemdTimer}` : 'on demand');
        term.out(`${jobIndent}${k === env.jobs.length - 1 ? '└── ' : '├── '}${job.name} ${c.dim(`(${when})`)}`);
      });
    });
  });
}

function printFlat(term: Terminal, fraises: FraiseView[]): void {
  const rows = fraises.flatMap((fraise) => fraise.environments.map((env) => ({ fraise, env })));
  const lines = renderTable(
    rows,
    [
      { header: 'FRAISE', value: (r) => r.fraise.name },
      { header: 'TYPE', value: (r) => r.fraise.type.toLowerCase() },
      { header: 'ENVIRONMENT', value: (r) => r.env.name },
      { header: 'TARGET', value: (r) => targetLabel(r.env.target), shrink: true },
      { header: 'BRANCH', value: (r) => r.env.branch ?? '-' },
      { header: 'JOBS', value: (r) => String(r.env.jobs.length), align: 'right' },
      { header: 'DESCRIPTION', value: (r) => r.fraise.description ?? '', shrink: true },
    ],
    term.width,
    term.color.bold,
  );
  for (const line of lines) term.out(line);
}
