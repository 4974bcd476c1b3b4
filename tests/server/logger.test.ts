import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: createLogger({ destination }), lines };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('logger', () => {
  it('censors secrets at the top level and one or two levels down, and leaves the caller objects alone', async () => {
    const { logger, lines } = capture();
    const nested = { password: 'p-nested', user: 'ci', headers: { authorization: 'Bearer nested', 'x-gitlab-token': 'gl-nested', accept: '*/*' } };
    const fields = {
      token: 't-top',
      databaseUrl: 'postgres://u:pw@h/db',
      headers: { authorization: 'Bearer top', 'x-gitlab-token': 'gl-top', 'user-agent': 'GitLab/17' },
      request: nested,
      provider: { secret: 's-nested', name: 'github' },
      count: 3,
    };
    logger.info(fields, 'something happened');
    await flush();
    const text = JSON.stringify(lines);
    for (const secret of ['t-top', 'pw@', 'Bearer top', 'gl-top', 'p-nested', 'Bearer nested', 'gl-nested', 's-nested']) expect(text).not.toContain(secret);
    const line = lines[0]!;
    expect(line).toMatchObject({
      msg: 'something happened',
      token: '********',
      databaseUrl: '********',
      headers: { authorization: '********', 'x-gitlab-token': '********', 'user-agent': 'GitLab/17' },
      request: { password: '********', user: 'ci', headers: { authorization: '********', 'x-gitlab-token': '********', accept: '*/*' } },
      provider: { secret: '********', name: 'github' },
      count: 3,
    });
    // Censored in the line, not in the caller's objects.
    expect(nested.password).toBe('p-nested');
    expect(nested.headers.authorization).toBe('Bearer nested');
    expect(fields.token).toBe('t-top');
  });

  it('keeps an error readable when it carries a secret', async () => {
    const { logger, lines } = capture();
    const error = Object.assign(new Error('the push could not be fetched'), { token: 'ghp_leaked', code: 'E_FETCH' });
    logger.warn({ err: error }, 'deployment failed');
    await flush();
    expect(JSON.stringify(lines)).not.toContain('ghp_leaked');
    expect(lines[0]!.err).toMatchObject({ message: 'the push could not be fetched', token: '********', code: 'E_FETCH' });
    expect(String((lines[0]!.err as { stack: string }).stack)).toContain('the push could not be fetched');
    expect(error.token).toBe('ghp_leaked');
  });

  it('writes lines without secrets unchanged', async () => {
    const { logger, lines } = capture();
    logger.info({ provider: 'github', deliveryId: 'abc', event: 12, outcome: 'accepted' }, 'webhook delivery queued deployments');
    await flush();
    expect(lines[0]).toMatchObject({ service: 'fraisier', provider: 'github', deliveryId: 'abc', event: 12, outcome: 'accepted' });
  });
});
