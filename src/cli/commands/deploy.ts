import type { Command } from 'commander';
import { CliError, EXIT } from '../exit-codes.js';
import { addJsonOption, addModeOptions, examples } from '../options.js';
import { addFollowOptions, runDeployment, type RunFlags } from './run-deployment.js';

export function registerDeploy(program: Command): void {
  const deploy = program
    .command('deploy')
    .description('deploy a fraise to an environment: the head of its branch, or --commit')
    .argument('<fraise>', 'fraise name')
    .argument('<environment>', 'environment name')
    .option('--dry-run', 'print the plan; change nothing')
    .option('--force', 'redeploy even when that commit is already running')
    .option('--commit <sha>', 'deploy this commit (7 to 64 hex characters) instead of the branch head');
  addFollowOptions(deploy);
  addModeOptions(deploy);
  addJsonOption(deploy);
  examples(deploy, [
    'fraisier deploy my_api production',
    'fraisier deploy my_api production --dry-run',
    'fraisier deploy my_api production --force --commit 3f2a1b9c',
    'fraisier deploy my_api production --url https://deploy.example.com --no-follow',
    'fraisier deploy my_api production --json | jq -r .deployment.status',
    '',
    'Exit codes: 0 deployed, 1 failed, rolled back, cancelled or refused, 2 usage or configuration, 3 unreachable.',
  ]);
  deploy.action(async (fraise: string, environment: string, flags: RunFlags & { dryRun?: boolean; force?: boolean; commit?: string }) => {
    if (flags.commit !== undefined && !/^[0-9a-fA-F]{7,64}$/.test(flags.commit)) {
      throw new CliError(`--commit: expected a commit id of 7 to 64 hex characters (got "${flags.commit}")`, EXIT.USAGE);
    }
    await runDeployment('deploy', flags, (client) =>
      client.deploy({
        fraise,
        environment,
        ...(flags.dryRun ? { dryRun: true } : {}),
        ...(flags.force ? { force: true } : {}),
        ...(flags.commit ? { commit: flags.commit } : {}),
      }),
    );
  });

  const rollback = program
    .command('rollback')
    .description('go back to an earlier version: the last good one before the current, or --to-version')
    .argument('<fraise>', 'fraise name')
    .argument('<environment>', 'environment name')
    .option('--to-version <version>', 'a version deployed successfully before (a commit id, or its first 7+ characters)');
  addFollowOptions(rollback);
  addModeOptions(rollback);
  addJsonOption(rollback);
  examples(rollback, ['fraisier rollback my_api production', 'fraisier rollback my_api production --to-version 3f2a1b9c']);
  rollback.action(async (fraise: string, environment: string, flags: RunFlags & { toVersion?: string }) => {
    await runDeployment('rollback', flags, (client) => client.rollback({ fraise, environment, ...(flags.toVersion ? { toVersion: flags.toVersion } : {}) }));
  });
}
