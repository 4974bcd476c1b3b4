import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { workdir } from '../cli/support.js';

/*
 * examples/systemd/fraisier.service, checked by systemd itself: `systemd-analyze verify` in a
 * scratch root holding this machine's system units, the unit, and an executable where
 * `npm install -g` puts the command (verify checks that ExecStart can be executed, not what it
 * does). verify exits 0 even on an unknown key: any line it prints is a failure too.
 */

const run = promisify(execFile);
const UNIT = 'examples/systemd/fraisier.service';
const SYSTEM_UNITS = ['/usr/lib/systemd/system', '/lib/systemd/system'].find((dir) => existsSync(join(dir, 'sysinit.target')));
const analyze = await run('systemd-analyze', ['--version']).then(
  () => true,
  () => false,
);

describe('the systemd unit', () => {
  const dir = workdir('fraisier-systemd-');
  afterAll(() => dir.dispose());

  it('runs the installed command as its own user, with the store in its state directory', () => {
    const unit = readFileSync(UNIT, 'utf8');
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/fraisier serve$/m);
    expect(unit).toMatch(/^User=fraisier$/m);
    expect(unit).toMatch(/^StateDirectory=fraisier$/m);
    expect(unit).toMatch(/^Environment=FRAISIER_DATABASE_URL=sqlite:\/var\/lib\/fraisier\/fraisier.db$/m);
  });

  it.skipIf(!analyze || !SYSTEM_UNITS)('passes systemd-analyze verify', async () => {
    const root = dir.path;
    mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    cpSync(SYSTEM_UNITS!, join(root, 'usr/lib/systemd/system'), { recursive: true, dereference: false });
    writeFileSync(join(root, 'usr/local/bin/fraisier'), '#!/bin/sh\n');
    chmodSync(join(root, 'usr/local/bin/fraisier'), 0o755);
    cpSync(UNIT, join(root, 'etc/systemd/system/fraisier.service'));
    const { stdout, stderr } = await run('systemd-analyze', ['verify', `--root=${root}`, 'fraisier.service']);
    expect(stdout + stderr).toBe('');
  });
});
