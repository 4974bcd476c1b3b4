import { type EnvironmentConfig, type FraiseConfig, type FraisierConfig, isSlotStrategy, type ScaffoldSettings } from '../config/types.js';
import { deploySocketName, deployUser, jobUnitNames, nginxSiteName, projectName, ScaffoldError, serviceUnitName, sudoersName } from './names.js';
import { renderNginxSite } from './nginx.js';
import { renderSudoers, type SudoRule } from './sudoers.js';
import { slotUnit } from '../providers/bare-metal/commands.js';
import { renderAppService, renderDeploySocket, renderDeploySocketService, renderJobService, renderJobTimer } from './systemd.js';

/*
 * What `fraisier scaffold` writes, as a pure function of the configuration: file names and
 * their text. Writing them (to a review directory, or over the live files) is writer.ts.
 */

export type GeneratedKind = 'systemd' | 'nginx' | 'sudoers';

export interface GeneratedFile {
  kind: GeneratedKind;
  /** The file's name (unit, site or sudoers file). */
  name: string;
  content: string;
  /** sudo ignores a sudoers file others may write, and refuses one it cannot trust. */
  mode: number;
}

export interface ScaffoldOptions {
  /** Named in each file's header: where it came from. */
  source: string;
  /** The configuration file the deploy socket's `fraisier deploy` reads (absolute). */
  configPath: string;
  /** An absolute path for a program named bare in an install command (sudoers needs one). */
  programPath: (name: string) => string | undefined;
}

export interface ScaffoldPlan {
  files: GeneratedFile[];
  /** What the reader should know: what was left out, and why. */
  notes: string[];
}

export const DEFAULT_SCAFFOLD: ScaffoldSettings = {
  deployUser: 'fraisier',
  socketUser: 'www-data',
  socketGroup: 'www-data',
  securityHardening: true,
  memoryMaxDefault: '4G',
  nginx: { sslProvider: 'letsencrypt', corsOrigins: [], rateLimit: '10r/s', restrictedPaths: [] },
};

/** The app's port: service.port, else the health check URL's or port, else 8000 (the Python Fraisier's default). */
export function appPort(env: EnvironmentConfig): number {
  if (env.service?.port) return env.service.port;
  const url = env.healthCheck?.url;
  if (url) {
    try {
      const port = new URL(url).port;
      if (port) return Number(port);
    } catch {
      // not a URL: fall through to the other sources
    }
  }
  return env.healthCheck?.port ?? 8000;
}

/** Whether the environment runs as a long-lived systemd service scaffold writes. */
export function hasAppService(fraise: FraiseConfig, env: EnvironmentConfig): boolean {
  if (!onSystemd(env)) return false;
  return fraise.type === 'api' || fraise.type === 'worker' || env.service !== undefined;
}

/** A bare-metal target whose services systemd manages. */
export function onSystemd(env: EnvironmentConfig): boolean {
  return env.target.provider === 'bare-metal' && env.target.config.service_manager !== 'none';
}

