import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildASTSchema, Kind, parse, printSchema, validate, visit } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../schema/index.js';
import * as documents from '../../src/cli/client/documents.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { packageVersion } from '../../src/cli/package-info.js';
import { runCli } from '../setup/cli.js';
import { CLI_TIMEOUT } from './support.js';

/*
 * A command newer than the server it talks to. The documents the remote client sends are this
 * build's own and valid against this build's schema, so a server that refuses one as invalid
 * serves another schema. The older server here is graphql-yoga (what `fraisier serve` runs)
 * serving this schema without `Deployment.gates`, as a server from before the gates would: the
 * command says what is missing and that the server is older, instead of a bare GraphQL error and
 * the usage exit code.
 */

const OPERATION = /^\s*(query|mutation|subscription)\b/;

describe('a command newer than its server', { timeout: CLI_TIMEOUT }, () => {
  let older: Server;
  let url: string;

  beforeAll(async () => {
    const withoutGates = visit(parse(printSchema(schema)), {
      [Kind.OBJECT_TYPE_DEFINITION]: (node) => (node.name.value === 'Deployment' ? { ...node, fields: node.fields?.filter((field) => field.name.value !== 'gates') } : undefined),
    });
    const yoga = createYoga({ schema: buildASTSchema(withoutGates), logging: false });
    older = createServer(yoga);
    await new Promise<void>((resolve) => older.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(older.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => older?.close(resolve));
  });

  it('sends only documents valid against this build’s schema', () => {
    const sent = Object.entries(documents as Record<string, unknown>).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && OPERATION.test(entry[1]));
    expect(sent.length).toBeGreaterThan(10);
    for (const [name, text] of sent) expect(validate(schema, parse(text)).map((problem) => problem.message), name).toEqual([]);
  });

  it('says the server is older, and what it lacks, with the failure exit code', async () => {
    const result = await runCli(['history', '--url', url]);
    expect(result.code, result.stdout).toBe(EXIT.FAILED);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim()).toBe(
      `fraisier: ${url} does not know what this command asks for (Cannot query field "gates" on type "Deployment".): it runs an older Fraisier than this command (${packageVersion()}); upgrade the server, or use the command of its version`,
    );
  });

  it('passes the server’s other errors on as they are', async () => {
    // `list` asks nothing the older schema lacks: it validates, and the stand-in, which has no
    // resolvers, fails it at execution (masked, as yoga does by default): nothing about versions.
    const result = await runCli(['list', '--url', url]);
    expect(result.code).toBe(EXIT.FAILED);
    expect(result.stderr.trim()).toBe('fraisier: Unexpected error.');
  });
});
