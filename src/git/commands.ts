import type { Command } from '../config/types.js';

/*
 * Git command lines, as pure functions returning argv arrays (the runner executes them). Every
 * ref, repository and path that could come from outside follows `--end-of-options`, and
 * nothing is ever joined into a shell string.
 */

/** Git never asks on a terminal, and never runs a pager or an editor. */
export const GIT_ENV: Record<string, string> = {
  GIT_TERMINAL_PROMPT: '0',
  GIT_PAGER: 'cat',
  GIT_EDITOR: 'true',
  GIT_ASKPASS: 'true',
};

/** The commit a remote ref points to: `git ls-remote <repo> <ref>`. */
export function lsRemote(repository: string, ref: string): Command {
  return ['git', 'ls-remote', '--end-of-options', repository, ref];
}

/** A bare mirror that later fetches reuse. */
export function cloneMirror(repository: string, mirrorPath: string): Command {
  return ['git', 'clone', '--bare', '--no-tags', '--end-of-options', repository, mirrorPath];
}

/** Fetches one exact commit (or ref) into the mirror. */
export function fetchCommit(mirrorPath: string, repository: string, what: string): Command {
  return ['git', '-C', mirrorPath, 'fetch', '--no-tags', '--end-of-options', repository, what];
}

/** Checks the object exists in the mirror as a commit. */
export function verifyCommit(mirrorPath: string, sha: string): Command {
  return ['git', '-C', mirrorPath, 'rev-parse', '--verify', '--end-of-options', `${sha}^{commit}`];
}

/**
 * Exits 0 when `ancestor` is an ancestor of (or the same commit as) `descendant`, 1 when it is
 * not, and otherwise (128) when either is not a commit of the mirror.
 */
export function isAncestor(mirrorPath: string, ancestor: string, descendant: string): Command {
  return ['git', '-C', mirrorPath, 'merge-base', '--is-ancestor', '--end-of-options', ancestor, descendant];
}

/** A detached worktree of `sha` at `path`. */
export function addWorktree(mirrorPath: string, path: string, sha: string): Command {
  return ['git', '-C', mirrorPath, 'worktree', 'add', '--detach', '--force', '--end-of-options', path, sha];
}

export function pruneWorktrees(mirrorPath: string): Command {
  return ['git', '-C', mirrorPath, 'worktree', 'prune'];
}

/** The full id of what is checked out at `path`. */
/** The commit's committer date, ISO 8601 with its offset (where DORA's lead time starts). */
export function commitTime(mirrorPath: string, sha: string): Command {
  return ['git', '-C', mirrorPath, 'show', '-s', '--format=%cI', '--end-of-options', sha];
}

export function headCommit(path: string): Command {
  return ['git', '-C', path, 'rev-parse', 'HEAD'];
}

/** Parses `git ls-remote` output: the id of the first line, if any. */
export function parseLsRemote(stdout: string): string | undefined {
  const first = stdout.split('\n').find((line) => line.trim() !== '');
  const sha = first?.split(/\s+/)[0];
  return sha && /^[0-9a-f]{40,64}$/.test(sha) ? sha : undefined;
}

/** A new repository whose first branch is `branch`: `git init`. */
export function initRepository(path: string, branch: string): Command {
  return ['git', 'init', '--quiet', `--initial-branch=${branch}`, '--end-of-options', path];
}

/** Everything in the work tree, committed (run in the repository). */
export function commitEverything(message: string): Command[] {
  return [
    ['git', 'add', '--all'],
    ['git', 'commit', '--quiet', '--no-verify', '--message', message],
  ];
}
