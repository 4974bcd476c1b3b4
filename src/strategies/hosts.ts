import type { EnvironmentConfig, HealthCheckConfig, RollingHost } from '../config/types.js';

/*
 * The hosts of a rolling deployment, each seen as an environment of its own: the target's
 * settings with the host's SSH destination and app_path, the health check pointed at where the
 * proxy reaches it, FRAISIER_HOST and FRAISIER_PORT for its commands. A provider handed such an
 * environment deploys to that one host exactly as it deploys to a target's one host.
 */

/** Where the proxy reaches `host`, as a URL or an upstream line writes it. */
export function upstreamAddress(host: RollingHost): string {
  const address = host.upstream.host.includes(':') ? `[${host.upstream.host}]` : host.upstream.host;
  return `${address}:${host.upstream.port}`;
}

/** The variables every command run for `host` gets. */
export function hostVariables(host: RollingHost): Record<string, string> {
  return { FRAISIER_HOST: host.name, FRAISIER_PORT: String(host.upstream.port) };
}

/** The environment's health check for one host: {host} and {port} in its url, else the host's upstream address. */
export function hostHealth(config: HealthCheckConfig, host: RollingHost): HealthCheckConfig {
  const { watch: _watch, ...check } = config;
  if (check.url !== undefined) {
    const address = host.upstream.host.includes(':') ? `[${host.upstream.host}]` : host.upstream.host;
    return { ...check, url: check.url.replaceAll('{host}', address).replaceAll('{port}', String(host.upstream.port)) };
  }
  return { ...check, host: check.host ?? host.upstream.host, port: check.port ?? host.upstream.port };
}

/** `env` narrowed to one of its rolling hosts: a target of one host (no strategy: the roll is the caller's). */
export function hostEnvironment(env: EnvironmentConfig, host: RollingHost): EnvironmentConfig {
  const { hosts: _hosts, ...settings } = env.target.config;
  const { strategy: _strategy, ...rest } = env;
  const appPath = host.appPath ?? env.appPath;
  return {
    ...rest,
    target: {
      ...env.target,
      config: {
        ...settings,
        host: host.ssh.host,
        user: host.ssh.user,
        port: host.ssh.port,
        identity_file: host.ssh.identity_file,
        known_hosts: host.ssh.known_hosts,
        ssh_options: host.ssh.ssh_options,
        ...(appPath !== undefined ? { app_path: appPath } : {}),
      },
    },
    ...(appPath !== undefined ? { appPath } : {}),
    ...(env.healthCheck ? { healthCheck: hostHealth(env.healthCheck, host) } : {}),
    env: { ...env.env, ...hostVariables(host) },
  };
}

/** `items` in consecutive groups of `size`. */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += size) groups.push(items.slice(i, i + size));
  return groups;
}

/** 100 split as evenly as whole numbers allow among `count` (the first ones get the remainder). */
export function evenShares(count: number): number[] {
  if (count === 0) return [];
  const base = Math.floor(100 / count);
  return Array.from({ length: count }, (_, i) => base + (i < 100 - base * count ? 1 : 0));
}
