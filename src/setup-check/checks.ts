import { type EnvironmentConfig, type FraiseConfig, type FraisierConfig, isSlotStrategy } from '../config/types.js';
import { maskUrlCredentials, maskUrlPassword } from '../config/secrets.js';
import type { RunOptions } from '../exec/runner.js';
import { GIT_ENV, lsRemote } from '../git/commands.js';
import type { HostShell } from '../providers/host.js';
import type { CheckResult } from '../providers/provider.js';
import { slotUnit } from '../providers/bare-metal/commands.js';
import { nginxSiteName, serviceUnitName, jobUnitNames, sudoersName } from '../scaffold/names.js';
import { hasAppService, onSystemd } from '../scaffold/plan.js';
import type { DatabaseProbeTarget } from './database-probe.js';
import { probeTarget } from './database-probe.js';
import { hostEnvironment } from '../strategies/hosts.js';

/*
 * `fraisier validate-setup`: what a host needs before its first deployment, checked per
 * environment, every check run (one problem never hides the next), each problem with what to
 * do. Commands go through the environment's host (here, or over SSH as its deploy user); the
 * database is reached from this machine.
 */

export type CheckName = 'host' | 'target' | 'app_path' | 'repository' | 'systemd' | 'sudo' | 'database' | 'nginx';

export interface SetupCheck {
  fraise: string;
  environment: string;
  check: CheckName;
  status: 'ok' | 'problem' | 'skipped';
  message: string;
  /** What to do about a problem. */
  fix?: string;
}

export interface SetupCheckDeps {
  /** Where the environment's commands run (providers/host.ts targetShell). */
  shellFor(env: EnvironmentConfig): HostShell;
  probeDatabase(target: DatabaseProbeTarget): Promise<void>;
  /**
   * What stands in the way of a target reached through an API rather than on a host (Coolify):
   * its provider's dry-run check. Undefined: no provider here checks it.
   */
  checkTarget?(fraise: FraiseConfig, env: EnvironmentConfig): Promise<CheckResult | undefined>;
  /** Who runs this command, and whether it may act as another user (runuser). */
  currentUser: string;
  isRoot: boolean;
}

const HOST_PROVIDERS = ['bare-metal', 'docker-compose'];
const COMMAND_TIMEOUT_MS = 20_000;

interface Outcome {
  ok: boolean;
  stdout: string;
  /** Why it failed: its first line of error output, or the runner's message. */
  reason: string;
  /** The program is not installed. */
  missing: boolean;
  /** The last line of error output: ssh says its verdict there, after its banners. */
  last: string;
}

async function attempt(host: HostShell, argv: readonly string[], options: RunOptions = {}): Promise<Outcome> {
  try {
    const result = await host.run(argv, { timeoutMs: COMMAND_TIMEOUT_MS, ...options });
    const lines = result.stderr.split('\n').filter((l) => /[A-Za-z]/.test(l));
    const reason = maskUrlCredentials(lines[0]?.trim() || `exit code ${result.exitCode}`);
    return { ok: result.exitCode === 0, stdout: result.stdout, reason, missing: false, last: maskUrlCredentials(lines.at(-1)?.trim() ?? reason) };
  } catch (error) {
    const e = error as Error & { reason?: string; result?: { stdout?: string; stderr?: string; exitCode?: number } };
    const lines = (e.result?.stderr ?? '').split('\n').filter((l) => /[A-Za-z]/.test(l));
    const missing = e.reason === 'spawn' || e.result?.exitCode === 127;
    const reason = maskUrlCredentials(lines[0]?.trim() ?? e.message.split('\n')[0] ?? String(error));
    // `systemctl is-enabled` says "disabled" on stdout as it exits 1.
    return { ok: false, stdout: e.result?.stdout ?? '', reason, missing, last: maskUrlCredentials(lines.at(-1)?.trim() ?? reason) };
  }
}

export async function checkSetup(config: FraisierConfig, environments: { fraise: FraiseConfig; env: EnvironmentConfig }[], deps: SetupCheckDeps): Promise<SetupCheck[]> {
  // A rolling environment is checked on each of its hosts (its messages name the host).
  const each = environments.flatMap(({ fraise, env }) =>
    env.strategy?.type === 'rolling' ? env.strategy.hosts.map((host) => ({ fraise, env: hostEnvironment(env, host) })) : [{ fraise, env }],
  );
  const results = await Promise.all(each.map(({ fraise, env }) => checkEnvironment(config, fraise, env, deps)));
  return results.flat();
}

