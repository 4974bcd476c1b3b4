import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';

/*
 * Hostile GraphQL is refused before any resolver runs: every service method is wrapped with a
 * counter, and each attack must leave every counter at zero.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

describe('GraphQL abuse', () => {
  let t: TestApp;
  let calls = 0;
  beforeAll(async () => {
    t = await createTestApp(sqlite);
    const services = t.app.services as unknown as Record<string, Record<string, unknown>>;
    for (const service of Object.values(services)) {
      let proto = Object.getPrototypeOf(service) as object | null;
      const names = new Set<string>(Object.keys(service));
      while (proto && proto !== Object.prototype) {
        for (const name of Object.getOwnPropertyNames(proto)) names.add(name);
        proto = Object.getPrototypeOf(proto) as object | null;
      }
      for (const name of names) {
        const original = service[name];
        if (name === 'constructor' || typeof original !== 'function') continue;
        service[name] = (...args: unknown[]) => {
          calls++;
          return (original as (...a: unknown[]) => unknown).apply(service, args);
        };
      }
    }
  });
  afterAll(() => t.dispose());

  const post = (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    t.app.yoga.fetch('http://localhost/graphql', { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('counts a call when a resolver does run (the spies work)', async () => {
    calls = 0;
    const response = await post({ query: '{ fraises { name } }' });
    expect(response.status).toBe(200);
    expect(calls).toBeGreaterThan(0);
  });

  const attacks: [string, () => Response | Promise<Response>][] = [
    ['a query 50 levels deep', () => post({ query: `{ fraises { name } __type(name: "Query") { fields { type ${'{ ofType '.repeat(50)}{ name }${' }'.repeat(50)} } } }` })],
    ['10,000 aliases', () => post({ query: `{ ${Array.from({ length: 10_000 }, (_, i) => `a${i}: fraises { name }`).join(' ')} }` })],
    ['100,000 tokens', () => post({ query: `{ fraises { ${'name '.repeat(100_000)}} }` })],
    ['a batch of 1,000 operations', () => post(Array.from({ length: 1_000 }, () => ({ query: '{ fraises { name } }' })))],
    [
      'a mutation over GET',
      () =>
        t.app.yoga.fetch(`http://localhost/graphql?query=${encodeURIComponent('mutation { deploy(fraise: "my_api", environment: "staging") { success } }')}`, {
          headers: { accept: 'application/json', 'x-graphql-yoga-csrf': '1' },
        }),
    ],
    ['a form POST without the CSRF header', () => post('query=%7B%20fraises%20%7B%20name%20%7D%20%7D', { 'content-type': 'application/x-www-form-urlencoded' })],
    ['a text/plain POST without the CSRF header', () => post(JSON.stringify({ query: '{ fraises { name } }' }), { 'content-type': 'text/plain' })],
  ];

  for (const [name, attack] of attacks) {
    it(`refuses ${name} before any resolver runs`, async () => {
      calls = 0;
      const response = await attack();
      const body = await response.text();
      expect(calls, body.slice(0, 200)).toBe(0);
      // Refused: a GraphQL error in a 200, or a 4xx (never a 5xx: that would be a crash).
      if (response.status === 200) expect(JSON.parse(body).errors?.length, body.slice(0, 200)).toBeGreaterThan(0);
      else expect(Math.floor(response.status / 100), `${response.status}: ${body.slice(0, 200)}`).toBe(4);
      expect(body).not.toContain('"fraises":[');
    });
  }
});
