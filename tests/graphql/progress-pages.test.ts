import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentProgress } from '../../src/model.js';
import { BASIC_CONFIG, createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';
import { longMessage, recordLongDeployment } from '../setup/long-deployment.js';

/*
 * A deployment's progress is a paged list: `progress(after, limit)`, 1,000 events at most per
 * page. Reading a long build's 4,000 lines pages through exactly 1..4000, and so does a
 * subscription's replay, reading the store a page at a time.
 */

const READ = 'read-token-0123456789';
const config = `
fraisier:
  tokens:
    - { name: viewer, token: ${READ}, scopes: [read] }
${BASIC_CONFIG}`;
const asReader = { authorization: `Bearer ${READ}` };
const LINES = 4_000;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

for (const dialect of DIALECTS) {
  describe(`progress pages on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: TestApp;
    let id: string;

    beforeAll(async () => {
      if (skip) return;
      t = await createTestApp(dialect, { config: testConfig(config) });
      id = await recordLongDeployment(t.app.store.db, { fraise: 'my_api', environment: 'production', lines: LINES, messageLength: 40 });
    });
    afterAll(() => t?.dispose());

    const page = async (args: string) => {
      const result = await gql(t.app, `query($id: ID!) { deployment(id: $id) { progress${args} { sequence message } } }`, { id }, asReader);
      expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
      return (result.data.deployment.progress as { sequence: number; message: string }[]).map((e) => e.sequence);
    };

    it.skipIf(skip)('answers the first 1,000 events by default, and pages with after and limit', async () => {
      expect(await page('')).toEqual(range(1, 1000));
      expect(await page('(after: 1000, limit: 500)')).toEqual(range(1001, 1500));
      expect(await page('(after: 3990)')).toEqual(range(3991, 4000));
      expect(await page('(after: 4000)')).toEqual([]);
      expect(await page('(limit: 3)')).toEqual([1, 2, 3]);

      const all: number[] = [];
      let requests = 0;
      for (let after = 0; ; requests++) {
        const got = await page(`(after: ${after}, limit: 1000)`);
        all.push(...got);
        if (got.length < 1000) break;
        after = got.at(-1)!;
      }
      expect(all).toEqual(range(1, LINES));
      expect(requests).toBe(4);
      const messages = await gql(t.app, `{ deployment(id: "${id}") { progress(after: 41, limit: 2) { message } } }`, {}, asReader);
      expect(messages.data.deployment.progress).toEqual([{ message: longMessage(42, 40) }, { message: longMessage(43, 40) }]);
    });

    it.skipIf(skip)('refuses a limit over 1,000, naming the maximum, and a negative after', async () => {
      for (const [args, message] of [
        ['(limit: 1001)', 'limit must be between 1 and 1000 (got 1001); page with "after" (the last sequence seen) for more'],
        ['(limit: 0)', 'limit must be between 1 and 1000 (got 0); page with "after" (the last sequence seen) for more'],
        ['(after: -1)', 'after must be a sequence number, 0 or more (got -1)'],
      ] as const) {
        const result = await gql(t.app, `{ deployment(id: "${id}") { progress${args} { sequence } } }`, {}, asReader);
        expect(result.errors?.[0], args).toMatchObject({ message, extensions: { code: 'BAD_USER_INPUT' } });
      }
    });

    it.skipIf(skip)('refuses fifteen aliases of a full page by their cost, before reading anything', async () => {
      const calls: unknown[][] = [];
      const queries = t.app.services.queries;
      const original = queries.progress;
      queries.progress = (...args) => {
        calls.push(args);
        return original.apply(queries, args);
      };
      try {
        const bomb = `{ ${range(1, 15).map((i) => `a${i}: deployment(id: "${id}") { progress { message } }`).join(' ')} }`;
        const result = await gql(t.app, bomb, {}, asReader);
        expect(result.data).toBeUndefined();
        expect(result.errors?.[0]).toMatchObject({
          message: expect.stringMatching(/^query cost 30,015 is over the maximum of 10,000: a list counts as its limit/),
          extensions: { code: 'BAD_USER_INPUT' },
        });
        // Smaller pages are the way out: the same fifteen aliases of 100 events each are answered.
        const small = `{ ${range(1, 15).map((i) => `a${i}: deployment(id: "${id}") { progress(after: ${i * 100}, limit: 100) { sequence } }`).join(' ')} }`;
        const answered = await gql(t.app, small, {}, asReader);
        expect(answered.errors).toBeUndefined();
        expect(answered.data.a15.progress.map((e: { sequence: number }) => e.sequence)).toEqual(range(1501, 1600));
        expect(calls).toHaveLength(15);
      } finally {
        queries.progress = original;
      }
    });

    it.skipIf(skip)('replays a subscription from the store a page at a time, all 4,000 events in order', async () => {
      const reads: { after: number; limit: number; got: number }[] = [];
      const queries = t.app.services.queries;
      const original = queries.progress;
      queries.progress = async (...args) => {
        const events = await original.apply(queries, args);
        reads.push({ after: args[1] ?? 0, limit: args[2] ?? Infinity, got: events.length });
        return events;
      };
      try {
        const seen: number[] = [];
        for await (const event of t.app.services.events.progress(id) as AsyncIterable<DeploymentProgress>) seen.push(event.sequence);
        expect(seen).toEqual(range(1, LINES));
        expect(reads.every((r) => r.limit <= 1000 && r.got <= 1000), JSON.stringify(reads)).toBe(true);
        expect(reads.slice(0, 5).map((r) => r.after)).toEqual([0, 1000, 2000, 3000, 4000]);
      } finally {
        queries.progress = original;
      }
    });
  });
}
