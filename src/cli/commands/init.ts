import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, EXIT } from '../exit-codes.js';
import { createTerminal } from '../output/terminal.js';
import { examples } from '../options.js';
import { sourceFile } from '../../package-files.js';

const TEMPLATE = sourceFile('src/cli/templates/fraises.yaml');

export function registerInit(program: Command): void {
  const command = program
    .command('init')
    .description('write a commented fraises.yaml to start from')
    .option('-c, --config <file>', 'where to write it', 'fraises.yaml')
    .option('--force', 'overwrite the file if it exists');
  examples(command, ['fraisier init', 'fraisier init --config /etc/fraisier/fraises.yaml', 'fraisier init --force && fraisier config validate']);
  command.action((flags: { config: string; force?: boolean }) => {
    const term = createTerminal();
    const path = resolve(flags.config);
    if (existsSync(path) && !flags.force) {
      throw new CliError(`${flags.config} already exists; pass --force to overwrite it`, EXIT.FAILED);
    }
    try {
      writeFileSync(path, readFileSync(TEMPLATE, 'utf8'), { flag: flags.force ? 'w' : 'wx' });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new CliError(`${flags.config} already exists; pass --force to overwrite it`, EXIT.FAILED);
      throw new CliError(`cannot write ${flags.config}: ${code === 'ENOENT' ? 'no such directory' : (error as Error).message}`, EXIT.FAILED);
    }
    term.out(`${term.color.green('✓')} wrote ${flags.config}`);
    term.out('Next: edit it, then `fraisier config validate` and `fraisier list`.');
  });
}
