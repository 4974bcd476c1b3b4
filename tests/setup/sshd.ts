import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './service-repo.js';

/*
 * A real OpenSSH server on 127.0.0.1 for deployment tests: its own host key, a client key made
 * by the test, a known_hosts file with the host key, and nothing else reachable.
 */

export const SSHD = '/usr/sbin/sshd';

export interface TestSshd {
  host: string;
  port: number;
  user: string;
  identityFile: string;
  knownHosts: string;
  /** A known_hosts file holding some other host key (for the host-key mismatch case). */
  wrongKnownHosts: string;
  stop(): Promise<void>;
}

/** Why sshd cannot run here, or undefined. Under CI it must. */
export function sshdUnavailable(): string | undefined {
  if (existsSync(SSHD)) return undefined;
  if (process.env.CI) throw new Error(`${SSHD} is missing (.ci/run installs openssh-server)`);
  return `${SSHD} is not installed`;
}

export async function startSshd(): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'fraisier-sshd-'));
  const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
  keygen(join(dir, 'host_key'));
  keygen(join(dir, 'other_host_key'));
  keygen(join(dir, 'id_client'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'id_client.pub')));
  const port = await freePort();
  const user = userInfo().username;
  // Privilege separation needs this directory when sshd starts as root.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true });
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      'AllowTcpForwarding no',
      'X11Forwarding no',
      'PrintMotd no',
      'LogLevel ERROR',
    ].join('\n'),
  );
  const hostKey = readFileSync(join(dir, 'host_key.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
  const otherKey = readFileSync(join(dir, 'other_host_key.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`);
  writeFileSync(join(dir, 'wrong_known_hosts'), `[127.0.0.1]:${port} ${otherKey}\n`);

  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  // Ready when a client gets through (bounded: sshd starts in milliseconds).
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sshd exited: ${errors}`);
    try {
      execFileSync('ssh', ['-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-i', join(dir, 'id_client'), '-p', String(port), '-l', user, '127.0.0.1', 'true'], {
        stdio: 'ignore',
        timeout: 5_000,
      });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`sshd did not accept a connection: ${errors}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    host: '127.0.0.1',
    port,
    user,
    identityFile: join(dir, 'id_client'),
    knownHosts: join(dir, 'known_hosts'),
    wrongKnownHosts: join(dir, 'wrong_known_hosts'),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
