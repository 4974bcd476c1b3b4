import type { ProxyConfig } from '../../config/types.js';
import { ExecError } from '../../exec/runner.js';
import { writeFile } from '../../providers/release/version-file.js';
import { type ProxyDeps, sleep, type TrafficProxy, type Upstream } from './proxy.js';

/*
 * nginx in front of the slots: the upstream block is a file of its own, which the site includes
 * and proxies to (proxy_pass http://NAME). A switch writes the new block beside it and renames it
 * into place (readers never see half of it), runs `test` (nginx -t: an invalid file is never
 * reloaded; on failure the previous content goes back), then `reload`. `nginx -s reload` only
 * sends a signal, and a master that cannot load the new configuration keeps the old one and says
 * so in its error log only: the switch counts as done once the master's workers are new ones
 * (the old ones shut down: they take no new request), as its pid file and `ps` tell.
 */

type NginxConfig = Extract<ProxyConfig, { type: 'nginx' }>;

/** How long nginx gets to start its new workers after the reload signal. */
const APPLY_TIMEOUT_MS = 10_000;
const POLL_MS = 50;
const COMMAND_TIMEOUT_MS = 60_000;

/** The master's children: `ps` lists them by the pid in the pid file. */
const WORKERS_SCRIPT = 'pid=$(cat -- "$1") && exec ps -o pid=,args= --ppid "$pid"';

interface Worker {
  pid: number;
  /** "nginx: worker process", "nginx: worker process is shutting down", ... */
  title: string;
}

/** The upstream block for `upstreams` (weight 0: left out; nginx needs at least one server). */
export function renderUpstream(name: string, upstreams: readonly Upstream[], target: string): string {
  const serving = upstreams.filter((u) => u.weight > 0);
  if (serving.length === 0) throw new Error(`upstream ${name} would have no server: every weight is 0`);
  const total = serving.reduce((sum, u) => sum + u.weight, 0);
  const lines = [
    `# Written by Fraisier for ${target} at each switch of traffic: change fraises.yaml, not this file.`,
    ...upstreams.map((u) => `# ${u.slot} (port ${u.port}): ${u.version ? u.version.slice(0, 12) : 'no version'}, ${Math.round((100 * u.weight) / total)}% of the requests`),
    `upstream ${name} {`,
    ...serving.map((u) => `    server ${u.host.includes(':') ? `[${u.host}]` : u.host}:${u.port} weight=${u.weight};`),
    '}',
    '',
  ];
  return lines.join('\n');
}

export class NginxProxy implements TrafficProxy {
  /** The file's content before the last apply (null: there was no file). */
  #previous: string | null = null;
  /** The workers that served before the last apply, when they could be listed. */
  #retired: Worker[] | null = null;
  #applied = false;

  constructor(
    private readonly config: NginxConfig,
    private readonly deps: ProxyDeps,
  ) {}

  get description(): string {
    return `nginx (${this.config.upstreamFile})`;
  }

  async apply(upstreams: readonly Upstream[]): Promise<void> {
    const content = renderUpstream(this.config.upstream, upstreams, this.deps.target);
    const before = await this.#read();
    this.#retired = await this.#install(content, before);
    this.#previous = before;
    this.#applied = true;
  }

  async revert(): Promise<void> {
    if (!this.#applied) return;
    const current = await this.#read();
    this.#retired = await this.#install(this.#previous, current);
    this.#previous = current;
    this.#applied = false;
  }

  async drain(maxMs: number): Promise<'drained' | 'elapsed'> {
    const retired = this.#retired;
    const deadline = Date.now() + maxMs;
    if (!retired) {
      await sleep(maxMs);
      return 'elapsed';
    }
    // The old workers exit once every request they had in flight is answered.
    for (;;) {
      const workers = await this.#workers();
      const left = typeof workers === 'string' ? retired : retired.filter((w) => workers.some((now) => now.pid === w.pid));
      if (left.length === 0) return 'drained';
      const remaining = deadline - Date.now();
      if (remaining <= 0) return 'elapsed';
      await sleep(Math.min(remaining, 100));
    }
  }

  /**
   * Puts `content` in place (null: no file), tests and reloads; on a failure the file holds
   * `restore` again. Returns the workers that served before (null when they cannot be listed).
   */
  async #install(content: string | null, restore: string | null): Promise<Worker[] | null> {
    const file = this.config.upstreamFile;
    await this.#put(content);
    try {
      await this.#run(this.config.test);
    } catch (error) {
      await this.#put(restore);
      throw new Error(`${this.config.test.join(' ')} refused the new upstream file (${file} is as it was): ${(error as Error).message}`);
    }
    const before = await this.#workers();
    if (typeof before === 'string') await this.deps.log(`cannot see nginx's workers (${before}): the reload is taken as applied once signalled`);
    try {
      await this.#run(this.config.reload);
    } catch (error) {
      await this.#put(restore);
      throw new Error(`${this.config.reload.join(' ')} failed (${file} is as it was): ${(error as Error).message}`);
    }
    if (typeof before === 'string') return null;
    if (!(await this.#taken(before))) {
      await this.#put(restore);
      throw new Error(`nginx did not take the new configuration within ${APPLY_TIMEOUT_MS / 1000} s (its error log says why; ${file} is as it was)`);
    }
    return before;
  }

  /** Whether new workers run and the old ones shut down (they take no new request), within the timeout. */
  async #taken(before: Worker[]): Promise<boolean> {
    const old = new Set(before.map((w) => w.pid));
    const deadline = Date.now() + APPLY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const now = await this.#workers();
      if (typeof now === 'string') return true;
      const fresh = now.some((w) => !old.has(w.pid) && !w.title.includes('shutting down'));
      const retiring = now.every((w) => !old.has(w.pid) || w.title.includes('shutting down'));
      if (fresh && retiring) return true;
      await sleep(POLL_MS);
    }
    return false;
  }

  /** The master's children, or why they cannot be listed. */
  async #workers(): Promise<Worker[] | string> {
    try {
      const result = await this.deps.host.run(['sh', '-c', WORKERS_SCRIPT, 'fraisier-nginx', this.config.pidFile], { timeoutMs: COMMAND_TIMEOUT_MS });
      return parseWorkers(result.stdout);
    } catch (error) {
      // ps says 1 when the master has no child at all: none yet.
      if (error instanceof ExecError && error.result.exitCode === 1 && error.result.stderr === '') return [];
      return `pid file ${this.config.pidFile}: ${(error as Error).message}`;
    }
  }

  /** The file's bytes as they are (null: no file); the runner trims output, hence the trailing dot. */
  async #read(): Promise<string | null> {
    try {
      const result = await this.deps.host.run(['sh', '-c', 'cat -- "$1" && printf .', 'fraisier-read', this.config.upstreamFile], { timeoutMs: COMMAND_TIMEOUT_MS });
      return result.stdout.slice(0, -1);
    } catch {
      return null;
    }
  }

  async #put(content: string | null): Promise<void> {
    const file = this.config.upstreamFile;
    if (content === null) await this.deps.host.run(['rm', '-f', '--', file], { timeoutMs: COMMAND_TIMEOUT_MS });
    else await this.deps.host.run(writeFile(file), { input: content, timeoutMs: COMMAND_TIMEOUT_MS });
  }

  async #run(command: readonly string[]): Promise<void> {
    await this.deps.host.run(command, { env: this.deps.env, timeoutMs: COMMAND_TIMEOUT_MS });
  }
}

export function parseWorkers(text: string): Worker[] {
  const workers: Worker[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (match) workers.push({ pid: Number(match[1]), title: match[2]!.trim() });
  }
  return workers;
}
