import { chmodSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { diffLines, type DiffSummary } from './line-diff.js';
import type { GeneratedFile, GeneratedKind } from './plan.js';

/*
 * Writes what planScaffold made: into a directory for review (systemd/, nginx/, sudoers/), or
 * over the live files under a root (/ on a server; a temporary directory in tests). A live
 * file that differs is never overwritten without `force`: then nothing at all is written, so
 * units, site and sudoers never end up from two different configurations.
 */

const LIVE_DIRS: Record<GeneratedKind, string> = {
  systemd: 'etc/systemd/system',
  nginx: 'etc/nginx/sites-available',
  sudoers: 'etc/sudoers.d',
};

export function reviewPath(dir: string, file: GeneratedFile): string {
  return join(dir, file.kind, file.name);
}

export function livePath(root: string, file: GeneratedFile): string {
  return join(root, LIVE_DIRS[file.kind], file.name);
}

/** The sites-enabled link of an nginx site, and what it points to (relative: right under any root). */
export function enabledLink(root: string, file: GeneratedFile): { path: string; target: string } {
  return { path: join(root, 'etc/nginx/sites-enabled', file.name), target: `../sites-available/${file.name}` };
}

/** Writes atomically (a hidden temporary file, then rename): sudo skips names holding a dot. */
function writeAtomically(path: string, content: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = join(dirname(path), `.${Date.now().toString(36)}-${process.pid}.fraisier-tmp`);
  writeFileSync(temporary, content, { mode });
  chmodSync(temporary, mode);
  renameSync(temporary, path);
}

/** The review copy: overwritten freely, it is scaffold's own output. */
export function writeReview(dir: string, files: GeneratedFile[]): string[] {
  return files.map((file) => {
    const path = reviewPath(dir, file);
    writeAtomically(path, file.content, file.kind === 'sudoers' ? 0o640 : 0o644);
    return path;
  });
}

export type InstallState = 'new' | 'same' | 'differs';

export interface InstallEntry {
  file: GeneratedFile;
  path: string;
  state: InstallState;
  diff?: DiffSummary;
  /** An nginx site's sites-enabled link: missing, right, or something else there. */
  link?: { path: string; target: string; state: 'new' | 'same' | 'differs'; found?: string };
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** What installing would do to each live file. */
export function planInstall(root: string, files: GeneratedFile[]): InstallEntry[] {
  return files.map((file) => {
    const path = livePath(root, file);
    const live = readIfExists(path);
    const entry: InstallEntry = { file, path, state: live === undefined ? 'new' : live === file.content ? 'same' : 'differs' };
    if (live !== undefined && live !== file.content) entry.diff = diffLines(live, file.content);
    if (file.kind === 'nginx') {
      const link = enabledLink(root, file);
      let found: string | undefined;
      try {
        const stat = lstatSync(link.path);
        found = stat.isSymbolicLink() ? readlinkSync(link.path) : '(not a symbolic link)';
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      entry.link = { ...link, state: found === undefined ? 'new' : found === link.target ? 'same' : 'differs', ...(found !== undefined ? { found } : {}) };
    }
    return entry;
  });
}

export interface InstallResult {
  entries: InstallEntry[];
  /** Differing live files left as they were (nothing was written). */
  refused: InstallEntry[];
}

export function install(root: string, files: GeneratedFile[], options: { force: boolean }): InstallResult {
  const entries = planInstall(root, files);
  const refused = entries.filter((e) => e.state === 'differs' || e.link?.state === 'differs');
  if (refused.length && !options.force) return { entries, refused };
  for (const entry of entries) {
    if (entry.state !== 'same') writeAtomically(entry.path, entry.file.content, entry.file.mode);
    else chmodSync(entry.path, entry.file.mode);
    if (entry.link && entry.link.state !== 'same') {
      mkdirSync(dirname(entry.link.path), { recursive: true });
      rmSync(entry.link.path, { force: true });
      symlinkSync(entry.link.target, entry.link.path);
    }
  }
  return { entries, refused: [] };
}
