import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, EXIT } from '../exit-codes.js';
import { createTerminal } from '../output/terminal.js';
import { CONFIG_SEARCH, examples } from '../options.js';

interface ScaffoldFlags {
  config?: string;
  output?: string;
  install?: boolean;
  root: string;
  force?: boolean;
}

/** Where a server most likely has a program named bare (not this machine's PATH: scaffold often runs elsewhere). */
const PROGRAM_DIRS = ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
/** Where uv's installer puts it on a server, as the Python Fraisier assumed. */
const KNOWN_PROGRAMS: Record<string, string> = { uv: '/usr/local/bin/uv' };

export function registerScaffold(program: Command): void {
  const command = program
    .command('scaffold')
    .description('write the systemd units, nginx sites and sudoers entry of fraises.yaml (service:, nginx:, jobs with systemd_timer), for review or --install')
    .option('-c, --config <file>', `configuration file (default: ${CONFIG_SEARCH})`)
    .option('--output <dir>', 'where the files go for review (default: scaffold.output_dir, ./scaffold)')
    .option('--install', 'write them over the live files instead: /etc/systemd/system, /etc/nginx/sites-available (+ sites-enabled link), /etc/sudoers.d (0440)')
    .option('--root <dir>', 'with --install: the root the live paths are under', '/')
    .option('--force', 'with --install: overwrite live files that differ');
  examples(command, ['fraisier scaffold && git diff scaffold/', 'sudo fraisier scaffold --install', 'fraisier scaffold --install --root /tmp/host --force']);
  command.action(async (flags: ScaffoldFlags) => {
    const term = createTerminal();
    const c = term.color;
    if (!flags.install && (flags.force || flags.root !== '/')) throw new CliError('--root and --force go with --install', EXIT.USAGE);
    if (flags.install && flags.output) throw new CliError('--output and --install: give one (review the files, or install them)', EXIT.USAGE);
    const [{ loadCliConfig }, { planScaffold }, { ScaffoldError }, writer] = await Promise.all([
      import('../load-config.js'),
      import('../../scaffold/plan.js'),
      import('../../scaffold/names.js'),
      import('../../scaffold/writer.js'),
    ]);
    const loaded = loadCliConfig(flags, { secrets: 'deferred' });
    const configPath = resolve(loaded.path);
    let plan;
    try {
      plan = planScaffold(loaded.config, {
        source: configPath,
        configPath,
        programPath: (name) => KNOWN_PROGRAMS[name] ?? PROGRAM_DIRS.map((dir) => join(dir, name)).find((path) => existsSync(path)),
      });
    } catch (error) {
      if (error instanceof ScaffoldError) throw new CliError(`cannot scaffold ${loaded.path}:\n${error.message}`, EXIT.USAGE);
      throw error;
    }
    for (const note of plan.notes) term.err(`${c.yellow('note')}: ${note}`);
    if (plan.files.length === 0) return term.out('Nothing to write: no environment has a systemd service, nginx site, timer or sudo rule.');

    if (!flags.install) {
      const dir = resolve(flags.output ?? loaded.config.scaffold?.outputDir ?? 'scaffold');
      for (const path of writer.writeReview(dir, plan.files)) term.out(`${c.green('✓')} ${path}`);
      term.out(`\n${plan.files.length} file${plan.files.length === 1 ? '' : 's'} in ${dir}: review them, then install them with fraisier scaffold --install`);
      return;
    }

    const root = resolve(flags.root);
    const result = writer.install(root, plan.files, { force: flags.force === true });
    if (result.refused.length) {
      for (const entry of result.refused) {
        if (entry.state === 'differs' && entry.diff) {
          term.err(`${c.red('✗')} ${entry.path} differs (-${entry.diff.removed} +${entry.diff.added} lines):`);
          for (const line of entry.diff.lines) term.err(`    ${line}`);
        }
        if (entry.link?.state === 'differs') term.err(`${c.red('✗')} ${entry.link.path} is ${entry.link.found}, not a link to ${entry.link.target}`);
      }
      throw new CliError(`${result.refused.length} live file${result.refused.length === 1 ? '' : 's'} differ${result.refused.length === 1 ? 's' : ''} from what scaffold writes; nothing was written (--force overwrites them)`, EXIT.FAILED);
    }
    for (const entry of result.entries) {
      term.out(`${entry.state === 'same' ? c.dim('=') : c.green('✓')} ${entry.path}${entry.state === 'same' ? ' (unchanged)' : entry.state === 'differs' ? ' (overwritten)' : ''}`);
      if (entry.link && entry.link.state !== 'same') term.out(`${c.green('✓')} ${entry.link.path} → ${entry.link.target}`);
    }
    const kinds = new Set(plan.files.map((f) => f.kind));
    term.out('\nNext:');
    if (kinds.has('systemd')) term.out('  systemctl daemon-reload, then systemctl enable --now the units you want running');
    if (kinds.has('sudoers')) term.out('  visudo -c (checks every sudoers file)');
    if (kinds.has('nginx')) term.out('  nginx -t && systemctl reload nginx');
  });
}
