import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printConfigJsonSchema, printGraphQLSchema } from '../src/compile-artifacts.js';

describe('the committed artefacts', () => {
  it('compiled/schema.graphql is what the schema prints (run npm run compile)', () => {
    expect(readFileSync('compiled/schema.graphql', 'utf8')).toBe(printGraphQLSchema());
  });

  it('compiled/fraises.schema.json is what the config schema prints (run npm run compile)', () => {
    expect(readFileSync('compiled/fraises.schema.json', 'utf8')).toBe(printConfigJsonSchema());
  });

  it.skipIf(!existsSync('../shared/tools/contract-check.mjs'))('honour the API contract', () => {
    const output = execFileSync(process.execPath, ['../shared/tools/contract-check.mjs'], { encoding: 'utf8' });
    expect(output).toMatch(/0 problems/);
  });
});
