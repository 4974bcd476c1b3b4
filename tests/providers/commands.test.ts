import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRunner } from '../../src/exec/runner.js';
import { runFileOperation } from '../../src/providers/local-files.js';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigError } from '../../src/config/problems.js';
import { addWorktree, cloneMirror, fetchCommit, isAncestor, lsRemote, parseLsRemote } from '../../src/git/commands.js';
import { isSafeRefName, matchesGlob, refNameProblem } from '../../src/git/refs.js';
import type { BareMetalTarget } from '../../src/config/target-schemas.js';
import { asUser, backupCommand, listBackups, migrateCommands, modificationTime, newestDump, serviceCommands } from '../../src/providers/bare-metal/commands.js';
import { checkoutInPlace, inPlaceHead, layoutOf, makeDirectories, switchCurrent } from '../../src/providers/release/layout.js';
import { readFile, versionFileCommit, versionFileContent, writeFile } from '../../src/providers/release/version-file.js';
import { remoteCommand, shellQuote, sshCommand } from '../../src/providers/host.js';

/* Command lines are pure functions: asserted exactly, the way Kamal tests its commands. */

const env = (yaml: string) => parseConfig(`fraises:\n  a:\n    type: api\n    environments:\n      p:\n${yaml}`, { env: {} }).config.fraises[0]!.environments[0]!;
/** The bare-metal settings of an environment, as the configuration loaded them. */
const target = (yaml: string) => env(yaml).target.config as BareMetalTarget;

