import type { Command } from '../config/types.js';
import { graceSeconds, REMOTE_SUPERVISOR } from '../exec/process-group.js';
import type { CommandRunner, RunOptions, RunResult } from '../exec/runner.js';
import { runFileOperation } from './local-files.js';

/*
 * Where a bare-metal environment's commands run: here, or on a server over OpenSSH. Commands
 * are argv arrays either way. Over SSH the remote side needs one command line: it is built in
 * exactly one place (`sshCommand`), every argument single-quoted, environment variables passed
 * with `env NAME=value`, the working directory with `env --chdir`. Host keys are checked
 * (StrictHostKeyChecking=yes); nothing prompts (BatchMode=yes).
 *
 * Without a terminal, sshd sends the remote command no SIGHUP when the connection drops: it would
 * run on after Fraisier (or its ssh client) died. So the remote command runs under a small
 * supervisor (process-group.ts) that watches the channel's standard input, which the local side
 * keeps open for as long as Fraisier lives (`liveStdin`), and ends the remote session's process
 * group when it closes. A command given `input` reads it instead and is not supervised there.
 */

export interface HostShell {
  /** "local" or "user@host:port": for messages and the per-host concurrency limit. */
  readonly description: string;
  readonly remote: boolean;
  run(argv: Command, options?: RunOptions): Promise<RunResult>;
}

export interface SshSettings {
  host: string;
  user?: string;
  port?: number;
  identityFile?: string;
  knownHosts?: string;
  options?: readonly string[];
  /** How long to wait for the TCP connection and the SSH handshake (seconds). */
  connectTimeoutSeconds?: number;
}

/** The `target:` settings that say where a target's commands run (bare metal and Compose alike). */
export interface TargetHostSettings {
  host?: string | undefined;
  user?: string | undefined;
  port?: number | undefined;
  identity_file?: string | undefined;
  known_hosts?: string | undefined;
  ssh_options?: string[] | undefined;
}

/** No host is this machine; so is a bare "localhost" (with a port, user or key it is SSH). */
export function targetShell(runner: CommandRunner, c: TargetHostSettings): HostShell {
  const bareLocalhost = (c.host === 'localhost' || c.host === '127.0.0.1') && c.port === undefined && c.user === undefined && c.identity_file === undefined;
  if (c.host === undefined || bareLocalhost) return localHost(runner);
  return sshHost(runner, {
    host: c.host,
    ...(c.user !== undefined ? { user: c.user } : {}),
    ...(c.port !== undefined ? { port: c.port } : {}),
    ...(c.identity_file !== undefined ? { identityFile: c.identity_file } : {}),
    ...(c.known_hosts !== undefined ? { knownHosts: c.known_hosts } : {}),
    ...(c.ssh_options !== undefined ? { options: c.ssh_options } : {}),
  });
}

/** This machine: the release layout's file operations in this process (local-files.ts), anything else through the runner. */
export function localHost(runner: CommandRunner): HostShell {
  return { description: 'local', remote: false, run: (argv, options) => runFileOperation(argv, options) ?? runner.run(argv, options) };
}

export function sshHost(runner: CommandRunner, settings: SshSettings): HostShell {
  const destination = `${settings.user ? `${settings.user}@` : ''}${settings.host}`;
  return {
    description: `${destination}${settings.port ? `:${settings.port}` : ''}`,
    remote: true,
    run: (argv, options = {}) => {
      const { cwd, env, ...rest } = options;
      const line = remoteCommand(argv, { ...(cwd ? { cwd } : {}), ...(env ? { env } : {}) });
      if (rest.input !== undefined) return runner.run(sshCommand(settings, line), rest);
      return runner.run(sshCommand(settings, supervisedRemote(line, rest.killGraceMs ?? 5_000)), { ...rest, liveStdin: true });
    },
  };
}

/** The ssh argv that runs `remote` (already a quoted command line) on the host. */
export function sshCommand(settings: SshSettings, remote: string): Command {
  const argv = [
    'ssh',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `ConnectTimeout=${settings.connectTimeoutSeconds ?? 15}`,
    '-o',
    'LogLevel=ERROR',
  ];
  if (settings.knownHosts) argv.push('-o', `UserKnownHostsFile=${settings.knownHosts}`);
  if (settings.identityFile) argv.push('-i', settings.identityFile, '-o', 'IdentitiesOnly=yes');
  if (settings.port) argv.push('-p', String(settings.port));
  for (const option of settings.options ?? []) argv.push('-o', option);
  if (settings.user) argv.push('-l', settings.user);
  argv.push('--', settings.host, remote);
  return argv;
}

/** `line` (a quoted command line) under the remote supervisor: it dies when the channel closes. */
export function supervisedRemote(line: string, graceMs: number): string {
  return `${['sh', '-c', REMOTE_SUPERVISOR, 'fraisier-supervise', graceSeconds(graceMs)].map(shellQuote).join(' ')} ${line}`;
}

/** `env --chdir=DIR NAME=value ... argv...`, every word quoted for the remote shell. */
export function remoteCommand(argv: Command, options: { cwd?: string; env?: Record<string, string> } = {}): string {
  const words: string[] = [];
  if (options.cwd || (options.env && Object.keys(options.env).length > 0)) {
    words.push('env');
    if (options.cwd) words.push(`--chdir=${options.cwd}`);
    for (const [name, value] of Object.entries(options.env ?? {})) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid environment variable name ${JSON.stringify(name)}`);
      words.push(`${name}=${value}`);
    }
    // `env` stops reading assignments at the first word without "=": protect a program path that has one.
    if (argv[0]?.includes('=')) words.push('--');
  }
  words.push(...argv);
  return words.map(shellQuote).join(' ');
}

/** POSIX single-quoting: the shell reads it back as exactly `value`. */
export function shellQuote(value: string): string {
  if (value !== '' && /^[A-Za-z0-9_\-./:=@%+,]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
