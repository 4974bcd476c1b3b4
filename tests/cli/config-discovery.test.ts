import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runCli, startServer } from '../setup/cli.js';
import { CLI_TIMEOUT, workdir, type Workdir } from './support.js';

/*
 * Every command finds its configuration as `npm start` does: --config, $FRAISIER_CONFIG,
 * ./fraises.yaml, ./config/fraises.yaml, /opt/fraisier/fraises.yaml, then the bundled example, and says on stderr (one line; stdout stays data)
 * when it is the example. serve says it in its log too.
 */

const EXAMPLE = resolve('fraises.example.yaml');
const NOTICE = `fraisier: no fraises.yaml here; using the bundled example ${EXAMPLE} (pass --config or set FRAISIER_CONFIG)\n`;
const exampleFraises = Object.keys(parseYaml(readFileSync(EXAMPLE, 'utf8')).fraises);

const OWN = (name: string, database: string) => `fraisier:\n  database: ${database}\nfraises:\n  ${name}:\n    type: api\n    environments:\n      production: { app_path: /srv/${name}, systemd_service: ${name} }\n`;

describe('configuration discovery', { timeout: CLI_TIMEOUT }, () => {
  let empty: Workdir;
  let own: Workdir;
  /** No store named by the environment: the example's sqlite:./fraisier.db, in the directory. */
  const env = { FRAISIER_DATABASE_URL: '' };
  beforeAll(() => {
    empty = workdir('fraisier-empty-');
    own = workdir('fraisier-own-');
    own.file('fraises.yaml', OWN('here', `sqlite:${join(own.path, 'here.db')}`));
    own.file('elsewhere.yaml', OWN('elsewhere', `sqlite:${join(own.path, 'elsewhere.db')}`));
    own.file('flag.yaml', OWN('flag', `sqlite:${join(own.path, 'flag.db')}`));
  });
  afterAll(() => {
    empty?.dispose();
    own?.dispose();
  });

  it('with no configuration, commands use the bundled example and say so on stderr only', async () => {
    const [list, show, validate, history] = await Promise.all([
      runCli(['list', '--json'], { cwd: empty.path, env }),
      runCli(['config', 'show', '-o', 'yaml'], { cwd: empty.path, env }),
      runCli(['config', 'validate', '--json'], { cwd: empty.path, env }),
      runCli(['history'], { cwd: empty.path, env }),
    ]);
    for (const result of [list, show, validate, history]) expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: NOTICE });
    expect(JSON.parse(list.stdout).map((f: { name: string }) => f.name)).toEqual(exampleFraises);
    expect(parseYaml(show.stdout)).toMatchObject({ path: EXAMPLE, settings: { databaseUrl: 'sqlite:./fraisier.db' } });
    expect(JSON.parse(validate.stdout)).toMatchObject({ file: EXAMPLE, valid: true });
    expect(history.stdout).toBe('No deployments.\n');
  });

  it('--config, then $FRAISIER_CONFIG, then ./fraises.yaml: no notice', async () => {
    const names = async (args: string[], fileEnv: Record<string, string>) => {
      const result = await runCli(['list', '--json', ...args], { cwd: own.path, env: { ...env, ...fileEnv } });
      expect(result).toMatchObject({ code: 0, stderr: '' });
      return JSON.parse(result.stdout).map((f: { name: string }) => f.name);
    };
    const [here, fromEnv, flag] = await Promise.all([
      names([], {}),
      names([], { FRAISIER_CONFIG: join(own.path, 'elsewhere.yaml') }),
      names(['--config', join(own.path, 'flag.yaml')], { FRAISIER_CONFIG: join(own.path, 'elsewhere.yaml') }),
    ]);
    expect([here, fromEnv, flag]).toEqual([['here'], ['elsewhere'], ['flag']]);
    // A file that was named and is missing is an error, not the example.
    const missing = await runCli(['list'], { cwd: empty.path, env: { ...env, FRAISIER_CONFIG: join(empty.path, 'nope.yaml') } });
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toBe(`fraisier: ${join(empty.path, 'nope.yaml')}: 1 problem\n(file): cannot read ${join(empty.path, 'nope.yaml')}: no such file\n`);
  });

  it('then ./config/fraises.yaml (the Python Fraisier\'s place for it), after ./fraises.yaml', async () => {
    const nested = workdir('fraisier-nested-');
    try {
      mkdirSync(join(nested.path, 'config'));
      nested.file('config/fraises.yaml', OWN('nested', `sqlite:${join(nested.path, 'nested.db')}`));
      const list = () => runCli(['list', '--json'], { cwd: nested.path, env });
      const first = await list();
      expect(first).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(first.stdout).map((f: { name: string }) => f.name)).toEqual(['nested']);
      nested.file('fraises.yaml', OWN('here', `sqlite:${join(nested.path, 'here.db')}`));
      const second = await list();
      expect(JSON.parse(second.stdout).map((f: { name: string }) => f.name)).toEqual(['here']);
    } finally {
      nested.dispose();
    }
  });

  it('serve, without --example-fallback, serves the example and says so on stderr and in its log', async () => {
    const server = await startServer([], { cwd: empty.path, env });
    try {
      const answer = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ fraises { name } }' }),
      });
      expect((await answer.json()).data.fraises.map((f: { name: string }) => f.name)).toEqual(exampleFraises);
      const said = await outputOf(server, (text) => text.includes(NOTICE) && text.includes('"msg":"no fraises.yaml here'));
      const logged = said.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
      expect(logged).toContainEqual(expect.objectContaining({ level: 40, config: EXAMPLE, msg: NOTICE.slice('fraisier: '.length, -1) }));
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

/** The server's output once `done` holds for it (it may still be arriving on the other stream). */
function outputOf(server: Awaited<ReturnType<typeof startServer>>, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolvePromise) => {
    const check = () => {
      if (!done(server.output())) return;
      server.child.stdout!.off('data', later);
      server.child.stderr!.off('data', later);
      resolvePromise(server.output());
    };
    // After startServer's own listener has appended the chunk.
    const later = () => setImmediate(check);
    server.child.stdout!.on('data', later);
    server.child.stderr!.on('data', later);
    check();
  });
}
