import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createTracing } from '../../src/tracing.js';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd, waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { githubPush } from '../setup/github-push.js';
import { createServiceRepo, type ServiceRepo } from '../setup/service-repo.js';

/*
 * Traces, for real: an OTLP/HTTP receiver in the test (node:http on port 0, POST /v1/traces, the
 * exporter's JSON) stands in for a collector, and Fraisier exports to it because
 * OTEL_EXPORTER_OTLP_ENDPOINT says so. A deployment of a custom fraise (fetch, then a step that
 * prints $TRACEPARENT) is one trace: the deployment's span, a span per step under it, a span per
 * command under its step; the command saw its step's span as its parent (TRACEPARENT), and the
 * deployment's log lines carry the trace id. Without the variable, tracing is off.
 */

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}

describe('traces of a deployment over OTLP/HTTP', () => {
  let receiver: Server;
  const spans: OtlpSpan[] = [];
  const contentTypes = new Set<string>();
  const lines: Record<string, unknown>[] = [];
  let t: TestApp;
  let repo: ServiceRepo;
  let url: string;

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (request.method === 'POST' && request.url === '/v1/traces') {
          contentTypes.add(String(request.headers['content-type']));
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
          for (const resource of body.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
          response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } else response.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as { port: number };
    const tracing = createTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` } });
    expect(tracing.enabled).toBe(true);
    const logger = createLogger({
      level: 'info',
      mixin: (line) => tracing.logFields(line),
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
          done();
        },
      }),
    });
    repo = createServiceRepo();
    repo.commit('A');
    t = await createTestApp(DIALECTS[0]!, {
      tracing,
      logger,
      config: testConfig(`
git:
  github:
    webhook_secret: trace-secret
fraises:
  traced:
    type: custom
    environments:
      one:
        git_repo: ${repo.path}
        app_path: ${repo.appPath}
        steps:
          - { name: show, command: [sh, -c, 'echo "traceparent=$TRACEPARENT"'] }
`),
    });
    ({ url } = await t.app.start({ port: 0 }));
  });
  afterAll(async () => {
    await t?.dispose();
    repo?.dispose();
    receiver?.close();
  });

  it('is off without OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    const off = createTracing({ env: {} });
    expect(off.enabled).toBe(false);
    expect(off.deployment('1', 'deploy x/y', {})).toBeUndefined();
    expect(off.logFields({ deployment: '1' })).toEqual({});
  });

  it('one trace: the deployment, its steps, their commands; the step span is the command’s TRACEPARENT', async () => {
    const queued = await gql(t.app, `mutation { deploy(fraise: "traced", environment: "one") { success message deployment { id } } }`);
    expect(queued.data.deploy.success, queued.data.deploy.message).toBe(true);
    const id = queued.data.deploy.deployment.id as string;
    expect(await waitForEnd(t.app, id)).toMatchObject({ status: 'success' });
    const progress = await gql(t.app, `query($id: ID!) { deployment(id: $id) { progress { step message } } }`, { id });
    const printed = (progress.data.deployment.progress as { step: string; message: string | null }[]).find((e) => e.message?.startsWith('traceparent='));
    expect(printed?.step).toBe('show');
    const match = /^traceparent=00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(printed!.message!);
    expect(match, printed!.message!).not.toBeNull();
    const [, traceId, parentId] = match!;

    const root = await waitUntil(() => spans.find((s) => s.name === 'deploy traced/one'), { what: 'the deployment span', timeoutMs: 30_000 });
    expect(root.parentSpanId ?? '').toBe('');
    expect(root.traceId).toBe(traceId);
    const attribute = (span: OtlpSpan, key: string) => span.attributes?.find((a) => a.key === key)?.value.stringValue;
    expect(attribute(root, 'deployment.id')).toBe(id);
    expect(attribute(root, 'deployment.status')).toBe('succeeded');
    expect(attribute(root, 'deployment.environment.name')).toBe('one');

    const trace = spans.filter((s) => s.traceId === traceId);
    const steps = trace.filter((s) => s.parentSpanId === root.spanId);
    expect(steps.map((s) => s.name)).toEqual(expect.arrayContaining(['preflight', 'fetch', 'show']));
    const show = steps.find((s) => s.name === 'show')!;
    // The command's TRACEPARENT named its step's span.
    expect(show.spanId).toBe(parentId);
    const shCommand = trace.find((s) => s.parentSpanId === show.spanId);
    expect(shCommand?.name).toBe('sh');
    expect(Number(shCommand?.attributes?.find((a) => a.key === 'process.exit.code')?.value.intValue)).toBe(0);
    // The fetch ran git commands, each a span under the fetch step.
    const fetch = steps.find((s) => s.name === 'fetch')!;
    expect(trace.filter((s) => s.parentSpanId === fetch.spanId).map((s) => s.name)).toContain('git');
    expect([...contentTypes]).toEqual(['application/json']);

    // Log lines about the deployment's run (its steps, its end) carry its trace; queued and
    // started are written before the run, and its trace, begin.
    const logged = lines.filter((l) => String(l.deployment) === id);
    const from = logged.findIndex((l) => l.trace_id !== undefined);
    expect(logged.slice(0, Math.max(0, from)).map((l) => String(l.msg).replace(/:.*/, ''))).toEqual([`deployment ${id} queued`, `deployment ${id} started`]);
    const run = logged.slice(from);
    expect(run.filter((l) => l.step !== undefined).length).toBeGreaterThanOrEqual(3);
    expect(run.map((l) => [l.msg, l.trace_id])).toEqual(run.map((l) => [l.msg, traceId]));
  });

  it('a trace per webhook delivery, with its outcome', async () => {
    const response = await githubPush(url, 'trace-secret', { sha: 'a'.repeat(40), message: 'traced push' });
    expect(response.status).toBeLessThan(300);
    const delivery = await waitUntil(() => spans.find((s) => s.name === 'webhook delivery'), { what: 'the delivery span', timeoutMs: 30_000 });
    expect(delivery.parentSpanId ?? '').toBe('');
    const attributes = Object.fromEntries((delivery.attributes ?? []).map((a) => [a.key, a.value.stringValue]));
    expect(attributes['fraisier.webhook.provider']).toBe('github');
    expect(attributes['fraisier.webhook.event']).toBe('push');
    expect(['accepted', 'ignored']).toContain(attributes['fraisier.webhook.outcome']);
  });
});
