import type { ProxyConfig } from '../../config/types.js';
import type { HostShell } from '../../providers/host.js';
import { CommandProxy } from './command.js';
import { NginxProxy } from './nginx.js';

/*
 * What sends the traffic to the slots: a reverse proxy on the target's host, told where the
 * requests go as a list of upstreams with weights (blue-green: one at 100; canary, later: the
 * split). `apply` returns once the proxy serves the new list, or fails with what served before
 * still serving; `revert` goes back one step.
 */

export interface Upstream {
  slot: string;
  /** Where the slot listens, as the proxy reaches it (127.0.0.1 for a slot on the proxy's host). */
  host: string;
  port: number;
  /** Share of the requests, 0..100; 0 takes none. */
  weight: number;
  /** The commit the slot runs, for the file's comments and the command's variables. */
  version: string | null;
}

export interface TrafficProxy {
  /** "nginx (/etc/nginx/conf.d/hello-upstream.conf)", for messages. */
  readonly description: string;
  /** Sends the traffic to `upstreams`; resolves once the proxy serves them. On failure nothing changed. */
  apply(upstreams: readonly Upstream[]): Promise<void>;
  /** What served before the last apply serves again (one step back); nothing to do without an apply. */
  revert(): Promise<void>;
  /**
   * Waits until no request is still in flight to what served before the last apply, at most
   * `maxMs` (a proxy that cannot tell waits all of it); 'drained' when it could tell early.
   */
  drain(maxMs: number): Promise<'drained' | 'elapsed'>;
}

export interface ProxyDeps {
  host: HostShell;
  /** Variables every command of the deployment sees. */
  env: Record<string, string>;
  log: (message: string) => Promise<void>;
  /** What serves now, as far as the deployment knows (what a command proxy goes back to). */
  serving: readonly Upstream[] | null;
  /** Where the deployment is, for the upstream file's comment ("hello/production"). */
  target: string;
}

export function createProxy(config: ProxyConfig, deps: ProxyDeps): TrafficProxy {
  return config.type === 'nginx' ? new NginxProxy(config, deps) : new CommandProxy(config, deps);
}

/** Upstreams in the `FRAISIER_UPSTREAMS` form: one line per slot, "slot host:port weight". */
export function upstreamLines(upstreams: readonly Upstream[]): string {
  return upstreams.map((u) => `${u.slot} ${u.host}:${u.port} ${u.weight}`).join('\n');
}

/** The upstream taking the largest share (the one FRAISIER_SLOT and FRAISIER_PORT name). */
export function leading(upstreams: readonly Upstream[]): Upstream | undefined {
  return [...upstreams].sort((a, b) => b.weight - a.weight)[0];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
