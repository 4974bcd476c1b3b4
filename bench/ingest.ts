import { createHmac, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createStore } from '../src/store/store.js';
import { type Child, runWorker, startFraisier, startReference } from './lib/processes.js';
import type { Row } from './lib/report.js';
import { ms } from './lib/stats.js';

/*
 * Webhook ingest: signed GitHub push deliveries (a real payload from @octokit/webhooks-examples,
 * each request with its own X-GitHub-Delivery) at 100 connections from another process;
 * verify, record, enqueue, answer. Against a bare node:http server answering 200 to the same
 * requests, in the same run. Bars (DESIGN §9): ≥ 25% of the reference's requests/s, p99 < 50 ms,
 * and every 2xx has exactly one row.
 */

const CONNECTIONS = 100;
const WARMUP_SECONDS = 5;
const SECONDS = 15;
const SECRET = 'bench-webhook-secret-0123456789';

interface LoadResult {
  rps: number;
  total: number;
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** Delivery ids answered 2xx (signed runs). */
  acknowledged?: string[];
}

export function pushPayload(): string {
  const require = createRequire(import.meta.url);
  const examples = require('@octokit/webhooks-examples') as { name: string; examples: Record<string, unknown>[] }[];
  const push = examples.find((e) => e.name === 'push')!.examples.find((e) => e.ref === 'refs/heads/master')!;
  return JSON.stringify({ ...push, ref: 'refs/heads/main' });
}

function config(workDir: string): string {
  return `fraisier:
  webhook: { rate_limit: false }
  concurrency: { global: 2, per_host: 2 }
git:
  github:
    webhook_secret: ${SECRET}
fraises:
  site:
    type: custom
    environments:
      production:
        branch: main
        app_path: ${workDir}/ingest-app
        steps: [{ name: build, command: [sleep, "2"] }]
`;
}

async function load(url: string, body: string, seconds: number, signed: boolean): Promise<LoadResult> {
  const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
  return runWorker<LoadResult>('bench/load-http.ts', {
    url,
    path: signed ? '/webhook/github' : '/',
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signature, 'user-agent': 'GitHub-Hookshot/bench' },
    body,
    connections: CONNECTIONS,
    seconds,
    uniqueHeader: { name: 'x-github-delivery', prefix: randomUUID() },
    collectDeliveryIds: signed,
  });
}

export async function benchIngest(workDir: string, database: { name: string; url: string }): Promise<{ rows: Row[]; notes: string[] }> {
  const body = pushPayload();
  writeFileSync(join(workDir, 'ingest.yaml'), config(workDir));
  const reference = await startReference();
  let refResult: LoadResult;
  try {
    await load(reference.url, body, WARMUP_SECONDS, false);
    refResult = await load(reference.url, body, SECONDS, false);
  } finally {
    await reference.stop();
  }

  let server: Child | undefined;
  let warm: LoadResult;
  let result: LoadResult;
  try {
    server = await startFraisier(['--config', join(workDir, 'ingest.yaml'), '--database', database.url], { cwd: workDir });
    warm = await load(server.url, body, WARMUP_SECONDS, true);
    result = await load(server.url, body, SECONDS, true);
  } finally {
    await server?.stop();
  }

  // Every 2xx has exactly one row and one deployment. Deliveries in flight when the load
  // stopped may be recorded without their answer having been counted: at most one per connection.
  const store = createStore(database.url);
  let recorded: string[];
  let deployments: number;
  try {
    recorded = (await store.db.selectFrom('tb_webhook_event').select('delivery_id').execute()).map((r) => r.delivery_id!);
    deployments = Number((await store.db.selectFrom('tb_deployment').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  } finally {
    await store.close();
  }
  const rowsPerId = new Map<string, number>();
  for (const id of recorded) rowsPerId.set(id, (rowsPerId.get(id) ?? 0) + 1);
  const acknowledged = [...(warm.acknowledged ?? []), ...(result.acknowledged ?? [])];
  const missing = acknowledged.filter((id) => rowsPerId.get(id) !== 1).length;
  const repeated = [...rowsPerId.values()].filter((n) => n > 1).length;
  const unanswered = recorded.length - acknowledged.length;
  const answered2xx = warm.ok + result.ok;
  const exact =
    acknowledged.length === answered2xx && missing === 0 && repeated === 0 && deployments === recorded.length && unanswered >= 0 && unanswered <= 2 * CONNECTIONS;
  const ratio = result.rps / refResult.rps;
  const label = `webhook ingest (${database.name}, ${CONNECTIONS} connections)`;
  return {
    rows: [
      {
        bench: label,
        measure: 'signed GitHub pushes per second',
        value: `${Math.round(result.rps).toLocaleString('en')} req/s`,
        reference: `bare node:http ${Math.round(refResult.rps).toLocaleString('en')} req/s`,
        ratio: `${(ratio * 100).toFixed(1)}%`,
        bar: '≥ 25%',
        pass: ratio >= 0.25,
      },
      {
        bench: label,
        measure: 'latency p50 / p99',
        value: `${ms(result.p50)} / ${ms(result.p99)}`,
        reference: `bare node:http ${ms(refResult.p50)} / ${ms(refResult.p99)}`,
        ratio: `${(result.p99 / Math.max(refResult.p99, 0.01)).toFixed(1)}×`,
        bar: 'p99 < 50 ms',
        pass: result.p99 < 50,
      },
      {
        bench: label,
        measure: 'every 2xx has exactly one row',
        value: `${answered2xx.toLocaleString('en')} 2xx: ${missing} without their row, ${repeated} rows twice; ${recorded.length.toLocaleString('en')} rows, ${deployments.toLocaleString('en')} deployments`,
        reference: `${result.non2xx + warm.non2xx} non-2xx, ${result.errors + warm.errors} errors, ${unanswered} in flight at the stop`,
        ratio: '-',
        bar: 'each 2xx: 1 row',
        pass: exact,
      },
    ],
    notes: [
      `ingest: ${WARMUP_SECONDS}s warm-up then ${SECONDS}s measured, ${CONNECTIONS} connections, a ${Buffer.byteLength(body).toLocaleString('en')}-byte payload, each request with a new delivery id, payloads kept (store_payload); the dispatcher runs the queued deployments meanwhile (a 2 s step each; newer deliveries supersede the waiting ones); status codes ${JSON.stringify(result.statusCodes)}`,
    ],
  };
}
