import type { EnvironmentConfig, FraisierConfig } from '../config/types.js';

/*
 * The names scaffold gives what it writes, in one place: validate-setup looks for the same
 * units, site and sudoers file. The defaults are the Python Fraisier's
 * (`<project>_<fraise>_<env>.service`, `/etc/sudoers.d/<project>`), so its users' hosts keep
 * their names.
 */

/** An error in what scaffold was asked to write (a name systemd or sudo would refuse). */
export class ScaffoldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScaffoldError';
  }
}

const UNIT_NAME = /^[A-Za-z0-9:_.\\@-]+$/;

/** The project's name: the file's `name:`, else "fraisier". */
export function projectName(config: Pick<FraisierConfig, 'name'>): string {
  return config.name ?? 'fraisier';
}

/** A name made of what systemd, nginx and sudo all accept. */
export function safeName(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '_');
}

function unitName(name: string, suffix: string, where: string): string {
  const full = name.endsWith(suffix) ? name : `${name}${suffix}`;
  if (!UNIT_NAME.test(full)) throw new ScaffoldError(`${where}: "${full}" is not a valid systemd unit name (letters, digits, ":", "_", ".", "@", "-")`);
  return full;
}

/** The environment's app service: its systemd_service, else `<project>_<fraise>_<env>.service`. */
export function serviceUnitName(config: Pick<FraisierConfig, 'name'>, env: EnvironmentConfig): string {
  const configured = env.target.config.systemd_service;
  const name = typeof configured === 'string' && configured ? configured : `${safeName(projectName(config))}_${env.fraise}_${env.name}`;
  return unitName(name, '.service', `${env.fraise}/${env.name}`);
}

/**
 * The socket that deploys the environment when a local client connects: systemd_deploy_socket
 * (a unit name), else `fraisier-<name:>.socket`, else `fraisier-<fraise>-<env>.socket`, as the
 * Python Fraisier named it. A systemd_deploy_socket that is a path names where it listens instead.
 */
export function deploySocketName(_config: Pick<FraisierConfig, 'name'>, env: EnvironmentConfig): string {
  const configured = env.deploySocket && !env.deploySocket.includes('/') ? env.deploySocket : undefined;
  const name = configured ?? (env.label ? `fraisier-${env.label}` : `fraisier-${env.fraise}-${env.name}`);
  return unitName(name, '.socket', `${env.fraise}/${env.name}`);
}

/** Where the deploy socket listens: systemd_deploy_socket when it is a path, else a directory of its own under /run/fraisier. */
export function deploySocketPath(env: EnvironmentConfig, socketName: string): string {
  if (env.deploySocket?.includes('/')) return env.deploySocket;
  return `/run/fraisier/${socketName.replace(/\.socket$/, '')}/deploy.sock`;
}

/** The service a job's timer starts, and the timer. */
export function jobUnitNames(env: EnvironmentConfig, job: { name: string; systemdService?: string; systemdTimer?: string }): { service: string; timer: string } {
  const where = `${env.fraise}/${env.name} job ${job.name}`;
  const timer = unitName(job.systemdTimer ?? job.name, '.timer', where);
  const service = unitName(job.systemdService ?? timer.replace(/\.timer$/, ''), '.service', where);
  return { service, timer };
}

/** The nginx site file: `<server_name>.conf`, else `<project>_<fraise>_<env>.conf`. */
export function nginxSiteName(config: Pick<FraisierConfig, 'name'>, env: EnvironmentConfig): string {
  const stem = env.nginx?.serverName ?? `${projectName(config)}_${env.fraise}_${env.name}`;
  return `${stem.replace(/[^A-Za-z0-9._-]/g, '_')}.conf`;
}

/** sudo skips files of /etc/sudoers.d whose name holds a "." or ends in "~". */
export function sudoersName(config: Pick<FraisierConfig, 'name'>): string {
  return safeName(projectName(config));
}

/** The deploy user of an environment: its target's (SSH) user, else scaffold.deploy_user. */
export function deployUser(env: EnvironmentConfig, fallback: string): string {
  const user = env.target.config.user;
  return typeof user === 'string' && user ? user : fallback;
}
