import type { Command } from 'commander';
import type { LoadedConfig } from '../../config/load.js';
import { ConfigError, type ConfigProblem, formatPath } from '../../config/problems.js';
import { maskSecrets, maskUrlPassword } from '../../config/secrets.js';
import type { FraisierConfig } from '../../config/types.js';
import { GIT_ENV, lsRemote } from '../../git/commands.js';
import { firstLine } from '../client/errors.js';
import { EXIT, silentExit } from '../exit-codes.js';
import { createTerminal, loadYaml, printData, type Terminal } from '../output/terminal.js';
import { addJsonOption, CONFIG_SEARCH, dataFormat, examples, integer, type JsonFlag } from '../options.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('check, show and describe the configuration file (fraises.yaml)');

  const validate = config
    .command('validate')
    .description('check the configuration: every problem with its key path and line, then warnings and keys not used yet')
    .option('-c, --config <file>', `configuration file (default: ${CONFIG_SEARCH})`)
    .option('--check-repositories', 'also check that every repository answers git ls-remote')
    .option('--timeout <seconds>', 'for --check-repositories: how long each repository may take (default 10)', integer('--timeout', 1, 600), 10);
  addJsonOption(validate);
  examples(validate, ['fraisier config validate', 'fraisier config validate --config /etc/fraisier/fraises.yaml --check-repositories', '', 'Exit codes: 0 valid (warnings allowed), 2 invalid or not found.']);
  validate.action(async (flags: JsonFlag & { config?: string; checkRepositories?: boolean; timeout: number }) => {
    const term = createTerminal();
    const [{ loadConfigFile }, { findCliConfig }] = await Promise.all([import('../../config/load.js'), import('../load-config.js')]);
    const { path } = findCliConfig(flags);
    let loaded: LoadedConfig;
    try {
      loaded = loadConfigFile(path);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const errors = error.problems.filter((p) => p.severity === 'error');
      const warnings = error.problems.filter((p) => p.severity === 'warning');
      if (dataFormat(flags)) printData(term, flags, { file: path, valid: false, errors: errors.map(problemJson), warnings: warnings.map(problemJson), unused: [] });
      else printProblems(term, path, errors, warnings);
      throw silentExit(EXIT.USAGE);
    }
    const warnings = loaded.warnings.filter((w) => w.severity === 'warning');
    const known = new Set(warnings.map((w) => w.path));
    warnings.push(...(await unavailableProviders(loaded.config)).filter((w) => !known.has(w.path)));
    if (flags.checkRepositories) warnings.push(...(await unreachableRepositories(loaded.config, flags.timeout * 1000)));
    const counts = { fraises: loaded.config.fraises.length, environments: loaded.config.fraises.reduce((n, f) => n + f.environments.length, 0) };
    const { describeProtection } = await import('../../gates/describe.js');
    const protectedEnvironments = loaded.config.fraises.flatMap((f) =>
      f.environments.flatMap((e) => (e.protection ? [{ fraise: f.name, environment: e.name, rules: describeProtection(e.protection) }] : [])),
    );
    if (dataFormat(flags)) {
      return printData(term, flags, {
        file: path,
        valid: true,
        ...counts,
        errors: [],
        warnings: warnings.map(problemJson),
        unused: loaded.unused,
        unusedNotes: loaded.unusedNotes,
        leftForSystemdOrShell: loaded.leftAsWritten.map((u) => ({ path: u.path, variable: u.variable, line: u.line ?? null })),
        webhookSecretsFromEnv: loaded.secretsFromEnv,
        protection: protectedEnvironments.map(({ fraise, environment, rules }) => ({ fraise, environment, rules })),
      });
    }
    term.out(
      `${term.color.green('✓')} ${path}: valid (${counts.fraises} fraise${counts.fraises === 1 ? '' : 's'}, ${counts.environments} environment${counts.environments === 1 ? '' : 's'})`,
    );
    if (protectedEnvironments.length) {
      term.out('Protected environments (their deployments pass these gates first):');
      for (const { fraise, environment, rules } of protectedEnvironments) term.out(`  ${fraise}/${environment}: ${rules.join('; ')}`);
    }
    printProblems(term, path, [], warnings, loaded);
  });

  const show = config
    .command('show')
    .description('the configuration as Fraisier resolved it (defaults, ${VAR}s and FRAISIER_* applied), secrets masked')
    .option('-c, --config <file>', `configuration file (default: ${CONFIG_SEARCH})`);
  addJsonOption(show);
  examples(show, ['fraisier config show', 'fraisier config show --json | jq .settings.concurrency']);
  show.action(async (flags: JsonFlag & { config?: string }) => {
    const term = createTerminal();
    const { loadCliConfig } = await import('../load-config.js');
    const { stringify } = loadYaml();
    // Reading needs no secret: one whose ${VAR} is unset is listed under unavailableSecrets.
    const { config: resolved } = loadCliConfig(flags, { secrets: 'deferred' });
    const masked = maskSecrets(resolved);
    if (dataFormat(flags)) return printData(term, flags, masked);
    process.stdout.write(stringify(masked, { lineWidth: 0, aliasDuplicateObjects: false }));
  });

  const schema = config.command('schema').description('the JSON Schema of fraises.yaml (for editors: yaml-language-server)');
  examples(schema, ['fraisier config schema > fraises.schema.json', '# then, first line of fraises.yaml:  # yaml-language-server: $schema=./fraises.schema.json']);
  schema.action(async () => {
    const { printConfigJsonSchema } = await import('../../compile-artifacts.js');
    process.stdout.write(printConfigJsonSchema());
  });
}

