import { posix } from 'node:path';
import type { Command } from '../../config/types.js';

/*
 * Where a target keeps its releases (bare metal and Compose alike), and the command lines that
 * manage them, as pure functions returning argv arrays.
 *
 * Layout on the target, under app_path:
 *   repo.git/          a bare mirror of the repository, fetched into
 *   releases/<commit>/ one worktree per deployed commit (kept for rollbacks)
 *   current ->         symlink to the release that runs (point the service at it)
 *   shared/            the application's own files that outlive releases (pid files, uploads)
 *   .fraisier-lock.<fraise>.<environment> -> while a deployment runs: a symlink whose text names
 *                      its holder (see host-lock.ts)
 */

export interface Layout {
  appPath: string;
  mirror: string;
  releases: string;
  current: string;
  shared: string;
  /** The host-side lock a deployment of (fraise, environment) holds (a symlink: created atomically, read in one call). */
  lock(fraise: string, environment: string): string;
  release(commit: string): string;
}

export function layoutOf(appPath: string): Layout {
  const root = appPath.replace(/\/+$/, '') || '/';
  return {
    appPath: root,
    mirror: posix.join(root, 'repo.git'),
    releases: posix.join(root, 'releases'),
    current: posix.join(root, 'current'),
    shared: posix.join(root, 'shared'),
    lock: (fraise, environment) => posix.join(root, `.fraisier-lock.${fileSafe(fraise)}.${fileSafe(environment)}`),
    release: (commit) => posix.join(root, 'releases', commit),
  };
}

function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}

export function makeDirectories(layout: Layout): Command {
  return ['mkdir', '-p', '--', layout.releases, layout.shared];
}

/** True (exit 0) when `path` is a directory. */
export function isDirectory(path: string): Command {
  return ['test', '-d', path];
}

export function readLink(path: string): Command {
  return ['readlink', '--', path];
}

/** Points `current` at `target` atomically: a new link, then a rename over the old one. */
export function switchCurrent(layout: Layout, target: string): Command[] {
  const next = `${layout.current}.next`;
  return [
    ['ln', '-sfn', '--', target, next],
    ['mv', '-T', '--', next, layout.current],
  ];
}

/** Releases newest first (by modification time). */
export function listReleases(layout: Layout): Command {
  return ['ls', '-1t', '--', layout.releases];
}

export function removeWorktree(layout: Layout, path: string): Command {
  return ['git', '-C', layout.mirror, 'worktree', 'remove', '--force', '--end-of-options', path];
}
