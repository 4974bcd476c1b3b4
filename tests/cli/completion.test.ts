import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../setup/cli.js';
import { CLI_TIMEOUT, workdir, type Workdir } from './support.js';

/*
 * `fraisier completion`: the bash script is loaded into a real bash and asked what it completes
 * (as bash's readline would: COMP_WORDS, COMP_CWORD, then the function); zsh and fish are not
 * installed here, so their scripts are checked for what the command tree holds.
 */

function bash(script: string, words: string[]): Promise<string[]> {
  const program = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _fraisier; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', program, 'bash', script, ...words], (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(stdout.split('\n').filter(Boolean).sort());
    });
  });
}

describe('fraisier completion', { timeout: CLI_TIMEOUT }, () => {
  let dir: Workdir;
  let script: string;
  beforeAll(async () => {
    dir = workdir();
    const result = await runCli(['completion', 'bash']);
    expect(result.code, result.stderr).toBe(0);
    script = dir.file('fraisier.bash', result.stdout);
  });
  afterAll(() => dir?.dispose());

  it('bash completes commands, subcommands, options and option choices', async () => {
    expect(await bash(script, ['fraisier', 'dep'])).toEqual(['deploy', 'deployment']);
    expect(await bash(script, ['fraisier', 'config', 's'])).toEqual(['schema', 'show']);
    expect(await bash(script, ['fraisier', 'ap'])).toEqual(['approve']);
    expect(await bash(script, ['fraisier', 're'])).toEqual(['reject', 'resume']);
    expect(await bash(script, ['fraisier', 'reject', '42', '--r'])).toEqual(['--reason']);
    expect(await bash(script, ['fraisier', 'approve', '42', '--c'])).toEqual(['--comment', '--config']);
    expect(await bash(script, ['fraisier', 'history', '--w'])).toEqual(['--waiting']);
    expect(await bash(script, ['fraisier', 'deployment', '42', '--f'])).toEqual(['--follow']);
    expect(await bash(script, ['fraisier', 'history', '--output', ''])).toEqual(['json', 'table', 'yaml']);
    expect(await bash(script, ['fraisier', 'status-all', '-o', 'y'])).toEqual(['yaml']);
    expect(await bash(script, ['fraisier', 'completion', ''])).toEqual(['bash', 'fish', 'zsh']);
    // An option's value without choices is left to file names: nothing offered here.
    expect(await bash(script, ['fraisier', 'deploy', '--config', ''])).toEqual([]);
    // Options of the command reached, not of another one.
    const history = await bash(script, ['fraisier', 'history', '--']);
    expect(history).toEqual(expect.arrayContaining(['--fraise', '--since', '--status', '--json', '--output', '--help']));
    expect(history).not.toContain('--follow');
  });

  it('zsh and fish scripts cover the same tree; an unknown shell is a usage error', async () => {
    const zsh = await runCli(['completion', 'zsh']);
    expect(zsh.code).toBe(0);
    expect(zsh.stdout).toMatch(/^#compdef fraisier\n/);
    expect(zsh.stdout).toContain("'fraisier deployment') commands=(); options=(");
    expect(zsh.stdout).toContain("'--follow:stream its steps until it ends'");
    expect(zsh.stdout).toContain("'fraisier history|--output') values=('json' 'yaml' 'table')");
    expect(zsh.stdout).toContain("'--reason:why'");
    const fish = await runCli(['completion', 'fish']);
    expect(fish.code).toBe(0);
    expect(fish.stdout).toContain("complete -c fraisier -n '__fraisier_at \\'fraisier\\'' -a 'deployment'");
    expect(fish.stdout).toContain("complete -c fraisier -n '__fraisier_at \\'fraisier\\'' -a 'approve'");
    expect(fish.stdout).toContain("complete -c fraisier -n '__fraisier_at \\'fraisier history\\'' -s 'o' -l 'output' -x -a 'json yaml table'");
    const unknown = await runCli(['completion', 'powershell']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('bash, zsh, fish');
  });
});
