import type { EnvironmentConfig, RollingHost } from '../../config/types.js';
import { checkHealth } from '../../deploy/health-check.js';
import type { RollingHostSession } from '../../strategies/rolling.js';
import type { Release, ReleaseSession } from './session.js';

/*
 * One host of a rolling deployment as a release-keeping target's session on it (bare metal,
 * Compose): the session already does preflight, fetch, the `current` switch and the switch back;
 * the target says how a release is made ready and how it starts.
 */

export interface ReleaseHostParts {
  preflight(): Promise<void>;
  /** The release ready beside what runs (`migrate`: backup and migrate run on this host). */
  release(commit: string | null, migrate: boolean): Promise<Release>;
  /** The service started on `release`, `current` already pointing at it. */
  start(release: Release): Promise<void>;
  prune(): Promise<void>;
}

export function releaseHost(s: ReleaseSession, healthHost: string, parts: ReleaseHostParts): RollingHostSession {
  return {
    get previousCommit() {
      return s.previousCommit;
    },
    preflight: () => parts.preflight(),
    release: (commit, migrate) => parts.release(commit, migrate),
    async activate(release) {
      await s.switchTo(release.path);
      await parts.start(release);
    },
    async check({ report, cancellable, once }) {
      const config = s.ctx.env.healthCheck;
      if (!config) return { ok: true, message: 'no health check configured' };
      return checkHealth(once ? { ...config, retries: 1 } : config, {
        host: s.host,
        defaultHost: healthHost,
        ...(cancellable ? { signal: s.ctx.signal } : {}),
        ...(report ? { onAttempt: (attempt, message) => void s.log(`attempt ${attempt}: ${message}`) } : {}),
      });
    },
    async revert(reason) {
      if (!s.switched) return 'unchanged';
      if (!s.previousRelease) return 'nothing-before';
      await s.revert(reason);
      return 'reverted';
    },
    prune: () => parts.prune(),
    unlock: () => s.unlock(),
  };
}

type Hosts = { host: RollingHost; env: EnvironmentConfig }[];

/** `fraisier logs` of a rolling environment: each host's, under its name (a host that cannot say, says why). */
export async function eachHostsLogs(hosts: Hosts, logs: (env: EnvironmentConfig) => Promise<string>): Promise<string> {
  const parts = await Promise.all(hosts.map(({ host, env }) => logs(env).then((text) => `==> ${host.name} <==\n${text}`, (error: Error) => `==> ${host.name} <==\n${error.message}`)));
  return parts.join('\n');
}

/** `fraisier stop|start` of a rolling environment: every host, each tried; the failures said together. */
export async function onEachHost(hosts: Hosts, action: (env: EnvironmentConfig) => Promise<void>): Promise<void> {
  const results = await Promise.allSettled(hosts.map(({ env }) => action(env)));
  const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [`${hosts[i]!.host.name}: ${(r.reason as Error).message}`] : []));
  if (failures.length) throw new Error(failures.join('; '));
}
