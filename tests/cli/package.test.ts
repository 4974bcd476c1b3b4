import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServer } from '../setup/cli.js';
import { workdir, type Workdir } from './support.js';

/*
 * What a user gets from `npm install -g fraisier`: the package `npm pack` makes (prepack builds
 * dist/ and adds the shrinkwrap), installed globally into an empty prefix, then its `fraisier`
 * run from that prefix, outside the repository. npm takes the packages from its cache (filled
 * by `npm ci`), asking the registry only for what it lacks. better-sqlite3 would compile its
 * native module from source (minutes); npm is pointed at the one already built for this Node
 * through prebuild-install's local prebuilds, as an offline mirror would.
 */

const run = promisify(execFile);
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const PACKAGE = JSON.parse(readFileSync('package.json', 'utf8')) as { name: string; version: string; files: string[] };
const INSTALL_TIMEOUT = 600_000;
/** What `npm pack` needs to build and pack: the package's files and what builds dist/. */
const PACKED_FROM = [...new Set([...PACKAGE.files.filter((f) => f !== 'npm-shrinkwrap.json' && f !== 'dist/'), 'package.json', 'package-lock.json', 'README.md', 'LICENSE', 'tsconfig.json', 'tsconfig.build.json', 'scripts', 'src', 'schema', 'db'])];

describe('the packed package, installed globally', () => {
  let dir: Workdir;
  let fraisier: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = workdir('fraisier-package-');
    // Packed from a copy: prepack and prepare write npm-shrinkwrap.json and rebuild dist/ where
    // they run, and the other CLI tests run this checkout's dist/ meanwhile.
    const source = join(dir.path, 'source');
    for (const entry of PACKED_FROM) cpSync(entry, join(source, entry), { recursive: true });
    symlinkSync(resolve('node_modules'), join(source, 'node_modules'));
    await run(NPM, ['pack', '--pack-destination', dir.path], { cwd: source, timeout: INSTALL_TIMEOUT, maxBuffer: 16 * 1024 * 1024 });
    const tarball = readdirSync(dir.path).find((name) => name.endsWith('.tgz'));
    expect(tarball).toBe(`${PACKAGE.name}-${PACKAGE.version}.tgz`);

    const prebuilds = join(dir.path, 'prebuilds');
    mkdirSync(prebuilds);
    const sqlite = dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json'));
    const { version } = JSON.parse(readFileSync(join(sqlite, 'package.json'), 'utf8')) as { version: string };
    const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
    await run('tar', ['czf', join(prebuilds, name), '-C', sqlite, 'build/Release/better_sqlite3.node']);

    const prefix = join(dir.path, 'prefix');
    mkdirSync(prefix);
    // The shebang's `node` is this Node, whichever line the suite runs on.
    const path = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;
    await run(NPM, ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(dir.path, tarball!)], {
      cwd: dir.path,
      env: { ...process.env, PATH: path, npm_config_better_sqlite3_local_prebuilds: prebuilds },
      timeout: INSTALL_TIMEOUT,
      maxBuffer: 16 * 1024 * 1024,
    });
    fraisier = join(prefix, 'bin', 'fraisier');
    env = { PATH: path, FRAISIER_DATABASE_URL: '' };
  }, INSTALL_TIMEOUT * 2);

  afterAll(() => dir?.dispose());

  it('holds the build, not the sources nor the development tools', () => {
    const installed = join(dir.path, 'prefix', 'lib', 'node_modules', PACKAGE.name);
    const top = readdirSync(installed).sort();
    expect(top).toEqual(expect.arrayContaining(['bin', 'compiled', 'dist', 'fraises.example.yaml', 'LICENSE', 'README.md', 'package.json']));
    for (const absent of ['src', 'tests', 'bench', 'scripts', 'tsconfig.json']) expect(top).not.toContain(absent);
    const modules = readdirSync(join(installed, 'node_modules'));
    for (const dev of ['tsx', 'typescript', 'vitest', 'esbuild']) expect(modules).not.toContain(dev);
    expect(readdirSync(join(installed, 'bin'))).toEqual(['fraisier.js']);
  });

  it('answers --version with the package version', async () => {
    const result = await runCli(['--version'], { command: fraisier, cwd: dir.path, env });
    expect(result).toMatchObject({ code: 0, stdout: `${PACKAGE.version}\n` });
  });

  it('writes a configuration with init (its template found in dist/), validates it and reads its store', async () => {
    const project = join(dir.path, 'project');
    mkdirSync(project);
    expect((await runCli(['init'], { command: fraisier, cwd: project, env })).code).toBe(0);
    const validate = await runCli(['config', 'validate'], { command: fraisier, cwd: project, env });
    expect(validate.stdout).toMatch(/valid \(1 fraise/);
    expect(validate.code).toBe(0);
    const status = await runCli(['status-all', '--json'], { command: fraisier, cwd: project, env });
    expect(status.stderr).toBe('');
    expect(JSON.parse(status.stdout)).toEqual([expect.objectContaining({ fraise: 'my_app', environment: 'production', status: 'UNKNOWN' })]);
  });

  it('serves the example configuration (found in the package) with its API, health and dashboard', async () => {
    const empty = join(dir.path, 'empty');
    mkdirSync(empty);
    // Any command finds it as the server does, and names it.
    const example = join(dir.path, 'prefix', 'lib', 'node_modules', PACKAGE.name, 'fraises.example.yaml');
    const list = await runCli(['list', '--json'], { command: fraisier, cwd: empty, env });
    expect(list).toMatchObject({ code: 0, stderr: `fraisier: no fraises.yaml here; using the bundled example ${example} (pass --config or set FRAISIER_CONFIG)\n` });
    expect(JSON.parse(list.stdout).map((f: { name: string }) => f.name)).toContain('hello');
    const server = await startServer(['--example-fallback'], { command: fraisier, cwd: empty, env });
    try {
      const health = await fetch(`${server.url}/health`);
      expect(await health.json()).toEqual({ status: 'ok' });
      const dashboard = await fetch(`${server.url}/`);
      expect(dashboard.status).toBe(200);
      expect(await dashboard.text()).toMatch(/<title>[^<]*Fraisier/i);
      const answer = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ fraises { name } }' }),
      });
      const { data } = (await answer.json()) as { data: { fraises: Array<{ name: string }> } };
      expect(data.fraises.map((f) => f.name)).toContain('hello');
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  });
});
