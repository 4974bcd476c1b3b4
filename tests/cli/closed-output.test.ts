import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertDeployment } from '../../src/store/deployment.repository.js';
import { createStore } from '../../src/store/store.js';
import { CLI_ARGS, runCli } from '../setup/cli.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { CLI_TIMEOUT, workdir, type Workdir } from './support.js';

/*
 * `fraisier history | head -1`: the reader leaves after one line. The CLI ends quietly (no stack
 * trace, exit 141 as for SIGPIPE), and a deployment the CLI runs itself still runs to its end.
 * The output is far larger than a pipe's buffer (64 KiB), so writes do fail after the reader left.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

interface Piped {
  firstLine: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Runs the bin with stdout into a reader that closes its end of the pipe after the first line. */
function runIntoHead(args: string[]): Promise<Piped> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], {
      env: { ...process.env, NO_COLOR: '1', FRAISIER_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let firstLine: string | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const end = stdout.indexOf('\n');
      if (end >= 0 && firstLine === undefined) {
        firstLine = stdout.slice(0, end);
        child.stdout.destroy();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fraisier ${args.join(' ')} did not end; stderr:\n${stderr}`));
    }, 90_000);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ firstLine: firstLine ?? '', stderr, code, signal });
    });
  });
}

describe('output into a pipe whose reader leaves', { timeout: CLI_TIMEOUT }, () => {
  let dir: Workdir;
  let database: TestDatabase;
  let configFile: string;

  beforeAll(async () => {
    dir = workdir();
    database = await sqlite.createDatabase();
    configFile = dir.file(
      'fraises.yaml',
      `fraisier:
  database: ${database.url}
fraises:
  shop:
    type: custom
    environments:
      production:
        branch: main
        app_path: ${join(dir.path, 'shop')}
        steps:
          - { name: noisy, command: [node, -e, "for (let i = 1; i <= 3000; i++) console.log('line ' + i + ' ' + 'x'.repeat(100))"] }
          - { name: after, command: [node, -e, "require('node:fs').writeFileSync(process.argv[1], 'ran')", ${join(dir.path, 'after-ran')}] }
`,
    );
    // 2,000 deployments: the history table is about 200 KB, its JSON about 1.5 MB.
    const store = createStore(database.url);
    await store.migrate();
    await store.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 2_000; i++) {
        await insertDeployment(trx, {
          fraise: 'shop',
          environment: 'production',
          kind: 'deploy',
          trigger: 'api',
          requestedBy: 'ci',
          requestedAt: new Date(Date.UTC(2026, 10, 1) + i * 60_000).toISOString(),
          gitCommit: 'a'.repeat(40),
          targetProvider: 'bare-metal',
          targetConfig: null,
        });
      }
    });
    await store.close();
  });
  afterAll(async () => {
    await database?.drop();
    dir?.dispose();
  });

  for (const format of [[], ['--json']]) {
    it(`history${format.map((f) => ` ${f}`).join('')} | head -1 ends quietly`, async () => {
      const run = await runIntoHead(['history', '--limit', '2000', ...format, '--config', configFile]);
      expect(run.firstLine).toMatch(format.length ? /^\[$/ : /^ +ID +FRAISE +ENVIRONMENT +STATUS/);
      expect(run.stderr).toBe('');
      expect({ code: run.code, signal: run.signal }).toEqual({ code: 141, signal: null });
    });
  }

  it('deploy --follow | head -1, run by the CLI itself, still runs the deployment to its end', async () => {
    const run = await runIntoHead(['deploy', 'shop', 'production', '--commit', 'aaaaaaa1', '--follow', '--config', configFile]);
    expect(run.firstLine).toBe('Deploying shop → production (bare-metal)');
    expect(run.stderr).toBe('');
    // The deployment's own outcome: it succeeded, and the step after the noisy one ran.
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 0, signal: null });
    expect(existsSync(join(dir.path, 'after-ran'))).toBe(true);
    const last = await runCli(['history', '--limit', '1', '--json', '--config', configFile]);
    expect(JSON.parse(last.stdout)[0]).toMatchObject({ status: 'SUCCESS', gitCommit: 'aaaaaaa1' });
  });
});
