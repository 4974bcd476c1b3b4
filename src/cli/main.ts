import { Command, CommanderError } from 'commander';
import { registerCancel } from './commands/cancel.js';
import { registerCompletion } from './commands/completion.js';
import { registerConfig } from './commands/config.js';
import { registerControl } from './commands/control.js';
import { registerDb } from './commands/db.js';
import { registerDeploy } from './commands/deploy.js';
import { registerDeployment } from './commands/deployment.js';
import { registerGates } from './commands/gates.js';
import { registerHistory } from './commands/history.js';
import { registerInit } from './commands/init.js';
import { registerList } from './commands/list.js';
import { registerLogs } from './commands/logs.js';
import { registerNotifications } from './commands/notifications.js';
import { registerRunJob } from './commands/run-job.js';
import { registerScaffold } from './commands/scaffold.js';
import { registerServe } from './commands/serve.js';
import { registerStats } from './commands/stats.js';
import { registerSteer } from './commands/steer.js';
import { registerStatus } from './commands/status.js';
import { registerValidateSetup } from './commands/validate-setup.js';
import { registerWebhooks } from './commands/webhooks.js';
import { firstLine } from './client/errors.js';
import { CliError, EXIT } from './exit-codes.js';
import { dataFormat } from './options.js';
import { packageVersion } from './package-info.js';

/** Runs the fraisier command line; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('fraisier')
    .description('Fraisier: deploy services from Git pushes, watch them live, roll them back.')
    .version(packageVersion())
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
    .showSuggestionAfterError(true)
    // Contradictory output flags are refused before a command acts (cancel, deploy), not after.
    .hook('preAction', (_program, command) => void dataFormat(command.opts()));
  registerServe(program);
  registerInit(program);
  registerList(program);
  registerDeploy(program);
  registerRunJob(program);
  registerCancel(program);
  registerSteer(program);
  registerGates(program);
  registerStatus(program);
  registerDeployment(program);
  registerHistory(program);
  registerStats(program);
  registerWebhooks(program);
  registerNotifications(program);
  registerLogs(program);
  registerControl(program);
  registerConfig(program);
  registerDb(program);
  registerScaffold(program);
  registerValidateSetup(program);
  registerCompletion(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (error instanceof CliError) {
      // An empty message: what went wrong was already printed (a failed deployment's outcome).
      if (error.message) process.stderr.write(`fraisier: ${error.message}\n`);
      return error.exitCode;
    }
    // Unexpected: still one line, never a stack trace (FRAISIER_LOG_LEVEL=debug shows it).
    if (process.env.FRAISIER_LOG_LEVEL === 'debug') process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
    process.stderr.write(`fraisier: ${firstLine(error)}\n`);
    return EXIT.FAILED;
  }
}
