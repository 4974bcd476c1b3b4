import { posix } from 'node:path';
import type { Command, DatabaseConfig, EnvironmentConfig } from '../../config/types.js';

/*
 * Bare-metal command lines, as pure functions returning argv arrays (Kamal's style): the
 * provider orchestrates, the runner executes, tests assert exact command lines.
 *
 * Layout on the target, under app_path:
 *   repo.git/          a bare mirror of the repository, fetched into
 *   releases/<commit>/ one worktree per deployed commit (kept for rollbacks)
 *   current ->         symlink to the release that runs (point the service at it)
 *   shared/            the application's own files that outlive releases (pid files, uploads)
 *   .fraisier-lock.<fraise>.<environment> -> while a deployment runs: a symlink whose text names
 *                      its holder (see host-lock.ts)
 */

export interface Layout {
  appPath: string;
  mirror: string;
  releases: string;
  current: string;
  shared: string;
  /** The host-side lock a deployment of (fraise, environment) holds (a symlink: created atomically, read in one call). */
  lock(fraise: string, environment: string): string;
  release(commit: string): string;
}

export function layoutOf(appPath: string): Layout {
  const root = appPath.replace(/\/+$/, '') || '/';
  return {
    appPath: root,
    mirror: posix.join(root, 'repo.git'),
    releases: posix.join(root, 'releases'),
    current: posix.join(root, 'current'),
    shared: posix.join(root, 'shared'),
    lock: (fraise, environment) => posix.join(root, `.fraisier-lock.${fileSafe(fraise)}.${fileSafe(environment)}`),
    release: (commit) => posix.join(root, 'releases', commit),
  };
}

function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}

export function makeDirectories(layout: Layout): Command {
  return ['mkdir', '-p', '--', layout.releases, layout.shared];
}

/** True (exit 0) when `path` is a directory. */
export function isDirectory(path: string): Command {
  return ['test', '-d', path];
}

export function readLink(path: string): Command {
  return ['readlink', '--', path];
}

/** Points `current` at `target` atomically: a new link, then a rename over the old one. */
export function switchCurrent(layout: Layout, target: string): Command[] {
  const next = `${layout.current}.next`;
  return [
    ['ln', '-sfn', '--', target, next],
    ['mv', '-T', '--', next, layout.current],
  ];
}

/** Releases newest first (by modification time). */
export function listReleases(layout: Layout): Command {
  return ['ls', '-1t', '--', layout.releases];
}

export function removeWorktree(layout: Layout, path: string): Command {
  return ['git', '-C', layout.mirror, 'worktree', 'remove', '--force', '--end-of-options', path];
}

export interface ServiceCommands {
  restart?: Command;
  start?: Command;
  stop?: Command;
  status?: Command;
  logs?: (lines: number) => Command;
}

/**
 * The service manager's commands: systemd (`systemctl`, `journalctl`) for `systemd_service`,
 * overridden by the environment's `commands` (hosts without systemd, or custom scripts).
 */
export function serviceCommands(env: EnvironmentConfig): ServiceCommands {
  const config = env.target.config;
  const service = typeof config.systemd_service === 'string' ? config.systemd_service : undefined;
  const sudo = config.sudo === true ? ['sudo', '-n'] : [];
  const custom = (config.commands ?? {}) as Partial<Record<'restart' | 'start' | 'stop' | 'status' | 'logs', string[]>>;
  const commands: ServiceCommands = {};
  if (service && config.service_manager !== 'none') {
    commands.restart = [...sudo, 'systemctl', 'restart', '--', service];
    commands.start = [...sudo, 'systemctl', 'start', '--', service];
    commands.stop = [...sudo, 'systemctl', 'stop', '--', service];
    commands.status = ['systemctl', 'is-active', '--quiet', '--', service];
    commands.logs = (lines) => ['journalctl', '--unit', service, '--lines', String(lines), '--no-pager', '--output', 'short-iso'];
  }
  if (custom.restart) commands.restart = custom.restart;
  if (custom.start) commands.start = custom.start;
  if (custom.stop) commands.stop = custom.stop;
  if (custom.status) commands.status = custom.status;
  if (custom.logs) {
    const logs = custom.logs;
    commands.logs = (lines) => [...logs, String(lines)];
  }
  return commands;
}

