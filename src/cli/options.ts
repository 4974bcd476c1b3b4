import { type Command, Option } from 'commander';
import { CliError, EXIT } from './exit-codes.js';

/* Flags several commands share, and parsers that turn bad values into one-line usage errors. */

export interface ModeFlags {
  config?: string;
  database?: string;
  url?: string;
  token?: string;
}

export interface JsonFlag {
  json?: boolean;
}

/** --config / --database (local mode), --url / --token (remote mode). */
export function addModeOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'configuration file, local mode (default: $FRAISIER_CONFIG, ./fraises.yaml)')
    .option('--database <url>', 'store URL, local mode (default: fraisier.database, $FRAISIER_DATABASE_URL)')
    .addOption(new Option('--url <url>', 'a running server: remote mode (default: $FRAISIER_URL)'))
    .addOption(new Option('--token <token>', 'API token for --url (default: $FRAISIER_TOKEN)'));
}

export function addJsonOption(command: Command): Command {
  return command.option('--json', 'machine output: the API\'s field names and values');
}

/** A parser for an integer option within [min, max]. */
export function integer(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
      throw new CliError(`${flag}: expected a whole number from ${min} to ${max} (got "${value}")`, EXIT.USAGE);
    }
    return n;
  };
}

/** Examples shown at the end of a command's --help. */
export function examples(command: Command, lines: string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`);
}
