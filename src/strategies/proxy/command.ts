import type { ProxyConfig } from '../../config/types.js';
import { leading, type ProxyDeps, sleep, type TrafficProxy, type Upstream, upstreamLines } from './proxy.js';

/*
 * A proxy switched by a command of the user's own (HAProxy's admin socket, Caddy's admin API, a
 * Traefik file), told where the traffic goes in variables: FRAISIER_SLOT and FRAISIER_PORT (the
 * slot taking the largest share), FRAISIER_UPSTREAMS (every slot, "slot host:port weight" per
 * line). It must return once the proxy serves them, and fail (non-zero) when it could not.
 */

type CommandConfig = Extract<ProxyConfig, { type: 'command' }>;

const SWITCH_TIMEOUT_MS = 60_000;

export class CommandProxy implements TrafficProxy {
  #serving: readonly Upstream[] | null;
  #previous: readonly Upstream[] | null = null;
  #applied = false;

  constructor(
    private readonly config: CommandConfig,
    private readonly deps: ProxyDeps,
  ) {
    this.#serving = deps.serving;
  }

  get description(): string {
    return `the switch command (${this.config.switch.join(' ')})`;
  }

  async apply(upstreams: readonly Upstream[]): Promise<void> {
    await this.#run(upstreams);
    this.#previous = this.#serving;
    this.#serving = upstreams;
    this.#applied = true;
  }

  async revert(): Promise<void> {
    if (!this.#applied) return;
    if (!this.#previous) throw new Error('nothing served before the switch: there is nothing to switch back to');
    await this.#run(this.#previous);
    this.#serving = this.#previous;
    this.#previous = null;
    this.#applied = false;
  }

  async drain(maxMs: number): Promise<'drained' | 'elapsed'> {
    // The command cannot say what is still in flight: the whole drain.
    await sleep(maxMs);
    return 'elapsed';
  }

  async #run(upstreams: readonly Upstream[]): Promise<void> {
    const top = leading(upstreams);
    if (!top) throw new Error('no upstream to switch to');
    try {
      await this.deps.host.run(this.config.switch, {
        env: { ...this.deps.env, FRAISIER_SLOT: top.slot, FRAISIER_PORT: String(top.port), FRAISIER_UPSTREAMS: upstreamLines(upstreams) },
        timeoutMs: SWITCH_TIMEOUT_MS,
      });
    } catch (error) {
      throw new Error(`the switch command failed: ${(error as Error).message}`);
    }
  }
}
