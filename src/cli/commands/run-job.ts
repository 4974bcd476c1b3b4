import type { Command } from 'commander';
import { addJsonOption, addModeOptions, examples } from '../options.js';
import { addFollowOptions, runDeployment, type RunFlags } from './run-deployment.js';

/* run-job: a job of a scheduled or backup fraise, now; the only way to run one without a schedule. */

export function registerRunJob(program: Command): void {
  const runJob = program
    .command('run-job')
    .description('run a job of an environment now (a job without a schedule runs only this way)')
    .argument('<fraise>', 'fraise name')
    .argument('<environment>', 'environment name')
    .argument('<job>', 'job name (fraisier list shows the jobs)');
  addFollowOptions(runJob);
  addModeOptions(runJob);
  addJsonOption(runJob);
  examples(runJob, [
    'fraisier run-job nightly production cleanup',
    'fraisier run-job nightly production cleanup --url https://deploy.example.com --no-follow',
    '',
    'A job never runs over itself: behind a running run it waits its turn; while one waits, nothing is queued (exit 1).',
    'Exit codes: 0 the run succeeded (or, --no-follow, was queued), 1 failed, cancelled or refused, 2 usage or configuration, 3 unreachable.',
  ]);
  runJob.action(async (fraise: string, environment: string, job: string, flags: RunFlags) => {
    await runDeployment('job', flags, (client) => client.runJob({ fraise, environment, job }));
  });
}