function problemJson(p: ConfigProblem) {
  return { path: p.path, line: p.line ?? null, message: p.message };
}

function printProblems(term: Terminal, path: string, errors: ConfigProblem[], warnings: ConfigProblem[], loaded?: LoadedConfig): void {
  const c = term.color;
  const at = (p: ConfigProblem) => `${p.path}: ${p.message}${p.line ? ` (line ${p.line})` : ''}`;
  if (errors.length) {
    term.out(`${c.red('✗')} ${path}: ${errors.length} problem${errors.length === 1 ? '' : 's'}`);
    for (const p of errors) term.out(`  ${c.red('✗')} ${at(p)}`);
  }
  if (warnings.length) {
    term.out(`${warnings.length} warning${warnings.length === 1 ? '' : 's'}:`);
    for (const p of warnings) term.out(`  ${c.yellow('!')} ${at(p)}`);
  }
  if (!loaded) return;
  if (loaded.unused.length) {
    term.out('Loaded but not used by this version of Fraisier:');
    for (const key of loaded.unused) term.out(`  - ${key}${loaded.unusedNotes[key] ? `: ${loaded.unusedNotes[key]}` : ''}`);
  }
  if (loaded.leftAsWritten.length) {
    term.out('Left for systemd/the shell (not set here, kept as written):');
    for (const u of loaded.leftAsWritten) term.out(`  - ${u.path}: \${${u.variable}}${u.line ? ` (line ${u.line})` : ''}`);
  }
  for (const [provider, variables] of Object.entries(loaded.secretsFromEnv)) {
    term.out(`git.${provider}: webhook secret${variables.length === 1 ? '' : 's'} from ${variables.join(', ')}`);
  }
}

/** Targets whose provider has a settings schema but is not available in this Fraisier yet. */
async function unavailableProviders(config: FraisierConfig): Promise<ConfigProblem[]> {
  const [{ createProviderRegistry }, { createRunner }] = await Promise.all([import('../../providers/registry.js'), import('../../exec/runner.js')]);
  const available = createProviderRegistry(createRunner(), () => new Date()).names();
  const problems: ConfigProblem[] = [];
  for (const fraise of config.fraises) {
    for (const env of fraise.environments) {
      if (available.includes(env.target.provider)) continue;
      problems.push({
        severity: 'warning',
        path: formatPath(['fraises', fraise.name, 'environments', env.name, 'target', 'provider']),
        message: `target provider "${env.target.provider}" is not available in this Fraisier: deployments of ${fraise.name}/${env.name} will fail (available: ${available.join(', ')})`,
      });
    }
  }
  return problems;
}

/** git ls-remote on each repository, a few at once, each within the timeout. */
async function unreachableRepositories(config: FraisierConfig, timeoutMs: number): Promise<ConfigProblem[]> {
  const byRepository = new Map<string, string[]>();
  for (const fraise of config.fraises) {
    for (const env of fraise.environments) {
      if (env.repository) byRepository.set(env.repository, [...(byRepository.get(env.repository) ?? []), formatPath(['fraises', fraise.name, 'environments', env.name])]);
    }
  }
  const { createRunner } = await import('../../exec/runner.js');
  const runner = createRunner();
  const entries = [...byRepository];
  const problems: ConfigProblem[] = [];
  const worker = async () => {
    for (let entry = entries.shift(); entry; entry = entries.shift()) {
      const [repository, paths] = entry;
      try {
        await runner.run(lsRemote(repository, 'HEAD'), { timeoutMs, env: GIT_ENV });
      } catch (error) {
        problems.push({ severity: 'warning', path: paths[0]!, message: `repository ${maskUrlPassword(repository)} is not reachable: ${maskUrlPassword(firstLine(error))}${paths.length > 1 ? ` (also used by ${paths.length - 1} more)` : ''}` });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, entries.length) }, worker));
  return problems.sort((a, b) => a.path.localeCompare(b.path));
}
