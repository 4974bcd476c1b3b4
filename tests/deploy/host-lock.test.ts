import { mkdtempSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRunner } from '../../src/exec/runner.js';
import { HostLock, parseLockOwner } from '../../src/providers/release/host-lock.js';
import { layoutOf } from '../../src/providers/release/layout.js';
import { localHost } from '../../src/providers/host.js';

/*
 * The lock a bare-metal deployment holds on the target, under app_path, beside the database's
 * fencing: created atomically, naming its holder; a newer generation takes an older one's lock
 * over, and the older holder then stops at its next check instead of changing the target.
 */

describe('the host lock under app_path', () => {
  const host = localHost(createRunner());
  let dir: string;
  const logs: string[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fraisier-host-lock-'));
    logs.length = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const lock = (deployment: string, generation: number, pid = process.pid) =>
    new HostLock(host, layoutOf(dir), { fraise: 'api', environment: 'prod', deployment, generation, instance: `instance-${deployment}`, log: async (m) => void logs.push(m) }, { timeoutMs: 10_000, pid });
  const holder = () => parseLockOwner(readlinkSync(join(dir, '.fraisier-lock.api.prod')));

  it('names its holder, and is given up by it', async () => {
    const first = lock('7', 3);
    await first.acquire();
    expect(holder()).toMatchObject({ lockKey: 'api/prod', deployment: '7', generation: 3, instance: 'instance-7', pid: process.pid });
    await first.check();
    await first.release();
    expect(() => readlinkSync(first.path)).toThrow(/ENOENT/);
  });

  it('is taken over by a newer generation; the older holder then stops at its check and leaves the lock alone', async () => {
    const stale = lock('7', 3);
    await stale.acquire();
    const newer = lock('8', 4);
    await newer.acquire();
    expect(holder()).toMatchObject({ deployment: '8', generation: 4 });
    expect(logs).toEqual(['Host lock taken over from deployment 7 (generation 3): generation 3 is older than 4']);
    await expect(stale.check()).rejects.toThrow(/now held by deployment 8 \(generation 4\): this run no longer holds the target/);
    await stale.release();
    expect(holder()).toMatchObject({ deployment: '8' });
  });

  it('is refused to an older generation, and says whose it is', async () => {
    await lock('8', 4).acquire();
    await expect(lock('7', 3).acquire()).rejects.toThrow(/held by deployment 8 under generation 4, not older than this run's 3: this run is stale/);
    expect(holder()).toMatchObject({ deployment: '8' });
  });

  it('tells that the older holder\'s process is gone, and takes over a lock that names no holder', async () => {
    const gone = 2 ** 22 + 12_345; // above pid_max's default: no such process
    await lock('7', 3, gone).acquire();
    await lock('8', 4).acquire();
    expect(logs.at(-1)).toBe(`Host lock taken over from deployment 7 (generation 3): generation 3 is older than 4 and its Fraisier process ${gone} is gone`);
    rmSync(join(dir, '.fraisier-lock.api.prod'));
    symlinkSync('something else', join(dir, '.fraisier-lock.api.prod'));
    await lock('9', 5).acquire();
    expect(holder()).toMatchObject({ deployment: '9' });
  });
});
