import { type Command, Option } from 'commander';
import { CliError, EXIT } from './exit-codes.js';

/* Flags several commands share, and parsers that turn bad values into one-line usage errors. */

export interface ModeFlags {
  config?: string;
  database?: string;
  url?: string;
  token?: string;
}

/** How a command prints: a table (or text) for people, JSON or YAML for programs. */
export type OutputFormat = 'json' | 'yaml' | 'table';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['json', 'yaml', 'table'];

export interface JsonFlag {
  json?: boolean;
  output?: OutputFormat;
}

/** Where a command looks for its configuration when --config is not given (config/load.ts findConfigFile). */
export const CONFIG_SEARCH = '$FRAISIER_CONFIG, ./fraises.yaml, ./config/fraises.yaml, /opt/fraisier/fraises.yaml, the bundled example';

/** --config / --database (local mode), --url / --token (remote mode). */
export function addModeOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', `configuration file, local mode (default: ${CONFIG_SEARCH})`)
    .option('--database <url>', 'store URL, local mode (default: fraisier.database, $FRAISIER_DATABASE_URL)')
    .addOption(new Option('--url <url>', 'a running server: remote mode (default: $FRAISIER_URL)'))
    .addOption(new Option('--token <token>', 'API token for --url (default: $FRAISIER_TOKEN)'));
}

/** -o/--output json|yaml|table, and --json (kept: the same as --output json). */
export function addJsonOption(command: Command): Command {
  return command
    .addOption(new Option('-o, --output <format>', "output format: table (the default), json or yaml (the API's field names and values)").choices(OUTPUT_FORMATS))
    .option('--json', 'the same as --output json');
}

/** json or yaml when the flags ask for data; undefined for the table (or text) people read. */
export function dataFormat(flags: JsonFlag): 'json' | 'yaml' | undefined {
  if (flags.json && flags.output !== undefined && flags.output !== 'json') {
    throw new CliError(`--json and --output ${flags.output} ask for two formats: give one`, EXIT.USAGE);
  }
  if (flags.json) return 'json';
  return flags.output === 'table' ? undefined : flags.output;
}

/** A parser for an integer option within [min, max]. */
/** A deployment id as given on the command line; a usage error (exit 2) otherwise. */
export function checkDeploymentId(id: string): void {
  if (!/^[1-9]\d{0,15}$/.test(id)) throw new CliError(`expected a deployment id such as 42 (got "${id}")`, EXIT.USAGE);
}

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
