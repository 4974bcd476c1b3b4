import type { Command } from 'commander';
import type { Store } from '../../store/store.js';
import { CliError, EXIT } from '../exit-codes.js';
import { createTerminal, printData } from '../output/terminal.js';
import { addJsonOption, CONFIG_SEARCH, dataFormat, examples, type JsonFlag } from '../options.js';

interface DbFlags extends JsonFlag {
  config?: string;
  database?: string;
}

export function registerDb(program: Command): void {
  const db = program.command('db').description("Fraisier's own store: apply and list its migrations");

  const migrate = addDbOptions(db.command('migrate').description('apply the pending migrations (safe to run twice, and while servers run)'));
  examples(migrate, ['fraisier db migrate', 'fraisier db migrate --database postgres://fraisier@db.example.com/fraisier']);
  migrate.action(async (flags: DbFlags) => {
    const term = createTerminal();
    const applied = await withStore(flags, (store) => store.migrate());
    if (dataFormat(flags)) return printData(term, flags, { applied });
    if (applied.length === 0) return term.out('The store is up to date: no migration to apply.');
    for (const name of applied) term.out(`${term.color.green('✓')} applied ${name}`);
  });

  const status = addDbOptions(db.command('status').description('every migration, applied (when) or pending'));
  examples(status, ['fraisier db status', 'fraisier db status --json | jq .pending']);
  status.action(async (flags: DbFlags) => {
    const term = createTerminal();
    const { migrationStatus } = await import('../../../db/migrate.js');
    const { where, migrations } = await withStore(flags, async (store) => ({ where: store.description, migrations: await migrationStatus(store.db) }));
    const rows = migrations.map((m) => ({ name: m.name, appliedAt: m.executedAt ? m.executedAt.toISOString() : null }));
    const pending = rows.filter((m) => m.appliedAt === null).length;
    if (dataFormat(flags)) return printData(term, flags, { store: where, migrations: rows, pending });
    const c = term.color;
    term.out(`Store: ${where}`);
    const width = Math.max(...rows.map((m) => m.name.length));
    for (const m of rows) {
      term.out(`  ${m.appliedAt ? c.green('✓') : c.yellow('·')} ${m.name.padEnd(width)}  ${m.appliedAt ? `applied ${m.appliedAt}` : 'pending'}`);
    }
    term.out(pending ? `${pending} migration${pending === 1 ? '' : 's'} pending: run fraisier db migrate (fraisier serve also applies them)` : 'Up to date.');
  });
}

function addDbOptions(command: Command): Command {
  command
    .option('-c, --config <file>', `configuration file naming the store (default: ${CONFIG_SEARCH})`)
    .option('--database <url>', 'store URL (default: fraisier.database, $FRAISIER_DATABASE_URL)');
  return addJsonOption(command);
}

/** --database, else the configuration's store; FRAISIER_DATABASE_URL alone is enough without a file. */
async function databaseUrl(flags: DbFlags, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (flags.database) return flags.database;
  const [{ findConfigFile }, { loadCliConfig }] = await Promise.all([import('../../config/load.js'), import('../load-config.js')]);
  if (!flags.config && env.FRAISIER_DATABASE_URL && !findConfigFile({ env })) return env.FRAISIER_DATABASE_URL;
  // Only the store's URL is needed: other secrets may stay unset.
  return loadCliConfig(flags, { secrets: 'deferred' }).config.settings.databaseUrl;
}

async function withStore<T>(flags: DbFlags, action: (store: Store) => Promise<T>): Promise<T> {
  const url = await databaseUrl(flags);
  const [{ createStore }, { localError }] = await Promise.all([import('../../store/store.js'), import('../client/local-errors.js')]);
  let store: Store;
  try {
    store = createStore(url);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError((error as Error).message, EXIT.USAGE);
  }
  try {
    return await action(store);
  } catch (error) {
    throw localError(error, store.description);
  } finally {
    await store.close().catch(() => {});
  }
}