export function planScaffold(config: FraisierConfig, options: ScaffoldOptions): ScaffoldPlan {
  const scaffold = config.scaffold ?? DEFAULT_SCAFFOLD;
  const project = projectName(config);
  const files: GeneratedFile[] = [];
  const notes: string[] = [];
  const errors: string[] = [];
  const rules: SudoRule[] = [];
  const add = (kind: GeneratedKind, name: string, content: string, where: string) => {
    if (files.some((f) => f.kind === kind && f.name === name)) errors.push(`${where}: ${name} is written for another environment too; give each its own name`);
    else files.push({ kind, name, content, mode: kind === 'sudoers' ? 0o440 : 0o644 });
  };
  const attempt = (action: () => void) => {
    try {
      action();
    } catch (error) {
      if (error instanceof ScaffoldError) errors.push(error.message);
      else throw error;
    }
  };

  for (const fraise of config.fraises) {
    for (const env of fraise.environments) {
      const where = `${fraise.name}/${env.name}`;
      const user = deployUser(env, scaffold.deployUser);
      const sudo = env.target.provider === 'bare-metal' && env.target.config.sudo === true;
      const systemdService = env.target.config.systemd_service;
      if (hasAppService(fraise, env)) {
        attempt(() => {
          const strategy = isSlotStrategy(env.strategy) ? env.strategy : undefined;
          const unit = serviceUnitName(config, env);
          // Blue-green: the template NAME@.service, whose instances NAME@<slot>.service deployments start and stop.
          const file = strategy ? unit.replace(/@?\.service$/, '@.service') : unit;
          const service = env.service ?? { type: 'exec', workers: 1, execStartPre: [], credentials: {}, environment: {}, security: {} };
          add('systemd', file, renderAppService({ fraise, env, service, scaffold, user, port: appPort(env), source: options.source, ...(strategy ? { slots: true } : {}) }), where);
          if (typeof systemdService !== 'string') notes.push(`${where}: set systemd_service: ${unit} so that deployments ${strategy ? 'start and stop its instances' : 'restart it'}`);
          if (sudo) {
            const units = strategy ? strategy.slots.map((slot) => slotUnit(unit, slot.name)) : [unit];
            for (const instance of units) {
              for (const action of ['restart', 'start', 'stop']) rules.push({ user, runAs: 'root', command: ['/usr/bin/systemctl', action, '--', instance], setenv: false, environments: [where] });
            }
          }
          if (strategy?.proxy.type === 'nginx') {
            const first = strategy.slots[0];
            notes.push(`${where}: before the first deployment, create ${strategy.proxy.upstreamFile} holding "upstream ${strategy.proxy.upstream} { server 127.0.0.1:${first.port}; }" (writable by ${user}); each deployment rewrites it`);
          }
        });
      }
      if (onSystemd(env)) {
        attempt(() => {
          const socketName = deploySocketName(config, env);
          const input = { fraise, env, scaffold, socketName, user, configPath: scaffold.configPath ?? options.configPath, source: options.source };
          add('systemd', socketName, renderDeploySocket(input), where);
          // Accept=yes starts one instance of the template per connection.
          add('systemd', socketName.replace(/\.socket$/, '@.service'), renderDeploySocketService(input), where);
        });
      }
      for (const job of env.jobs) {
        if (!job.systemdTimer) continue;
        // The Python Fraisier installed such units from the repository: without what to run, they stay the user's.
        const missing = !job.schedule ? 'a schedule' : !job.command && !job.scriptPath ? 'a command or script_path' : job.scriptPath && !job.scriptPath.startsWith('/') && !env.appPath ? "the environment's app_path (its script_path is relative)" : undefined;
        if (missing) {
          notes.push(`${where} job ${job.name}: systemd_timer without ${missing}, so its units are yours to write`);
          continue;
        }
        attempt(() => {
          const names = jobUnitNames(env, job);
          const input = { fraise, env, job, serviceName: names.service, timerName: names.timer, user, source: options.source };
          add('systemd', names.service, renderJobService(input), `${where} job ${job.name}`);
          add('systemd', names.timer, renderJobTimer(input), `${where} job ${job.name}`);
          if (sudo) rules.push({ user, runAs: 'root', command: ['/usr/bin/systemctl', 'enable', '--now', '--', names.timer], setenv: false, environments: [where] });
        });
      }
      if (env.nginx) {
        const nginx = env.nginx;
        attempt(() => add('nginx', nginxSiteName(config, env), renderNginxSite({ project, fraise, env, nginx, scaffold, port: appPort(env), source: options.source }), where));
      }
      if (env.install?.user && env.target.provider === 'bare-metal') {
        const [program, ...args] = env.install.command;
        const absolute = program!.startsWith('/') ? program! : options.programPath(program!);
        if (!absolute) errors.push(`${where}: install.command runs "${program}" as ${env.install.user} through sudo, which needs its absolute path; write it so in fraises.yaml`);
        else rules.push({ user, runAs: env.install.user, command: [absolute, ...args], setenv: true, environments: [where] });
      }
    }
  }
  if (rules.length) attempt(() => add('sudoers', sudoersName(config), renderSudoers(rules, options.source), 'sudoers'));
  else notes.push('no sudoers entry: no bare-metal target has sudo: true, and no install has a user');
  if (errors.length) throw new ScaffoldError(errors.join('\n'));
  return { files, notes };
}
