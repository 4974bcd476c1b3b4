import { type Command, Option } from 'commander';
import { formatProblem } from '../../config/problems.js';
import { CliError, EXIT } from '../exit-codes.js';
import { CONFIG_SEARCH } from '../options.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the server: GraphQL API, webhook endpoint, dispatcher and scheduler, in one process')
    .option('-c, --config <file>', `configuration file (default: ${CONFIG_SEARCH})`)
    .option('--host <host>', 'address to listen on (default: fraisier.listen, $FRAISIER_HOST, 127.0.0.1)')
    .option('-p, --port <port>', 'port to listen on (default: fraisier.listen, $FRAISIER_PORT, 8080)', parsePort)
    .option('--database <url>', 'store URL (default: fraisier.database, $FRAISIER_DATABASE_URL, sqlite:./fraisier.db)')
    // What every command now does; kept so that scripts passing it (npm start) still run.
    .addOption(new Option('--example-fallback').hideHelp())
    .addHelpText('after', '\nExamples:\n  fraisier serve\n  fraisier serve --config /etc/fraisier/fraises.yaml --port 9000\n  FRAISIER_DATABASE_URL=postgres://fraisier@db/fraisier fraisier serve')
    .action(async (flags: { config?: string; host?: string; port?: number; database?: string }) => {
      const [{ loadCliConfig, EXAMPLE_NOTICE, isBundledExample }, { createApp }, { isTransientStoreError }, { createLogger }] = await Promise.all([
        import('../load-config.js'),
        import('../../app.js'),
        import('../../store/store.js'),
        import('../../logger.js'),
      ]);
      const loaded = loadCliConfig(flags, {
        overrides: {
          ...(flags.host ? { host: flags.host } : {}),
          ...(flags.port !== undefined ? { port: flags.port } : {}),
          ...(flags.database ? { databaseUrl: flags.database } : {}),
        },
      });
      const logger = createLogger({ level: loaded.config.settings.logLevel });
      if (loaded.example) logger.warn({ config: loaded.path }, EXAMPLE_NOTICE);
      logger.info({ config: loaded.path }, 'configuration loaded');
      if (isBundledExample(loaded.path)) {
        const [{ makeExampleRepositories }, { createRunner }] = await Promise.all([import('../example-repositories.js'), import('../../exec/runner.js')]);
        for (const made of await makeExampleRepositories(loaded.config, createRunner())) {
          logger.info({ fraise: made.fraise, repository: made.path }, `made the example's repository ${made.path} from ${made.source}: deploy it with \`fraisier deploy ${made.fraise} local\` or the dashboard`);
        }
      }
      // Missing webhook secrets are summarised by the server itself once it listens.
      for (const warning of loaded.warnings) if (warning.code !== 'webhook-secret-missing') logger.warn(formatProblem(warning));
      if (loaded.unused.length) logger.info({ keys: loaded.unused, notes: loaded.unusedNotes }, 'configuration keys loaded but not used by this version');
      if (loaded.leftAsWritten.length) {
        logger.info({ keys: loaded.leftAsWritten.map((u) => `${u.path}: \${${u.variable}}`) }, 'unset ${VAR}s left as written for systemd/the shell');
      }
      for (const [provider, variables] of Object.entries(loaded.secretsFromEnv)) logger.info({ provider, variables }, 'webhook secrets from the environment');
      const app = createApp({ config: loaded.config, logger });
      try {
        await app.start();
      } catch (error) {
        await app.stop().catch(() => {});
        if (isTransientStoreError(error)) {
          throw new CliError(`cannot reach the store ${app.store.description}: ${(error as Error).message}`, EXIT.UNREACHABLE);
        }
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          throw new CliError(`cannot listen: ${(error as Error).message}`, EXIT.UNREACHABLE);
        }
        throw error;
      }
      await new Promise<void>((resolve) => {
        // Persistent listeners (not `once`): execa's signal-exit re-raises a signal it finds no
        // other listener for, which would kill the process in the middle of draining.
        let stopping = false;
        const shutdown = (signal: NodeJS.Signals) => {
          if (stopping) {
            logger.warn({ signal }, 'second signal: exiting without waiting for the drain');
            process.exit(1);
          }
          stopping = true;
          logger.info({ signal }, 'shutting down');
          app.stop().then(resolve, (error: unknown) => {
            logger.error({ err: error }, 'shutdown failed');
            resolve();
          });
        };
        process.on('SIGTERM', shutdown);
        process.on('SIGINT', shutdown);
      });
      logger.info('stopped');
    });
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new CliError(`--port: expected a port number, got "${value}"`, EXIT.USAGE);
  return port;
}