export async function checkEnvironment(config: FraisierConfig, fraise: FraiseConfig, env: EnvironmentConfig, deps: SetupCheckDeps): Promise<SetupCheck[]> {
  const checks: SetupCheck[] = [];
  const record = (check: CheckName, status: SetupCheck['status'], message: string, fix?: string) =>
    void checks.push({ fraise: fraise.name, environment: env.name, check, status, message, ...(fix ? { fix } : {}) });

  const onHost = HOST_PROVIDERS.includes(env.target.provider);
  let host: HostShell | undefined;
  if (!onHost) {
    const result = await deps.checkTarget?.(fraise, env);
    if (!result) record('host', 'skipped', `target provider ${env.target.provider}: nothing to check on a host`);
    else if (result.problems.length === 0) record('target', 'ok', `the ${env.target.provider} target answers${result.checked ? ` (${result.checked})` : ''}`);
    else for (const problem of result.problems) record('target', 'problem', problem, `correct target: of ${fraise.name}/${env.name}${result.fix ? ` (${result.fix})` : ''}`);
  } else {
    host = deps.shellFor(env);
    if (host.remote) {
      const reach = await attempt(host, ['true']);
      if (reach.ok) record('host', 'ok', `${host.description} answers over SSH`);
      else {
        record('host', 'problem', `cannot reach ${host.description} over SSH: ${reach.last}`, `check that "ssh ${host.description.replace(/:\d+$/, '')} true" works as this user (key, known_hosts, port)`);
        host = undefined;
      }
    }
  }
  const configuredUser = env.target.config.user;
  const user = typeof configuredUser === 'string' && configuredUser ? configuredUser : host?.remote ? undefined : deps.currentUser;
  const where = host?.remote ? ` on ${host.description}` : '';

  if (host) {
    await checkAppPath(host, env, user, deps, record, where);
    await checkRepository(host, env, record, where);
    if (onSystemd(env)) await checkSystemd(host, config, fraise, env, record, where);
    if (env.target.provider === 'bare-metal' && env.target.config.sudo === true) await checkSudo(host, config, fraise, env, user, deps, record, where);
    if (env.nginx) await checkNginx(host, config, env, record, where);
  }
  if (env.database) {
    const target = probeTarget(env.database);
    if (!target) record('database', 'skipped', 'no database URL (database_url) or SQLite path to check');
    else {
      const shown = target.kind === 'sqlite' ? target.location : maskUrlPassword(target.location);
      try {
        await deps.probeDatabase(target);
        record('database', 'ok', `${shown} answers`);
      } catch (error) {
        const reason = maskUrlCredentials(((error as Error).message || String(error)).split('\n')[0]!);
        record(
          'database',
          'problem',
          `database ${shown} is not reachable from this machine: ${reason}`,
          target.kind === 'sqlite' ? `create it, or correct database.path / database_url` : 'start it, or correct database.database_url (host, port, user, password, database name)',
        );
      }
    }
  }
  return checks;
}

type Recorder = (check: CheckName, status: SetupCheck['status'], message: string, fix?: string) => void;

async function checkAppPath(host: HostShell, env: EnvironmentConfig, user: string | undefined, deps: SetupCheckDeps, record: Recorder, where: string): Promise<void> {
  const path = env.appPath;
  if (!path) return;
  const exists = await attempt(host, ['test', '-d', path]);
  if (!exists.ok) {
    record('app_path', 'problem', `app_path ${path} does not exist${where}`, `mkdir -p ${path}${user ? ` && chown ${user} ${path}` : ''}`);
    return;
  }
  let writable: Outcome;
  if (!host.remote && user && user !== deps.currentUser) {
    if (!deps.isRoot) {
      record('app_path', 'skipped', `app_path ${path} exists; whether ${user} may write it cannot be checked as ${deps.currentUser} (run as root, or as ${user})`);
      return;
    }
    writable = await attempt(host, ['runuser', '-u', user, '--', 'test', '-w', path]);
  } else writable = await attempt(host, ['test', '-w', path]);
  if (writable.ok) record('app_path', 'ok', `app_path ${path} exists and ${user ?? 'the SSH user'} may write it${where}`);
  else record('app_path', 'problem', `app_path ${path} is not writable by ${user ?? 'the SSH user'}${where}`, `chown -R ${user ?? '<deploy user>'} ${path}`);
}

async function checkRepository(host: HostShell, env: EnvironmentConfig, record: Recorder, where: string): Promise<void> {
  if (!env.repository) return;
  const shown = maskUrlPassword(env.repository);
  const answer = await attempt(host, lsRemote(env.repository, 'HEAD'), { env: GIT_ENV });
  if (answer.ok) record('repository', 'ok', `${shown} answers git ls-remote${where}`);
  else record('repository', 'problem', `repository ${shown} is not reachable${where}: ${answer.reason}`, 'correct git_repo / clone_url, or give the deploy user access (a deploy key in ~/.ssh, the host in known_hosts)');
}

