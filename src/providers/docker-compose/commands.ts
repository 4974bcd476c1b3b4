import { posix } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { Command } from '../../config/types.js';
import type { Layout } from '../release/layout.js';

/*
 * Docker Compose command lines, as pure functions returning argv arrays: the provider
 * orchestrates, the runner executes (here or over SSH), tests assert exact command lines.
 * `docker compose` (v2) and `docker-compose` (v1) take the same subcommands and options as used
 * here; only the words before them differ (`ComposeCli`).
 */

/** How Compose is invoked on a host: `docker compose` (v2) or `docker-compose` (v1). */
export interface ComposeCli {
  version: 'v2' | 'v1';
  /** The words before a subcommand, the Docker context included. */
  base: Command;
}

/** The ways to ask for Compose's version, in order of preference: v2 first. */
export function composeCandidates(context?: string): ComposeCli[] {
  const ctx = context ? ['--context', context] : [];
  return [
    { version: 'v2', base: ['docker', ...ctx, 'compose'] },
    { version: 'v1', base: ['docker-compose', ...ctx] },
  ];
}

export function versionCommand(cli: ComposeCli): Command {
  return [...cli.base, 'version', '--short'];
}

/** Fails (with the client's own message) when the engine does not answer. */
export function engineCommand(context?: string): Command {
  return ['docker', ...(context ? ['--context', context] : []), 'version', '--format', '{{.Server.Version}}'];
}

/** The files of one release: the project's Compose file, then Fraisier's override (images by commit). */
export interface ComposeFiles {
  project: string;
  file: string;
  override?: string;
}

export function compose(cli: ComposeCli, files: ComposeFiles, ...args: string[]): Command {
  const override = files.override ? ['--file', files.override] : [];
  return [...cli.base, '--project-name', files.project, '--file', files.file, ...override, ...args];
}

/** Starts a release's containers with its own images (never a build here: that is the build step's). */
export function upCommand(cli: ComposeCli, files: ComposeFiles, service?: string): Command {
  // Deploying the whole file: containers of services it no longer has go too.
  return compose(cli, files, 'up', '--detach', '--no-build', ...(service ? [service] : ['--remove-orphans']));
}

/** The Compose file names looked for when none is configured, as Compose itself looks. */
export const DEFAULT_COMPOSE_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

/** Prints the first of `names` that is a file in `dir` (exit 1 when none is). */
export function findFile(dir: string, names: readonly string[]): Command {
  return ['sh', '-c', 'd=$1; shift; for f in "$@"; do if [ -f "$d/$f" ]; then printf %s "$f"; exit 0; fi; done; exit 1', 'fraisier-find', dir, ...names];
}

/** Where Fraisier keeps the override of a release (beside the releases, not in the work tree). */
export function overridePath(layout: Layout, commit: string): string {
  return posix.join(layout.appPath, 'compose', `${commit}.yaml`);
}

/** Writes `path` from standard input, atomically (a temp file, then a rename). */
export function writeFile(path: string): Command {
  return ['sh', '-c', 'umask 022 && mkdir -p -- "$(dirname -- "$1")" && cat > "$1.tmp" && mv -f -- "$1.tmp" "$1"', 'fraisier-write', path];
}

export function readFile(path: string): Command {
  return ['cat', '--', path];
}

export function removeFile(path: string): Command {
  return ['rm', '-f', '--', path];
}

/** The services of a Compose file as `config` prints it (merged, interpolated, validated). */
export interface ComposeModel {
  services: { name: string; builds: boolean; image?: string }[];
}

export function parseComposeConfig(text: string): ComposeModel {
  const doc = parseYaml(text) as { services?: Record<string, { build?: unknown; image?: unknown } | null> } | null;
  const services = Object.entries(doc?.services ?? {}).map(([name, service]) => ({
    name,
    builds: service?.build !== undefined && service?.build !== null,
    ...(typeof service?.image === 'string' ? { image: service.image } : {}),
  }));
  return { services };
}

/**
 * The image a built service of a release runs: named by the project, the service and the commit,
 * so every deployed version stays runnable (and a rollback starts it) without a rebuild.
 */
export function releaseImage(project: string, service: string, commit: string): string {
  const component = `${project}-${service}`
    .toLowerCase()
    // One "-" between alphanumeric runs: always a valid repository name component.
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `fraisier/${component}:${commit}`;
}

/** Fraisier's override for a release: each built service's image tagged with the commit. */
export function overrideFile(model: ComposeModel, project: string, commit: string): string {
  const services: Record<string, { image: string }> = {};
  for (const service of model.services) {
    if (service.builds) services[service.name] = { image: releaseImage(project, service.name, commit) };
  }
  return `# Written by Fraisier for release ${commit}: the images built for it.\n${stringifyYaml({ services })}`;
}

/** The images an override names (what to remove with its release). */
export function overrideImages(text: string): string[] {
  const doc = parseYaml(text) as { services?: Record<string, { image?: unknown } | null> } | null;
  return Object.values(doc?.services ?? {})
    .map((service) => service?.image)
    .filter((image): image is string => typeof image === 'string' && image.startsWith('fraisier/'));
}

/** Exits 0 when the engine has `image`. */
export function imageExists(image: string, context?: string): Command {
  return ['docker', ...(context ? ['--context', context] : []), 'image', 'inspect', '--format', '{{.Id}}', image];
}

export function removeImages(images: readonly string[], context?: string): Command {
  return ['docker', ...(context ? ['--context', context] : []), 'image', 'rm', '--force', ...images];
}

/** One line per container: `name|state|health` (health empty when the image has no HEALTHCHECK). */
export function inspectContainers(ids: readonly string[], context?: string): Command {
  return [
    'docker',
    ...(context ? ['--context', context] : []),
    'inspect',
    '--format',
    '{{.Name}}|{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}',
    ...ids,
  ];
}

export interface ContainerState {
  name: string;
  state: string;
  /** starting, healthy, unhealthy, or null when the container has no health check. */
  health: string | null;
}

export function parseContainerStates(text: string): ContainerState[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [name = '', state = '', health = ''] = line.split('|');
      return { name: name.replace(/^\//, ''), state, health: health || null };
    });
}
