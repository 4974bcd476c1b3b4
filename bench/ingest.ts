import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createStore } from '../src/store/store.js';
import { type Child, runWorker, startFraisier, startReference } from './lib/processes.js';
import type { Row } from './lib/report.js';
import { ms } from './lib/stats.js';

/*
 * Webhook ingest: signed GitHub push deliveries (a real payload from @octokit/webhooks-examples,
 * each request with its own X-GitHub-Delivery and a commit of its own, whose `before` is the
 * previous request's, so that each one queues a deployment) at 100 connections from another
 * process; verify, record, order against the queue, enqueue, answer. The reference is minimal
 * ingest (reference-ingest.mjs), the same work with nothing around it, taking the same requests
 * in the same run. Bars (DESIGN §9): ≥ 60% of its requests/s, p99 < 100 ms, and every 2xx has
 * exactly one row and one deployment. A bare node:http server answering 200 to the same
 * requests shows what the machine's HTTP alone does.
 */

const CONNECTIONS = 100;
const WARMUP_SECONDS = 4;
/** Rounds of load on the reference then on Fraisier; the figures are the rounds' medians. */
const ROUNDS = 3;
const ROUND_SECONDS = 5;
const SECRET = 'bench-webhook-secret-0123456789';

interface LoadResult {
  rps: number;
  /** CPU the server used during the run (every thread), in µs per request answered. */
  cpuPerRequest: number;
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

/** The commit chain of one server: each signed request pushes the next commit (load-http.ts). */
interface Chain {
  prefix: string;
  next: number;
}

function newChain(): Chain {
  return { prefix: randomBytes(12).toString('hex'), next: 1 };
}

async function load(server: Child, body: string, seconds: number, chain?: Chain): Promise<LoadResult> {
  const cpuBefore = server.cpuSeconds();
  const push = JSON.parse(body) as { after: string; before: string };
  const result = await runWorker<Omit<LoadResult, 'cpuPerRequest'> & { nextCommit?: number }>('bench/load-http.ts', {
    url: server.url,
    path: chain ? '/webhook/github' : '/',
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'user-agent': 'GitHub-Hookshot/bench' },
    body,
    connections: CONNECTIONS,
    seconds,
    uniqueHeader: { name: 'x-github-delivery', prefix: randomUUID() },
    collectDeliveryIds: chain !== undefined,
    // The bare server gets the same requests, signed and with their own commits too.
    commits: { after: push.after, before: push.before, prefix: (chain ?? newChain()).prefix, first: chain?.next ?? 1, secret: SECRET, signatureHeader: 'x-hub-signature-256' },
  });
  if (chain && result.nextCommit !== undefined) chain.next = result.nextCommit;
  return { ...result, cpuPerRequest: ((server.cpuSeconds() - cpuBefore) * 1e6) / Math.max(result.total, 1) };
}

