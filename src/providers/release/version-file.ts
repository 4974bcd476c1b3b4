import { posix } from 'node:path';
import type { Command } from '../../config/types.js';
import type { LayoutKind } from './layout.js';

/*
 * version.json in the deployed tree: what it holds and who put it there, for the application
 * (an /about page, its logs) and for people on the host. The Python Fraisier's readers know
 * version, commit, branch, timestamp, environment, schema_hash and database_version and ignore
 * the rest: the fields the commit itself ships in a version.json (its `version`, `schema_hash`)
 * are kept, Fraisier's own are written over them. In place it is also how the previous commit
 * is known when the next deployment must roll back.
 */

export const VERSION_FILE = 'version.json';

export interface DeployedVersion {
  commit: string;
  branch: string | null;
  environment: string;
  fraise: string;
  deploymentId: string;
  kind: 'deploy' | 'rollback';
  previousCommit: string | null;
  layout: LayoutKind;
  deployedAt: Date;
}

export function versionFilePath(tree: string): string {
  return posix.join(tree, VERSION_FILE);
}

/** The file's text: what was there (when it is a JSON object), then Fraisier's fields over it. */
export function versionFileContent(version: DeployedVersion, existing?: string): string {
  const at = version.deployedAt.toISOString();
  return `${JSON.stringify(
    {
      ...parseObject(existing),
      commit: version.commit,
      branch: version.branch,
      timestamp: at,
      deployed_at: at,
      environment: version.environment,
      fraise: version.fraise,
      deployment_id: version.deploymentId,
      kind: version.kind,
      previous_commit: version.previousCommit,
      layout: version.layout,
      deployed_by: 'fraisier',
    },
    null,
    2,
  )}\n`;
}

/**
 * The commit a version.json names: a full id (Fraisier's), or an abbreviated one (the Python
 * Fraisier wrote `git rev-parse --short`), which the mirror resolves.
 */
export function versionFileCommit(text: string | undefined): string | null {
  const commit = parseObject(text).commit;
  return typeof commit === 'string' && /^[0-9a-f]{7,64}$/.test(commit) ? commit : null;
}

function parseObject(text: string | undefined): Record<string, unknown> {
  if (!text) return {};
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function readFile(path: string): Command {
  return ['cat', '--', path];
}

/** Writes standard input to `path` through a file beside it and a rename: readers never see half of it. */
export function writeFile(path: string): Command {
  return ['sh', '-c', 'cat > "$1.fraisier-new" && mv -f -- "$1.fraisier-new" "$1"', 'fraisier-write', path];
}