/** A command run as another user (install.user): sudo, keeping the FRAISIER_* variables. */
export function asUser(user: string | undefined, command: Command, envNames: readonly string[]): Command {
  if (!user) return command;
  const keep = envNames.length ? [`--preserve-env=${envNames.join(',')}`] : [];
  return ['sudo', '-n', '-u', user, ...keep, '--', ...command];
}

/** The migration command for a database's strategy (confiture by default, as FraiseQL projects use). */
export function migrateCommands(db: DatabaseConfig, environment: string): Command[] {
  const config = db.confitureConfig ?? `db/environments/${environment}.yaml`;
  const migrationsDir = db.migrationsDir ? ['--migrations-dir', db.migrationsDir] : [];
  const migrate = db.commands.migrate ?? ['confiture', 'migrate', 'up', '--config', config, ...migrationsDir];
  switch (db.strategy) {
    case 'rebuild':
      return [db.commands.rebuild ?? ['confiture', 'build', '--env', environment]];
    case 'restore_migrate':
      if (!db.commands.restore) throw new Error('strategy restore_migrate needs database.restore_command (how to restore the backup)');
      return [db.commands.restore, migrate];
    case 'apply':
    case 'migrate':
      return [migrate];
  }
}

/** A database dump before migrating: pg_dump in custom format unless a command is configured. */
export function backupCommand(db: DatabaseConfig, layout: Layout, stamp: string): { command: Command; file?: string } {
  if (db.commands.backup) return { command: db.commands.backup };
  if (!db.name) throw new Error('backup_before_deploy needs database.name (or database.backup_command)');
  const file = posix.join(layout.shared, 'backups', `${db.name}-${stamp}.dump`);
  return { command: ['pg_dump', '--format=custom', `--file=${file}`, '--', db.name], file };
}

/**
 * Who holds a target's host-side lock: the deployment, its lock key and fencing generation, and
 * the Fraisier process (instance, host name, pid). Written as the text of the lock symlink.
 */
export interface HostLockOwner {
  lockKey: string;
  deployment: string;
  generation: number;
  instance: string;
  host: string;
  pid: number;
}

const LOCK_PREFIX = 'fraisier-lock:';

export function formatLockOwner(owner: HostLockOwner): string {
  const fields: [string, string][] = [
    ['key', owner.lockKey],
    ['deployment', owner.deployment],
    ['generation', String(owner.generation)],
    ['instance', owner.instance],
    ['host', owner.host],
    ['pid', String(owner.pid)],
  ];
  return LOCK_PREFIX + fields.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join(';');
}

/** The owner a lock's text names, or undefined when it is not one of ours (taken over then). */
export function parseLockOwner(text: string): HostLockOwner | undefined {
  if (!text.startsWith(LOCK_PREFIX)) return undefined;
  const fields = new Map(
    text
      .slice(LOCK_PREFIX.length)
      .split(';')
      .map((pair) => {
        const at = pair.indexOf('=');
        return [pair.slice(0, at), decodeURIComponent(pair.slice(at + 1))] as const;
      }),
  );
  const generation = Number(fields.get('generation'));
  const pid = Number(fields.get('pid'));
  const [lockKey, deployment, instance, host] = ['key', 'deployment', 'instance', 'host'].map((k) => fields.get(k));
  if (!lockKey || !deployment || !instance || !host || !Number.isInteger(generation) || !Number.isInteger(pid)) return undefined;
  return { lockKey, deployment, generation, instance, host, pid };
}

/** Creates the lock; fails (exit 1) when it exists: `ln -s` is atomic. */
export function createLock(lock: string, owner: string): Command {
  return ['ln', '-s', '--', owner, lock];
}

/** Replaces a stale lock in one rename (a new link beside it, then `mv -T` over it). */
export function replaceLock(lock: string, owner: string, unique: string): Command[] {
  const next = `${lock}.${unique}`;
  return [
    ['ln', '-sfn', '--', owner, next],
    ['mv', '-T', '--', next, lock],
  ];
}

/** Removes the lock if it still names `owner` (one call: over SSH, one round trip). */
export function removeLock(lock: string, owner: string): Command {
  return ['sh', '-c', 'if [ "$(readlink -- "$1")" = "$2" ]; then rm -f -- "$1"; fi', 'fraisier-unlock', lock, owner];
}
