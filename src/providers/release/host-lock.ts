import { hostname } from 'node:os';
import type { Command } from '../../config/types.js';
import type { HostShell } from '../host.js';
import { DeployFailure } from '../provider.js';
import { type Layout, readLink } from './layout.js';

/*
 * A second guard, on the target itself, beside the database's fencing: a deployment holds a lock
 * under app_path for as long as it runs (one per (fraise, environment), as in the database),
 * naming its holder and fencing generation, and checks it before every change of the target. A
 * holder whose lock was taken over by a newer generation (its lease was lost, someone else
 * deploys now) stops there, even when it cannot reach the database to learn it. A lock of an
 * older generation is stale (its holder died, or lost its lease and will stop at its next check):
 * it is taken over.
 */

/** What the lock needs to know about the run holding it. */
export interface HostLockHolder {
  fraise: string;
  environment: string;
  deployment: string;
  generation: number;
  instance: string;
  log(message: string): Promise<void>;
}

export class HostLock {
  readonly #owner: HostLockOwner;
  readonly #text: string;
  readonly #path: string;
  #held = false;

  constructor(
    private readonly host: HostShell,
    private readonly layout: Layout,
    private readonly holder: HostLockHolder,
    private readonly options: { timeoutMs: number; hostName?: string; pid?: number; isAlive?: (pid: number) => boolean } = { timeoutMs: 60_000 },
  ) {
    this.#owner = {
      lockKey: `${holder.fraise}/${holder.environment}`,
      deployment: holder.deployment,
      generation: holder.generation,
      instance: holder.instance,
      host: options.hostName ?? hostname(),
      pid: options.pid ?? process.pid,
    };
    this.#text = formatLockOwner(this.#owner);
    this.#path = layout.lock(holder.fraise, holder.environment);
  }

  get path(): string {
    return this.#path;
  }

  get held(): boolean {
    return this.#held;
  }

  async acquire(): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.#ok(createLock(this.#path, this.#text))) {
        this.#held = true;
        return;
      }
      const current = await this.#read();
      if (current === undefined) continue; // removed meanwhile: create it again
      if (current === this.#text) {
        this.#held = true;
        return;
      }
      const owner = parseLockOwner(current);
      const why = this.#staleBecause(owner);
      if (!why) {
        throw new DeployFailure(
          `${this.#path} is held by deployment ${owner?.deployment} under generation ${owner?.generation}, not older than this run's ${this.#owner.generation}: this run is stale`,
        );
      }
      for (const command of replaceLock(this.#path, this.#text, `${this.#owner.generation}.${this.#owner.pid}`)) await this.#run(command);
      if ((await this.#read()) === this.#text) {
        this.#held = true;
        await this.holder.log(`Host lock taken over from ${owner ? `deployment ${owner.deployment} (generation ${owner.generation})` : 'an unreadable holder'}: ${why}`);
        return;
      }
    }
    throw new DeployFailure(`could not take the lock ${this.#path}: other deployments keep taking it`);
  }

  /** Before a change of the target: the lock must still be ours (a newer generation took it: stop). */
  async check(): Promise<void> {
    if (!this.#held) return;
    const current = await this.#read();
    if (current === this.#text) return;
    const owner = current === undefined ? undefined : parseLockOwner(current);
    this.#held = false;
    throw new DeployFailure(
      owner
        ? `the lock ${this.#path} is now held by deployment ${owner.deployment} (generation ${owner.generation}): this run no longer holds the target`
        : `the lock ${this.#path} was removed: this run no longer holds the target`,
    );
  }

  /** Gives the lock up, if it is still ours. Never throws: a lock left behind is taken over later. */
  async release(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    try {
      await this.#run(removeLock(this.#path, this.#text));
    } catch {
      // left for the next holder to take over (it has a newer generation)
    }
  }

  #staleBecause(owner: HostLockOwner | undefined): string | undefined {
    if (!owner || owner.lockKey !== this.#owner.lockKey) return 'its holder is not named';
    // Generations of one (fraise, environment) are ordered: the newer holder wins, alive or not.
    if (owner.generation >= this.#owner.generation) return undefined;
    const gone = owner.host === this.#owner.host && !(this.options.isAlive ?? isAlive)(owner.pid);
    return `generation ${owner.generation} is older than ${this.#owner.generation}${gone ? ` and its Fraisier process ${owner.pid} is gone` : ''}`;
  }

  async #read(): Promise<string | undefined> {
    try {
      return (await this.#run(readLink(this.#path))).stdout.trim();
    } catch {
      return undefined;
    }
  }

  async #ok(argv: readonly string[]): Promise<boolean> {
    try {
      await this.#run(argv);
      return true;
    } catch {
      return false;
    }
  }

  #run(argv: readonly string[]) {
    return this.host.run(argv, { timeoutMs: this.options.timeoutMs });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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
