import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findConfigFile, SYSTEM_CONFIG_FILE } from '../../src/config/load.js';

/*
 * Where the configuration is found, in the Python Fraisier's order: --config, $FRAISIER_CONFIG,
 * ./fraises.yaml, ./config/fraises.yaml, /opt/fraisier/fraises.yaml; then the fallback (the
 * bundled example). The system file is named by the test, in a directory of its own.
 */

describe('finding the configuration file', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const dir = () => {
    const path = mkdtempSync(join(tmpdir(), 'fraisier-find-'));
    dirs.push(path);
    return path;
  };
  const touch = (path: string) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, 'fraises: {}\n');
    return path;
  };

  it('tries each place in turn, the first that exists wins', () => {
    const cwd = dir();
    const system = join(dir(), 'opt', 'fraisier', 'fraises.yaml');
    const find = (extra: { explicit?: string; env?: Record<string, string> } = {}) =>
      findConfigFile({ cwd, env: {}, systemFile: system, fallback: '/bundled/fraises.example.yaml', ...extra });

    expect(find()).toBe('/bundled/fraises.example.yaml');
    touch(system);
    expect(find()).toBe(system);
    touch(join(cwd, 'config', 'fraises.yaml'));
    expect(find()).toBe(join(cwd, 'config', 'fraises.yaml'));
    touch(join(cwd, 'fraises.yml'));
    expect(find()).toBe(join(cwd, 'fraises.yml'));
    touch(join(cwd, 'fraises.yaml'));
    expect(find()).toBe(join(cwd, 'fraises.yaml'));
    expect(find({ env: { FRAISIER_CONFIG: '/etc/fraisier/from-env.yaml' } })).toBe('/etc/fraisier/from-env.yaml');
    expect(find({ explicit: 'given.yaml', env: { FRAISIER_CONFIG: '/etc/fraisier/from-env.yaml' } })).toBe('given.yaml');
  });

  it('looks in /opt/fraisier by default', () => {
    expect(SYSTEM_CONFIG_FILE).toBe('/opt/fraisier/fraises.yaml');
    expect(findConfigFile({ cwd: dir(), env: {} })).toBe(existsSync(SYSTEM_CONFIG_FILE) ? SYSTEM_CONFIG_FILE : undefined);
  });
});
