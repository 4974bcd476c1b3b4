import { readdirSync, readFileSync } from 'node:fs';

/*
 * Commands run in process groups of their own, so that stopping one stops everything it
 * started, and so that they die with Fraisier even when it is killed with SIGKILL (Node cannot
 * ask the kernel for PR_SET_PDEATHSIG). The group leader is a small POSIX shell supervisor: it
 * runs the command, and a watcher beside it blocks reading a socket whose other end only
 * Fraisier holds. The kernel closes that end when Fraisier dies, however it dies; the watcher
 * then reads end-of-file and terminates the group (SIGTERM, then SIGKILL after a grace).
 *
 * The scripts are constants: every value (the grace, the command's argv) travels as an argument
 * ("$@"), never inside the script text. `env --` runs the program itself, never a shell builtin
 * of the same name.
 */

/**
 * Local supervisor. Arguments: grace seconds, stdin mode, then the command's argv. Descriptor 3
 * is the supervisor socket. Mode `live-stdin` gives the command that socket as its standard
 * input, which then ends when Fraisier dies (ssh forwards that end to its remote side).
 */
export const LOCAL_SUPERVISOR = [
  'g=$1; m=$2; shift 2',
  "( while read -r _; do :; done <&3; trap '' TERM; kill -TERM 0; kill -CONT 0; sleep \"$g\"; kill -KILL 0 ) &",
  'w=$!',
  'if [ "$m" = live-stdin ]; then env -- "$@" <&3 3<&-; else env -- "$@" 3<&-; fi',
  's=$?',
  'kill -KILL "$w" 2>/dev/null',
  'exit "$s"',
].join('\n');

/**
 * Remote supervisor (run by sshd without a terminal, so nothing there sends SIGHUP when the
 * connection drops). Arguments: grace seconds, then the command's argv. Its standard input is
 * the SSH channel, kept open by the local side for as long as Fraisier lives; the command itself
 * reads /dev/null. At end-of-file the watcher terminates the session's process group.
 */
export const REMOTE_SUPERVISOR = [
  'g=$1; shift',
  'exec 3<&0',
  "( while read -r _; do :; done <&3; trap '' TERM; kill -TERM 0; kill -CONT 0; sleep \"$g\"; kill -KILL 0 ) &",
  'w=$!',
  'env -- "$@" </dev/null 3<&-',
  's=$?',
  'kill -KILL "$w" 2>/dev/null',
  'exit "$s"',
].join('\n');

/** Whole seconds for the supervisors' `sleep` (at least 1). */
export function graceSeconds(graceMs: number): string {
  return String(Math.max(1, Math.ceil(graceMs / 1000)));
}

/**
 * True while any process is left in group `pgid`. A zombie does not count: it has ended, and an
 * init that is slow to reap (in containers) would otherwise keep the group "alive" for long.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const members = liveMembers(pgid);
  return members === undefined || members.length > 0;
}

/** The pids of group `pgid` that have not ended (undefined without /proc to read). */
function liveMembers(pgid: number): number[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const members: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = statOf(Number(entry));
    if (stat && stat.pgrp === pgid && stat.state !== 'Z') members.push(Number(entry));
  }
  return members;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

const POLL_MS = 25;

/**
 * SIGTERM to the whole group (and SIGCONT, so that stopped members can act on it), SIGKILL to
 * whatever is left after `graceMs`; resolves once the group is empty (or, if even SIGKILL does
 * not empty it within a few seconds, gives up: a process in uninterruptible sleep).
 */
export async function terminateGroup(pgid: number, graceMs: number): Promise<void> {
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, 'SIGTERM');
  signalGroup(pgid, 'SIGCONT');
  const killAt = Date.now() + graceMs;
  while (groupAlive(pgid) && Date.now() < killAt) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, 'SIGKILL');
  const giveUpAt = Date.now() + 5_000;
  while (groupAlive(pgid) && Date.now() < giveUpAt) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
}

/** This machine's boot id (Linux), or null where there is none to read. */
function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

/** State, pgrp and start time (clock ticks since boot) of a process, from /proc/<pid>/stat. */
function statOf(pid: number): { state: string; pgrp: number; start: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields are read after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const pgrp = Number(fields[2]);
  const start = Number(fields[19]);
  return Number.isFinite(pgrp) && Number.isFinite(start) ? { state: fields[0] ?? '', pgrp, start } : undefined;
}

/**
 * What names process `pid` beyond its number, which the kernel reuses: `<boot id>:<start time>`.
 * Null where /proc is not there to tell (then no leftover group is ever signalled at start-up).
 */
export function processIdentity(pid: number): string | null {
  const boot = bootId();
  const stat = statOf(pid);
  return boot && stat ? `${boot}:${stat.start}` : null;
}

/**
 * The processes still in the group a recorded supervisor led, on this machine and since it
 * started; empty when the group is gone, was on another machine, or before a reboot. Members
 * are found by their pgrp and must have started no earlier than the leader: a pid number reused
 * by an unrelated process never matches.
 */
export function leftoverMembers(pgid: number, identity: string): number[] {
  const separator = identity.lastIndexOf(':');
  const boot = identity.slice(0, separator);
  const leaderStart = Number(identity.slice(separator + 1));
  if (!boot || boot !== bootId() || !Number.isFinite(leaderStart)) return [];
  const leader = statOf(pgid);
  // The leader lives on: it is ours only if it is the very process that was recorded.
  if (leader && leader.pgrp === pgid && leader.state !== 'Z') return leader.start === leaderStart ? [pgid, ...othersIn(pgid, leaderStart)] : [];
  return othersIn(pgid, leaderStart);
}

function othersIn(pgid: number, since: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const members: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === pgid) continue;
    const stat = statOf(pid);
    if (stat && stat.pgrp === pgid && stat.state !== 'Z' && stat.start >= since) members.push(pid);
  }
  return members;
}

/** Ends what is left of a recorded group (see leftoverMembers); true when something was left. */
export async function terminateLeftover(pgid: number, identity: string, graceMs: number): Promise<boolean> {
  if (leftoverMembers(pgid, identity).length === 0) return false;
  await terminateGroup(pgid, graceMs);
  return true;
}
