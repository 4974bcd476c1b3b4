import { posix } from 'node:path';
import type { Command, DatabaseConfig } from '../../config/types.js';
import type { BareMetalTarget } from '../../config/target-schemas.js';
import { matchesGlob } from '../../git/refs.js';
import type { Layout } from '../release/layout.js';

/*
 * Bare-metal command lines, as pure functions returning argv arrays (Kamal's style): the
 * provider orchestrates, the runner executes, tests assert exact command lines. The release
 * layout they work in is ../release/layout.ts.
 */

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
export function serviceCommands(config: BareMetalTarget): ServiceCommands {
  const service = config.systemd_service;
  const sudo = config.sudo === true ? ['sudo', '-n'] : [];
  const custom = config.commands ?? {};
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

/**
 * The migration commands for a database's strategy (confiture by default, as FraiseQL projects
 * use). restore_migrate restores `dump` first (see newestDump): with restore_command, which
 * finds it in $FRAISIER_RESTORE_FILE, or else with pg_restore into database.name.
 */
export function migrateCommands(db: DatabaseConfig, environment: string, dump?: string): Command[] {
  const config = db.confitureConfig ?? `db/environments/${environment}.yaml`;
  const migrationsDir = db.migrationsDir ? ['--migrations-dir', db.migrationsDir] : [];
  const migrate = db.commands.migrate ?? ['confiture', 'migrate', 'up', '--config', config, ...migrationsDir];
  switch (db.strategy) {
    case 'rebuild':
      return [db.commands.rebuild ?? ['confiture', 'build', '--env', environment]];
    case 'restore_migrate':
      if (db.commands.restore) return [db.commands.restore, migrate];
      if (!db.restore) throw new Error('strategy restore_migrate needs database.restore.backup_dir (where the dumps are) or database.restore_command');
      if (!dump) throw new Error(`no dump to restore from ${db.restore.backupDir}`);
      if (!db.name) throw new Error('restore_migrate restores into database.name: set it (or database.restore_command)');
      return [restoreDump(db.name, dump, db.restore.jobs), migrate];
    case 'apply':
    case 'migrate':
      return [migrate];
  }
}

/** pg_restore of a custom-format dump over the database's current objects. */
export function restoreDump(database: string, dump: string, jobs?: number): Command {
  return ['pg_restore', '--clean', '--if-exists', '--no-owner', '--no-acl', ...(jobs && jobs > 1 ? [`--jobs=${jobs}`] : []), `--dbname=${database}`, '--', dump];
}

/** The files of a backup directory, newest first (by modification time). */
export function listBackups(dir: string): Command {
  return ['ls', '-1t', '--', dir];
}

/** A file's modification time, in seconds since the epoch (GNU stat). */
export function modificationTime(path: string): Command {
  return ['stat', '--format=%Y', '--', path];
}

/**
 * The newest file of `listBackups`' output whose name matches the glob `pattern`. Hidden files
 * (a transfer's `.name.dump.XXXX`) are skipped, as ls and the shell's globs skip them.
 */
export function newestDump(dir: string, listing: string, pattern: string): string | undefined {
  const name = listing.split('\n').find((line) => line !== '' && !line.startsWith('.') && matchesGlob(line, pattern));
  return name === undefined ? undefined : posix.join(dir, name);
}

/** A database dump before migrating: pg_dump in custom format unless a command is configured. */
export function backupCommand(db: DatabaseConfig, layout: Layout, stamp: string): { command: Command; file?: string } {
  if (db.commands.backup) return { command: db.commands.backup };
  if (!db.name) throw new Error('backup_before_deploy needs database.name (or database.backup_command)');
  const file = posix.join(layout.shared, 'backups', `${db.name}-${stamp}.dump`);
  return { command: ['pg_dump', '--format=custom', `--file=${file}`, '--', db.name], file };
}


/** A blue-green slot's service commands: each run with FRAISIER_SLOT and FRAISIER_PORT set. */
export interface SlotCommands {
  /** Starts the slot, or restarts it on its new release when it runs. */
  restart: (slot: string) => Command;
  stop: (slot: string) => Command;
  status?: (slot: string) => Command;
  logs?: (slot: string, lines: number) => Command;
}

/** systemd's template instance for a slot: hello (or hello.service, hello@) → hello@blue.service. */
export function slotUnit(service: string, slot: string): string {
  return `${service.replace(/\.service$/, '').replace(/@$/, '')}@${slot}.service`;
}

/**
 * Per slot: systemd's template unit `<systemd_service>@<slot>.service`, or the environment's
 * own commands (told the slot by FRAISIER_SLOT and FRAISIER_PORT); undefined when neither can
 * start and stop a slot.
 */
export function slotCommands(config: BareMetalTarget): SlotCommands | undefined {
  const service = config.systemd_service;
  const sudo = config.sudo === true ? ['sudo', '-n'] : [];
  const custom = config.commands ?? {};
  const systemd = service !== undefined && config.service_manager !== 'none';
  const restart = custom.restart ?? custom.start;
  const commands: Partial<SlotCommands> = {};
  if (systemd) {
    commands.restart = (slot) => [...sudo, 'systemctl', 'restart', '--', slotUnit(service, slot)];
    commands.stop = (slot) => [...sudo, 'systemctl', 'stop', '--', slotUnit(service, slot)];
    commands.status = (slot) => ['systemctl', 'is-active', '--quiet', '--', slotUnit(service, slot)];
    commands.logs = (slot, lines) => ['journalctl', '--unit', slotUnit(service, slot), '--lines', String(lines), '--no-pager', '--output', 'short-iso'];
  }
  if (restart) commands.restart = () => restart;
  if (custom.stop) {
    const stop = custom.stop;
    commands.stop = () => stop;
  }
  if (custom.status) {
    const status = custom.status;
    commands.status = () => status;
  }
  if (custom.logs) {
    const logs = custom.logs;
    commands.logs = (_slot, lines) => [...logs, String(lines)];
  }
  return commands.restart && commands.stop ? (commands as SlotCommands) : undefined;
}