export async function benchIngest(workDir: string, database: { name: string; url: string }): Promise<{ rows: Row[]; notes: string[] }> {
  const body = pushPayload();
  writeFileSync(join(workDir, 'ingest.yaml'), config(workDir));
  // Both servers run side by side and take the load in turns, round after round: this machine's
  // speed drifts (other tenants take CPU from it), and a drift now falls on both alike.
  const runs: LoadResult[] = [];
  const rounds: { reference: LoadResult; fraisier: LoadResult; minimal: LoadResult }[] = [];
  // The minimal server writes to a store of its own, in the same schema.
  const minimalFile = join(workDir, 'ingest-minimal.db');
  const minimalStore = createStore(`sqlite:${minimalFile}`);
  try {
    await minimalStore.migrate();
  } finally {
    await minimalStore.close();
  }
  let minimalAnswered = 0;
  let reference: Child | undefined;
  let minimal: Child | undefined;
  let server: Child | undefined;
  try {
    reference = await startReference();
    minimal = await startReference('bench/reference-ingest.mjs', [minimalFile, SECRET]);
    server = await startFraisier(['--config', join(workDir, 'ingest.yaml'), '--database', database.url], { cwd: workDir });
    const minimalChain = newChain();
    const fraisierChain = newChain();
    await load(reference, body, WARMUP_SECONDS);
    minimalAnswered += (await load(minimal, body, WARMUP_SECONDS, minimalChain)).ok;
    runs.push(await load(server, body, WARMUP_SECONDS, fraisierChain));
    for (let round = 0; round < ROUNDS; round++) {
      const referenceRun = await load(reference, body, ROUND_SECONDS);
      const minimalRun = await load(minimal, body, ROUND_SECONDS, minimalChain);
      minimalAnswered += minimalRun.ok;
      const fraisierRun = await load(server, body, ROUND_SECONDS, fraisierChain);
      runs.push(fraisierRun);
      rounds.push({ reference: referenceRun, fraisier: fraisierRun, minimal: minimalRun });
    }
  } finally {
    await Promise.all([server?.stop(), minimal?.stop(), reference?.stop()]);
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const result = {
    rps: median(rounds.map((r) => r.fraisier.rps)),
    p50: median(rounds.map((r) => r.fraisier.p50)),
    p99: median(rounds.map((r) => r.fraisier.p99)),
  };
  const refResult = {
    rps: median(rounds.map((r) => r.reference.rps)),
    p50: median(rounds.map((r) => r.reference.p50)),
    p99: median(rounds.map((r) => r.reference.p99)),
  };
  const minResult = {
    rps: median(rounds.map((r) => r.minimal.rps)),
    p50: median(rounds.map((r) => r.minimal.p50)),
    p99: median(rounds.map((r) => r.minimal.p99)),
  };
  const ratio = median(rounds.map((r) => r.fraisier.rps / r.reference.rps));
  const minimalRatio = median(rounds.map((r) => r.minimal.rps / r.reference.rps));
  const ofMinimal = median(rounds.map((r) => r.fraisier.rps / r.minimal.rps));
  // Steadier than requests/s on a machine whose speed drifts: what each request cost the server.
  const cpu = {
    fraisier: median(rounds.map((r) => r.fraisier.cpuPerRequest)),
    reference: median(rounds.map((r) => r.reference.cpuPerRequest)),
    minimal: median(rounds.map((r) => r.minimal.cpuPerRequest)),
  };

  // Every 2xx has exactly one row and queued exactly one deployment. The load generator waits
  // for the answers in flight when a run ends, so a row without its answer comes only from a
  // request that failed (connection error, timeout): there may be as many of those, no more.
  const recorded = await recordedDeliveries(database.url);
  // The minimal reference did the work it is credited with: a row and a deployment queued for each of its 2xx.
  const minimalRecord = await recordedDeliveries(`sqlite:${minimalFile}`).finally(() => {
    // Hundreds of megabytes nobody reads again: gone before they are flushed during the next bench.
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${minimalFile}${suffix}`, { force: true });
  });
  const minimalOk =
    minimalRecord.rows.length === minimalAnswered && minimalRecord.replays === 0 && rounds.every((r) => r.minimal.non2xx === 0);
  const rowsPerId = new Map<string, Delivery[]>();
  for (const row of recorded.rows) rowsPerId.set(row.deliveryId, [...(rowsPerId.get(row.deliveryId) ?? []), row]);
  const sum = (pick: (run: LoadResult) => number) => runs.reduce((total, run) => total + pick(run), 0);
  const acknowledged = runs.flatMap((run) => run.acknowledged ?? []);
  const missing = acknowledged.filter((id) => rowsPerId.get(id)?.length !== 1).length;
  // A push that overtook the one before it on the way in is found older than it and recorded
  // SUPERSEDED (newest commit wins): a deployment all the same, counted apart.
  const notQueued = acknowledged.filter((id) => rowsPerId.get(id)?.[0]?.queued !== true).length;
  const withoutDeployment = acknowledged.filter((id) => rowsPerId.get(id)?.[0]?.deployment !== true).length;
  const repeated = [...rowsPerId.values()].filter((rows) => rows.length > 1).length;
  const unanswered = recorded.rows.length - acknowledged.length;
  const answered2xx = sum((run) => run.ok);
  const failed = sum((run) => run.errors + run.timeouts);
  const exact =
    acknowledged.length === answered2xx &&
    missing === 0 &&
    repeated === 0 &&
    withoutDeployment === 0 &&
    recorded.deployments === recorded.rows.length &&
    unanswered >= 0 &&
    unanswered <= failed;
  const statusCodes: Record<string, number> = {};
  for (const run of runs) for (const [code, count] of Object.entries(run.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + count;
  const label = `webhook ingest (${database.name}, ${CONNECTIONS} connections)`;
  return {
    rows: [
      {
        bench: label,
        measure: 'signed GitHub pushes per second',
        value: `${Math.round(result.rps).toLocaleString('en')} req/s`,
        reference: `bare node:http ${Math.round(refResult.rps).toLocaleString('en')} req/s`,
        ratio: `${(ratio * 100).toFixed(1)}%`,
        bar: '-',
        pass: null,
      },
      {
        bench: label,
        measure: 'latency p50 / p99',
        value: `${ms(result.p50)} / ${ms(result.p99)}`,
        reference: `bare node:http ${ms(refResult.p50)} / ${ms(refResult.p99)}`,
        ratio: `${(result.p99 / Math.max(refResult.p99, 0.01)).toFixed(1)}×`,
        bar: 'p99 < 100 ms',
        pass: result.p99 < 100,
      },
      {
        bench: label,
        measure: 'server CPU per request (every thread)',
        value: `${Math.round(cpu.fraisier)} µs`,
        reference: `bare node:http ${Math.round(cpu.reference)} µs`,
        ratio: `${(cpu.fraisier / cpu.reference).toFixed(1)}×`,
        bar: '-',
        pass: null,
      },
      {
        bench: label,
        measure: 'minimal ingest: the same work, no framework',
        value: `${Math.round(minResult.rps).toLocaleString('en')} req/s, p50 / p99 ${ms(minResult.p50)} / ${ms(minResult.p99)}, ${Math.round(cpu.minimal)} µs CPU per request${minimalOk ? '' : ` (WRONG: ${minimalRecord.rows.length} rows, ${minimalRecord.replays} without a deployment for ${minimalAnswered} 2xx)`}`,
        reference: `bare node:http ${Math.round(refResult.rps).toLocaleString('en')} req/s`,
        ratio: `${(minimalRatio * 100).toFixed(1)}%`,
        bar: '-',
        pass: null,
      },
      {
        bench: label,
        measure: 'Fraisier against minimal ingest',
        value: `${Math.round(result.rps).toLocaleString('en')} req/s, ${Math.round(cpu.fraisier)} µs CPU per request`,
        reference: `minimal ${Math.round(minResult.rps).toLocaleString('en')} req/s, ${Math.round(cpu.minimal)} µs`,
        ratio: `${(ofMinimal * 100).toFixed(1)}%`,
        bar: '≥ 60%',
        pass: ofMinimal >= 0.6,
      },
      {
        bench: label,
        measure: 'every 2xx has exactly one row, one deployment queued',
        value: `${answered2xx.toLocaleString('en')} 2xx: ${missing} without their row, ${repeated} rows twice, ${withoutDeployment} without a deployment; ${(acknowledged.length - notQueued).toLocaleString('en')} queued, ${recorded.older} found older than the push before them; ${recorded.rows.length.toLocaleString('en')} rows, ${recorded.deployments.toLocaleString('en')} deployments`,
        reference: `${sum((run) => run.non2xx)} non-2xx, ${failed} failed requests, ${unanswered} rows without an answer`,
        ratio: '-',
        bar: 'each 2xx: 1 row',
        pass: exact,
      },
    ],
    notes: [
      `ingest: ${WARMUP_SECONDS}s warm-up each, then ${ROUNDS} rounds of ${ROUND_SECONDS}s on the reference, then minimal ingest (bench/reference-ingest.mjs: node:http, HMAC, JSON.parse, the same rows committed in batches, one thread), then Fraisier (figures: the rounds' medians; ratio: the median of the rounds' ratios; Fraisier per round ${rounds.map((r) => Math.round(r.fraisier.rps)).join(' / ')} req/s, minimal ${rounds.map((r) => Math.round(r.minimal.rps)).join(' / ')}, reference ${rounds.map((r) => Math.round(r.reference.rps)).join(' / ')}), ${CONNECTIONS} connections, a ${Buffer.byteLength(body).toLocaleString('en')}-byte payload, each request with a new delivery id and a new commit (its \`before\` the previous request's), payloads kept (store_payload); the dispatcher runs the queued deployments meanwhile (a 2 s step each; newer deliveries supersede the waiting ones); status codes ${JSON.stringify(statusCodes)}`,
    ],
  };
}

interface Delivery {
  deliveryId: string;
  /** It wrote a deployment (queued, or SUPERSEDED at once when found older). */
  deployment: boolean;
  /** Its deployment waits in the queue (or ran since): not a replay, not found older. */
  queued: boolean;
}

/** The deliveries a store recorded, and what became of their pushes. */
async function recordedDeliveries(url: string): Promise<{ rows: Delivery[]; deployments: number; queued: number; replays: number; older: number }> {
  const store = createStore(url);
  try {
    const rows = await store.db
      .selectFrom('tb_webhook_event as e')
      .leftJoin('tb_deployment as d', 'd.id', 'e.fk_deployment')
      .select(['e.delivery_id', 'e.outcome', 'e.fk_deployment', 'd.error_message'])
      .execute();
    const deployments = Number((await store.db.selectFrom('tb_deployment').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const older = rows.filter((r) => r.error_message?.includes('older than')).length;
    const replays = rows.filter((r) => r.fk_deployment === null).length;
    const deliveries = rows.map((r) => ({
      deliveryId: r.delivery_id!,
      deployment: r.fk_deployment !== null,
      queued: r.outcome === 'accepted' && r.fk_deployment !== null && !r.error_message?.includes('older than'),
    }));
    return { rows: deliveries, deployments, queued: deliveries.filter((d) => d.queued).length, replays, older };
  } finally {
    await store.close();
  }
}