/** Blue-green on systemd: the instances of the template unit, one per slot (hello@blue.service, ...). */
function slotInstances(config: FraisierConfig, env: EnvironmentConfig): string[] | undefined {
  if (!isSlotStrategy(env.strategy) || !onSystemd(env) || typeof env.target.config.systemd_service !== 'string') return undefined;
  const unit = serviceUnitName(config, env);
  return env.strategy.slots.map((slot) => slotUnit(unit, slot.name));
}

async function checkSystemd(host: HostShell, config: FraisierConfig, fraise: FraiseConfig, env: EnvironmentConfig, record: Recorder, where: string): Promise<void> {
  const units: string[] = [];
  const slots = slotInstances(config, env);
  if (slots) units.push(slots[0]!);
  else if (hasAppService(fraise, env) || typeof env.target.config.systemd_service === 'string') units.push(serviceUnitName(config, env));
  for (const job of env.jobs) if (job.systemdTimer) units.push(jobUnitNames(env, job).timer);
  if (units.length === 0) return;
  // The check systemd's own tools use (sd_booted): this directory exists when systemd is PID 1.
  const booted = await attempt(host, ['test', '-d', '/run/systemd/system']);
  if (!booted.ok) {
    record('systemd', 'skipped', `systemd not available here${where}: ${units.join(', ')} not checked`);
    return;
  }
  for (const unit of units) {
    const cat = await attempt(host, ['systemctl', 'cat', '--', unit]);
    if (!cat.ok) {
      record('systemd', 'problem', `unit ${unit} is not installed${where}`, 'fraisier scaffold --install, then systemctl daemon-reload');
      continue;
    }
    // A slot's instance is started and stopped by deployments: installed is all it needs to be.
    if (slots?.includes(unit)) {
      record('systemd', 'ok', `template unit of ${unit} is installed${where}`);
      continue;
    }
    const enabled = await attempt(host, ['systemctl', 'is-enabled', '--', unit]);
    const state = enabled.stdout.trim() || enabled.reason;
    if (state === 'enabled' || state === 'static' || state === 'indirect') record('systemd', 'ok', `unit ${unit} is installed and ${state}${where}`);
    else record('systemd', 'problem', `unit ${unit} is ${state}, not enabled${where}`, `systemctl enable --now ${unit}`);
  }
}

async function checkSudo(host: HostShell, config: FraisierConfig, fraise: FraiseConfig, env: EnvironmentConfig, user: string | undefined, deps: SetupCheckDeps, record: Recorder, where: string): Promise<void> {
  const service = slotInstances(config, env)?.[0] ?? (typeof env.target.config.systemd_service === 'string' || hasAppService(fraise, env) ? serviceUnitName(config, env) : undefined);
  const asOther = !host.remote && user !== undefined && user !== deps.currentUser && deps.isRoot ? ['-U', user] : [];
  // What the provider runs (bare-metal/commands.ts), asked of sudo's policy without running it.
  const argv = ['sudo', '-n', '-l', ...asOther, ...(service ? ['--', 'systemctl', 'restart', '--', service] : [])];
  const answer = await attempt(host, argv);
  const who = user ?? 'the SSH user';
  if (answer.ok) record('sudo', 'ok', `${who} may run ${service ? `sudo -n systemctl restart -- ${service}` : 'sudo -n'}${where}`);
  else if (answer.missing) record('sudo', 'problem', `sudo is not installed${where}, and the target has sudo: true`, 'install sudo, then fraisier scaffold --install for the sudoers entry');
  else {
    record('sudo', 'problem', `${who} may not run ${service ? `systemctl restart -- ${service}` : 'commands'} with sudo -n${where}: ${answer.reason}`, `fraisier scaffold --install writes /etc/sudoers.d/${sudoersName(config)}`);
  }
}

async function checkNginx(host: HostShell, config: FraisierConfig, env: EnvironmentConfig, record: Recorder, where: string): Promise<void> {
  const site = nginxSiteName(config, env);
  const available = `/etc/nginx/sites-available/${site}`;
  const enabled = `/etc/nginx/sites-enabled/${site}`;
  const present = await attempt(host, ['test', '-f', available]);
  if (!present.ok) {
    record('nginx', 'problem', `nginx site ${available} is missing${where}`, 'fraisier scaffold --install, then nginx -t && systemctl reload nginx');
    return;
  }
  const linked = await attempt(host, ['test', '-e', enabled]);
  if (linked.ok) record('nginx', 'ok', `nginx site ${site} is present and enabled${where}`);
  else record('nginx', 'problem', `nginx site ${site} is not enabled${where}`, `ln -s ../sites-available/${site} ${enabled} && nginx -t && systemctl reload nginx`);
}