describe('the dump restore_migrate restores', () => {
  const runner = createRunner();
  const dir = mkdtempSync(join(tmpdir(), 'fraisier-dumps-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is the newest file matching the pattern, by modification time (listed by ls -1t, as on the host)', async () => {
    const files: [string, number][] = [
      ['shop_full_2026-11-19.dump', 3],
      ['shop_full_2026-11-18.dump', 1], // named older, written last: it is the newest
      ['shop_slim_2026-11-20.dump', 0],
      ['notes.txt', 0],
      ['shop_full_2026-11-20.dump.partial', 0],
      ['.shop_full_2026-11-21.dump', 0], // an rsync still writing it
    ];
    const now = Date.now() / 1000;
    for (const [name, hoursAgo] of files) {
      writeFileSync(join(dir, name), name);
      utimesSync(join(dir, name), now - hoursAgo * 3600, now - hoursAgo * 3600);
    }
    const listing = (await runner.run(listBackups(dir))).stdout;
    expect(listBackups(dir)).toEqual(['ls', '-1t', '--', dir]);
    expect(newestDump(dir, listing, 'shop_full_*.dump')).toBe(join(dir, 'shop_full_2026-11-18.dump'));
    expect(newestDump(dir, listing, '*.dump')).toBe(join(dir, 'shop_slim_2026-11-20.dump'));
    expect(newestDump(dir, listing, '*.sql')).toBeUndefined();
    // The same answer from the in-process listing a local deployment uses.
    const inProcess = (await runFileOperation(listBackups(dir))!).stdout;
    expect(newestDump(dir, inProcess, 'shop_full_*.dump')).toBe(join(dir, 'shop_full_2026-11-18.dump'));
    // restore.max_age_hours reads the dump's age on the host.
    const newest = join(dir, 'shop_full_2026-11-18.dump');
    expect(modificationTime(newest)).toEqual(['stat', '--format=%Y', '--', newest]);
    expect(Number((await runner.run(modificationTime(newest))).stdout)).toBe(Math.floor(now - 3600));
  });
});

describe('git commands', () => {
  it('put every outside value after --end-of-options', () => {
    expect(lsRemote('git@github.com:acme/api.git', 'refs/heads/--upload-pack=touch x')).toEqual([
      'git', 'ls-remote', '--end-of-options', 'git@github.com:acme/api.git', 'refs/heads/--upload-pack=touch x',
    ]);
    expect(cloneMirror('/srv/repo', '/app/repo.git')).toEqual(['git', 'clone', '--bare', '--no-tags', '--end-of-options', '/srv/repo', '/app/repo.git']);
    expect(fetchCommit('/app/repo.git', '/srv/repo', 'a'.repeat(40))).toEqual(['git', '-C', '/app/repo.git', 'fetch', '--no-tags', '--end-of-options', '/srv/repo', 'a'.repeat(40)]);
    expect(isAncestor('/app/repo.git', 'a'.repeat(40), 'b'.repeat(40))).toEqual(['git', '-C', '/app/repo.git', 'merge-base', '--is-ancestor', '--end-of-options', 'a'.repeat(40), 'b'.repeat(40)]);
    expect(addWorktree('/app/repo.git', '/app/releases/x', 'x')).toEqual(['git', '-C', '/app/repo.git', 'worktree', 'add', '--detach', '--force', '--end-of-options', '/app/releases/x', 'x']);
    expect(parseLsRemote(`${'b'.repeat(40)}\trefs/heads/main\n`)).toBe('b'.repeat(40));
    expect(parseLsRemote('')).toBeUndefined();
  });

  it('check ref names like git check-ref-format --branch, plus no leading dash', () => {
    for (const good of ['main', 'feature/x', 'release-1.2', 'changeset-release/master', 'v1.0.0']) expect(isSafeRefName(good), good).toBe(true);
    const bad: [string, string][] = [
      ['-x', 'starts with "-"'],
      ['--upload-pack=touch x', 'starts with "-"'],
      ['..', 'contains ".."'],
      ['a..b', 'contains ".."'],
      ['x'.repeat(300), 'is longer than 255 characters'],
      ['red\u001b[31m', 'contains control characters'],
      ['a b', 'contains one of: space ~ ^ : ? * [ \\'],
      ['a/.hidden', 'has a component starting with "."'],
      ['x.lock', 'has a component ending with ".lock"'],
      ['/lead', 'has an empty path component'],
      ['a@{1}', 'contains "@{"'],
      ['HEAD', 'is "HEAD"'],
    ];
    for (const [name, problem] of bad) expect(refNameProblem(name), name).toBe(problem);
    // "a;touch x" has a space; "$(id)" is a valid ref for git, and harmless here: never
    // interpolated into a shell line, always after --end-of-options.
    expect(refNameProblem('a;touch x')).toBe('contains one of: space ~ ^ : ? * [ \\');
    expect(isSafeRefName('$(id)')).toBe(true);
    expect(matchesGlob('v1.2.3', 'v*')).toBe(true);
    expect(matchesGlob('release-v1', 'v*')).toBe(false);
  });
});

describe('the service manager', () => {
  it('is systemd for systemd_service, with sudo when asked', () => {
    const commands = serviceCommands(target('        systemd_service: api.service\n        app_path: /srv/api\n'));
    expect(commands.restart).toEqual(['systemctl', 'restart', '--', 'api.service']);
    expect(commands.status).toEqual(['systemctl', 'is-active', '--quiet', '--', 'api.service']);
    expect(commands.logs?.(50)).toEqual(['journalctl', '--unit', 'api.service', '--lines', '50', '--no-pager', '--output', 'short-iso']);
    const sudo = serviceCommands(target('        target: { provider: bare-metal, systemd_service: api.service, sudo: true }\n'));
    expect(sudo.restart).toEqual(['sudo', '-n', 'systemctl', 'restart', '--', 'api.service']);
  });

  it('is the environment\'s own commands where systemd does not run', () => {
    const commands = serviceCommands(target('        app_path: /srv\n        systemd_service: x.service\n        commands: { restart: [./bin/restart], logs: [tail, -n] }\n'));
    expect(commands.restart).toEqual(['./bin/restart']);
    expect(commands.stop).toEqual(['systemctl', 'stop', '--', 'x.service']);
    expect(commands.logs?.(20)).toEqual(['tail', '-n', '20']);
  });

  it('runs install as another user keeping the FRAISIER_* variables', () => {
    expect(asUser('app', ['uv', 'sync'], ['FRAISIER_COMMIT', 'PORT'])).toEqual(['sudo', '-n', '-u', 'app', '--preserve-env=FRAISIER_COMMIT,PORT', '--', 'uv', 'sync']);
    expect(asUser(undefined, ['uv', 'sync'], [])).toEqual(['uv', 'sync']);
  });
});

describe('releases and databases', () => {
  const layout = layoutOf('/srv/api/');

  it('switch the current release atomically', () => {
    expect(switchCurrent(layout, '/srv/api/releases/abc')).toEqual([
      ['ln', '-sfn', '--', '/srv/api/releases/abc', '/srv/api/current.next'],
      ['mv', '-T', '--', '/srv/api/current.next', '/srv/api/current'],
    ]);
  });

  it('check a commit out into app_path itself in place, Fraisier\'s own files under .fraisier/', () => {
    const inPlace = layoutOf('/srv/api/', 'in_place');
    const sha = 'c'.repeat(40);
    expect(inPlace).toMatchObject({ kind: 'in_place', appPath: '/srv/api', mirror: '/srv/api/.fraisier/repo.git', current: '/srv/api', shared: '/srv/api/.fraisier/shared' });
    expect(inPlace.release(sha)).toBe('/srv/api');
    expect(inPlace.lock('api', 'prod')).toBe(layout.lock('api', 'prod'));
    expect(makeDirectories(inPlace)).toEqual(['mkdir', '-p', '--', '/srv/api/.fraisier/shared']);
    expect(makeDirectories(layout)).toEqual(['mkdir', '-p', '--', '/srv/api/releases', '/srv/api/shared']);
    expect(checkoutInPlace(inPlace, sha)).toEqual(['git', '--git-dir=/srv/api/.fraisier/repo.git', '--work-tree=/srv/api', 'checkout', '--quiet', '--force', '--detach', sha]);
    expect(() => checkoutInPlace(inPlace, '--orphan=x')).toThrow(/not a full commit id/);
    expect(inPlaceHead(inPlace)).toEqual(['git', '--git-dir=/srv/api/.fraisier/repo.git', 'rev-parse', '--verify', 'HEAD']);
  });

  it('write version.json over what the commit shipped in it, through a file beside it', () => {
    const sha = 'd'.repeat(40);
    const version = {
      commit: sha,
      branch: 'main',
      environment: 'production',
      fraise: 'api',
      deploymentId: '42',
      kind: 'deploy' as const,
      previousCommit: null,
      layout: 'in_place' as const,
      deployedAt: new Date('2026-12-03T10:00:00.000Z'),
    };
    const text = versionFileContent(version, JSON.stringify({ version: '1.2.3', schema_hash: 'sha256:x', commit: 'old' }));
    expect(JSON.parse(text)).toEqual({
      version: '1.2.3',
      schema_hash: 'sha256:x',
      commit: sha,
      branch: 'main',
      timestamp: '2026-12-03T10:00:00.000Z',
      deployed_at: '2026-12-03T10:00:00.000Z',
      environment: 'production',
      fraise: 'api',
      deployment_id: '42',
      kind: 'deploy',
      previous_commit: null,
      layout: 'in_place',
      deployed_by: 'fraisier',
    });
    expect(JSON.parse(versionFileContent(version, 'not json')).commit).toBe(sha);
    expect(versionFileCommit(text)).toBe(sha);
    expect(versionFileCommit('{"commit": "abc1234"}')).toBe('abc1234');
    expect(versionFileCommit('{"commit": "abc12"}')).toBeNull();
    expect(versionFileCommit('{"commit": "--help"}')).toBeNull();
    expect(versionFileCommit(undefined)).toBeNull();
    expect(readFile('/srv/api/version.json')).toEqual(['cat', '--', '/srv/api/version.json']);
    expect(writeFile('/srv/api/version.json')).toEqual(['sh', '-c', 'cat > "$1.fraisier-new" && mv -f -- "$1.fraisier-new" "$1"', 'fraisier-write', '/srv/api/version.json']);
  });

  it('load a layout: in place for the Python Fraisier\'s environments, releases for a target, as asked otherwise', () => {
    expect(target('        app_path: /srv/a\n').layout).toBe('in_place');
    expect(target('        app_path: /srv/a\n        layout: releases\n').layout).toBe('releases');
    expect(target('        target: { provider: bare-metal, app_path: /srv/a }\n').layout).toBeUndefined();
    expect(target('        layout: in_place\n        target: { provider: bare-metal, app_path: /srv/a }\n').layout).toBe('in_place');
    expect(target('        target: { provider: bare-metal, app_path: /srv/a, layout: in_place }\n').layout).toBe('in_place');
    const problems = (yaml: string) => {
      try {
        parseConfig(`fraises:\n  a:\n    type: api\n    environments:\n      p:\n${yaml}`, { env: {} });
        return [];
      } catch (error) {
        return (error as ConfigError).problems.map((p) => p.message);
      }
    };
    expect(problems('        layout: releases\n        target: { provider: bare-metal, app_path: /srv/a, layout: in_place }\n')).toContain('layout: releases disagrees with target.layout: in_place');
    expect(problems('        layout: in_place\n        target: { provider: docker-compose, app_path: /srv/a }\n')).toContain('layout applies to bare-metal targets, not docker-compose');
  });

  it('migrate with confiture by default, or the configured commands', () => {
    const db = (yaml: string) => env(`        app_path: /srv\n        database:\n${yaml}`).database!;
    expect(migrateCommands(db('          strategy: apply\n          confiture_config: db/environments/prod.yaml\n'), 'production')).toEqual([
      ['confiture', 'migrate', 'up', '--config', 'db/environments/prod.yaml'],
    ]);
    expect(migrateCommands(db('          strategy: rebuild\n'), 'dev')).toEqual([['confiture', 'build', '--env', 'dev']]);
    expect(migrateCommands(db('          strategy: migrate\n          migrate_command: [npm, run, migrate]\n'), 'p')).toEqual([['npm', 'run', 'migrate']]);
    expect(migrateCommands(db('          strategy: restore_migrate\n          restore_command: [./restore]\n          migrations_dir: db/m\n'), 'staging')).toEqual([
      ['./restore'],
      ['confiture', 'migrate', 'up', '--config', 'db/environments/staging.yaml', '--migrations-dir', 'db/m'],
    ]);
    expect(() => migrateCommands(db('          strategy: restore_migrate\n'), 's')).toThrow(/restore_command/);
    // restore: block, no restore_command: pg_restore of the dump found, into database.name.
    const restoring = db('          name: shop_staging\n          strategy: restore_migrate\n          restore:\n            backup_dir: /backup/prod\n            jobs: 4\n');
    expect(migrateCommands(restoring, 'staging', '/backup/prod/shop-2026-11-20.dump')).toEqual([
      ['pg_restore', '--clean', '--if-exists', '--no-owner', '--no-acl', '--jobs=4', '--dbname=shop_staging', '--', '/backup/prod/shop-2026-11-20.dump'],
      ['confiture', 'migrate', 'up', '--config', 'db/environments/staging.yaml'],
    ]);
    expect(() => migrateCommands(restoring, 'staging')).toThrow('no dump to restore from /backup/prod');
    expect(backupCommand(db('          name: shop\n'), layout, '2026-11-21T10-00-00-000Z')).toEqual({
      command: ['pg_dump', '--format=custom', '--file=/srv/api/shared/backups/shop-2026-11-21T10-00-00-000Z.dump', '--', 'shop'],
      file: '/srv/api/shared/backups/shop-2026-11-21T10-00-00-000Z.dump',
    });
  });
});

describe('commands over SSH', () => {
  it('check host keys, never prompt, and pass the remote command as one quoted line', () => {
    expect(sshCommand({ host: 'prod.example.com', user: 'deploy', port: 2222, identityFile: '/k/id', knownHosts: '/k/known' }, 'true')).toEqual([
      'ssh', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=15', '-o', 'LogLevel=ERROR',
      '-o', 'UserKnownHostsFile=/k/known', '-i', '/k/id', '-o', 'IdentitiesOnly=yes', '-p', '2222', '-l', 'deploy', '--', 'prod.example.com', 'true',
    ]);
    expect(remoteCommand(['git', 'ls-remote', '--end-of-options', 'repo', 'main'], { cwd: '/srv/my app', env: { FRAISIER_AUTHOR: "O'Brien $(id)" } })).toBe(
      `env '--chdir=/srv/my app' 'FRAISIER_AUTHOR=O'\\''Brien $(id)' git ls-remote --end-of-options repo main`,
    );
  });

  it('quotes so that a shell reads back exactly the values, however hostile', () => {
    const values = ["a;touch x", '$(id)', '`id`', "it's", '--upload-pack=touch x', 'x\ny', '\u001b[31mred', '', '*', '~', 'a b\tc'];
    const line = remoteCommand(['printf', '%s\\0', ...values]);
    const output = execFileSync('sh', ['-c', line], { encoding: 'utf8' });
    expect(output.split('\0').slice(0, -1)).toEqual(values);
    expect(shellQuote('plain-word_1.2')).toBe('plain-word_1.2');
    expect(() => remoteCommand(['true'], { env: { 'BAD NAME': 'x' } })).toThrow(/invalid environment variable name/);
  });
});
