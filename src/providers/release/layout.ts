import { posix } from 'node:path';
import type { Command } from '../../config/types.js';

/*
 * Where a target keeps its releases (bare metal and Compose alike), and the command lines that
 * manage them, as pure functions returning argv arrays.
 *
 * The `releases` layout, under app_path:
 *   repo.git/          a bare mirror of the repository, fetched into
 *   releases/<commit>/ one worktree per deployed commit (kept for rollbacks)
 *   current ->         symlink to the release that runs (point the service at it)
 *   shared/            the application's own files that outlive releases (pid files, uploads)
 *   .fraisier-lock.<fraise>.<environment> -> while a deployment runs: a symlink whose text names
 *                      its holder (see host-lock.ts)
 *
 * The `in_place` layout (the Python Fraisier's: units run from app_path itself) checks the commit
 * out into app_path, the mirror's work tree; Fraisier's own files stay out of the way:
 *   .fraisier/repo.git/   the bare mirror (its HEAD and index are app_path's)
 *   .fraisier/shared/     as above
 *   version.json          what the tree holds (see version-file.ts): also how the previous
 *                         commit is known for a rollback
 *   .fraisier-lock.<fraise>.<environment> as above
 */

export const LAYOUTS = ['in_place', 'releases'] as const;
export type LayoutKind = (typeof LAYOUTS)[number];

export interface Layout {
  kind: LayoutKind;
  appPath: string;
  mirror: string;
  releases: string;
  current: string;
  shared: string;
  /** The host-side lock a deployment of (fraise, environment) holds (a symlink: created atomically, read in one call). */
  lock(fraise: string, environment: string): string;
  /** Where `commit` is checked out: its release directory, or app_path itself in place. */
  release(commit: string): string;
}

export function layoutOf(appPath: string, kind: LayoutKind = 'releases'): Layout {
  const root = appPath.replace(/\/+$/, '') || '/';
  const lock = (fraise: string, environment: string) => posix.join(root, `.fraisier-lock.${fileSafe(fraise)}.${fileSafe(environment)}`);
  if (kind === 'in_place') {
    const own = posix.join(root, '.fraisier');
    return {
      kind,
      appPath: root,
      mirror: posix.join(own, 'repo.git'),
      releases: root,
      current: root,
      shared: posix.join(own, 'shared'),
      lock,
      release: () => root,
    };
  }
  return {
    kind,
    appPath: root,
    mirror: posix.join(root, 'repo.git'),
    releases: posix.join(root, 'releases'),
    current: posix.join(root, 'current'),
    shared: posix.join(root, 'shared'),
    lock,
    release: (commit) => posix.join(root, 'releases', commit),
  };
}

function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}

export function makeDirectories(layout: Layout): Command {
  if (layout.kind === 'in_place') return ['mkdir', '-p', '--', layout.shared];
  return ['mkdir', '-p', '--', layout.releases, layout.shared];
}

/**
 * Checks `commit` out into app_path, the mirror's work tree (in place): files the commit tracks
 * are written over, files the previous checkout tracked and this one does not are removed,
 * anything else (a virtualenv, uploads, version.json) stays.
 */
export function checkoutInPlace(layout: Layout, commit: string): Command {
  // `checkout --detach` takes no --end-of-options in older git (2.39 here): the commit is a full id the
  // mirror verified (hex, never an option), and refused here otherwise.
  if (!/^[0-9a-f]{40,64}$/.test(commit)) throw new Error(`not a full commit id: ${JSON.stringify(commit)}`);
  return ['git', `--git-dir=${layout.mirror}`, `--work-tree=${layout.appPath}`, 'checkout', '--quiet', '--force', '--detach', commit];
}

/** The commit the in-place tree was last checked out at (the mirror's detached HEAD). */
export function inPlaceHead(layout: Layout): Command {
  return ['git', `--git-dir=${layout.mirror}`, 'rev-parse', '--verify', 'HEAD'];
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
