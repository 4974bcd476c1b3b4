import type { RepositoryInfo } from './provider.js';

/*
 * "Does this push come from the repository this fraise deploys?" The configuration may name a
 * repository as `owner/name`, an HTTPS URL, an ssh:// URL or scp-like `git@host:owner/name.git`;
 * a delivery names it by full name and a few URLs. Both sides are reduced to (host, path):
 * lower case, without `.git`, user, port or trailing slash. A local path cannot be compared
 * with anything a provider sends, so it does not constrain.
 */

export interface RepositoryLocator {
  /** null for a bare `owner/name`, which matches on any host. */
  host: string | null;
  path: string;
}

/** The comparable form of a configured repository, or undefined for a local path. */
export function locateRepository(value: string): RepositoryLocator | undefined {
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    if (/^file:/i.test(trimmed)) return undefined;
    try {
      const url = new URL(trimmed);
      return { host: url.hostname.toLowerCase(), path: normalizePath(decodeURIComponent(url.pathname)) };
    } catch {
      return undefined;
    }
  }
  if (trimmed.startsWith('/') || trimmed.startsWith('.') || trimmed.startsWith('~')) return undefined;
  const scp = /^(?:[^@/\s]+@)?([^:/\s]+):(?!\/\/)(.+)$/.exec(trimmed);
  if (scp) return { host: scp[1]!.toLowerCase(), path: normalizePath(scp[2]!) };
  return trimmed.includes('/') ? { host: null, path: normalizePath(trimmed) } : undefined;
}

/** Does the delivery's repository match the configured one? */
export function repositoryMatches(configured: RepositoryLocator, repository: RepositoryInfo | null): boolean {
  if (!repository) return false;
  if (configured.host === null && repository.fullName !== null && normalizePath(repository.fullName) === configured.path) return true;
  for (const url of repository.urls) {
    const located = locateRepository(url);
    if (!located || located.path !== configured.path) continue;
    if (configured.host === null || located.host === configured.host) return true;
  }
  return false;
}

/** How a delivery's repository reads in a reason. */
export function describeRepository(repository: RepositoryInfo | null): string {
  return repository?.fullName ?? repository?.urls[0] ?? 'an unnamed repository';
}

function normalizePath(path: string): string {
  return path
    .toLowerCase()
    .replace(/^\/+/, '')
    .replace(/\/+$/, '')
    .replace(/\.git$/, '');
}
