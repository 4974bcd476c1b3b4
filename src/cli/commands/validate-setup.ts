import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { CliError, EXIT, silentExit } from '../exit-codes.js';
import { createTerminal, printData } from '../output/terminal.js';
import { addJsonOption, CONFIG_SEARCH, dataFormat, examples, type JsonFlag } from '../options.js';

interface ValidateSetupFlags extends JsonFlag {
  config?: string;
}

export function registerValidateSetup(program: Command): void {
  const command = program
    .command('validate-setup')
    .alias('diagnose')
    .description("check each environment's host (app_path, repository, systemd unit, sudoers, database, nginx site) or its Coolify application (every problem, with what to do)")
    .argument('[fraise]', 'only this fraise')
    .argument('[environment]', 'only this environment')
    .option('-c, --config <file>', `configuration file (default: ${CONFIG_SEARCH})`);
  addJsonOption(command);
  examples(command, ['fraisier validate-setup', 'fraisier validate-setup my_api production', 'fraisier diagnose --json | jq ".checks[] | select(.status == \\"problem\\")"']);
  command.action(async (fraiseName: string | undefined, envName: string | undefined, flags: ValidateSetupFlags) => {
    const term = createTerminal();
    const [{ loadCliConfig }, { checkSetup }, { probeDatabase }, { createRunner }, { targetShell }, { createProviderRegistry }] = await Promise.all([
      import('../load-config.js'),
      import('../../setup-check/checks.js'),
      import('../../setup-check/database-probe.js'),
      import('../../exec/runner.js'),
      import('../../providers/host.js'),
      import('../../providers/registry.js'),
    ]);
    const { config } = loadCliConfig(flags, { secrets: 'deferred' });
    const fraises = fraiseName ? config.fraises.filter((f) => f.name === fraiseName) : config.fraises;
    if (fraiseName && fraises.length === 0) throw new CliError(`no fraise "${fraiseName}" (the configuration has ${config.fraises.map((f) => f.name).join(', ')})`, EXIT.USAGE);
    const environments = fraises.flatMap((fraise) => fraise.environments.filter((env) => !envName || env.name === envName).map((env) => ({ fraise, env })));
    if (envName && environments.length === 0) throw new CliError(`fraise "${fraiseName}" has no environment "${envName}"`, EXIT.USAGE);

    const runner = createRunner();
    const providers = createProviderRegistry(runner, () => new Date());
    const me = userInfo();
    const checks = await checkSetup(config, environments, {
      shellFor: (env) => targetShell(runner, env.target.config),
      probeDatabase,
      checkTarget: async (fraise, env) => providers.get(env.target.provider)?.check?.(fraise, env, { branch: null, commit: null }),
      currentUser: me.username,
      isRoot: me.uid === 0,
    });
    const problems = checks.filter((c) => c.status === 'problem');
    if (dataFormat(flags)) printData(term, flags, { ok: problems.length === 0, problems: problems.length, checks });
    else {
      const c = term.color;
      for (const check of checks) {
        const mark = check.status === 'ok' ? c.green('✓') : check.status === 'problem' ? c.red('✗') : c.dim('·');
        term.out(`${mark} ${check.fraise}/${check.environment} ${check.check}: ${check.message}${check.fix ? ` → ${check.fix}` : ''}`);
      }
      term.out(problems.length ? `\n${problems.length} problem${problems.length === 1 ? '' : 's'} found.` : `\nNo problem found (${checks.length} check${checks.length === 1 ? '' : 's'}).`);
    }
    if (problems.length) throw silentExit(EXIT.FAILED);
  });
}
