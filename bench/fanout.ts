import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Child, runWorker, startFraisier } from './lib/processes.js';
import type { Row } from './lib/report.js';
import { ms, summarize } from './lib/stats.js';
import { spawn } from 'node:child_process';

/*
 * Subscription fan-out: 1,000 graphql-ws clients (in another process) on one deployment that
 * emits 300 progress events at 100 per second. Every event must reach every subscriber in
 * order; publish → last delivery p99 < 100 ms (DESIGN §9). The reference is a bare `ws` server
 * broadcasting messages of the same size to 1,000 clients at the same rate.
 */

const CLIENTS = 1_000;
const EVENTS = 300;
const INTERVAL_MS = 10;

interface FanoutResult {
  events: number;
  everyone: boolean;
  ordered: boolean;
  latencies: number[];
}

export async function benchFanout(workDir: string): Promise<{ rows: Row[]; notes: string[] }> {
  const gate = join(workDir, 'fanout-gate');
  const emitter = `const n=${EVENTS};let i=0;const t=setInterval(()=>{console.log('event '+(++i));if(i===n)clearInterval(t)},${INTERVAL_MS})`;
  writeFileSync(
    join(workDir, 'fanout.yaml'),
    `fraisier:\n  webhook: { rate_limit: false }\nfraises:\n  chatty:\n    type: custom\n    environments:\n      local:\n        app_path: ${workDir}/fanout-app\n        steps:\n          - { name: gate, command: [node, ${resolve('tests/fixtures/wait-for.mjs')}, "${gate}"] }\n          - { name: talk, command: [node, -e, "${emitter}"] }\n`,
  );

  // The reference first.
  const reference = spawn(process.execPath, [resolve('bench/reference-ws.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const referenceUrl = await new Promise<string>((resolveUrl) => reference.stdout!.on('data', (d: Buffer) => {
    const match = /listening on (\S+)/.exec(String(d));
    if (match) resolveUrl(match[1]!);
  }));
  let ref: FanoutResult;
  try {
    ref = await runWorker<FanoutResult>('bench/fanout-clients.ts', { mode: 'reference', url: referenceUrl, clients: CLIENTS, count: EVENTS, intervalMs: INTERVAL_MS });
  } finally {
    reference.kill('SIGTERM');
  }

  let server: Child | undefined;
  let peakRss = 0;
  /** RSS once every client subscribed (the gate), before the events flow: what the subscriptions hold. */
  let subscribedRss: number | undefined;
  let result: FanoutResult;
  try {
    server = await startFraisier(['--config', join(workDir, 'fanout.yaml'), '--database', `sqlite:${join(workDir, 'fanout.db')}`], { cwd: workDir });
    const idle = server.rssMiB();
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation { deploy(fraise: "chatty", environment: "local", force: true) { deployment { id } } }' }),
    });
    const id = ((await response.json()) as { data: { deploy: { deployment: { id: string } } } }).data.deploy.deployment.id;
    const sampler = setInterval(() => {
      const rss = server!.rssMiB();
      peakRss = Math.max(peakRss, rss);
      if (subscribedRss === undefined && existsSync(gate)) subscribedRss = rss;
    }, 20);
    try {
      result = await runWorker<FanoutResult>('bench/fanout-clients.ts', { mode: 'fraisier', url: server.url, clients: CLIENTS, deploymentId: id, gate });
    } finally {
      clearInterval(sampler);
    }
    // Every subscriber got every event in order, and the events are at least the ones emitted
    // (an empty or cut-short stream would be 'everyone, in order' too).
    const complete = result.everyone && result.ordered && result.events >= EVENTS;
    const s = summarize(result.latencies);
    const r = summarize(ref.latencies);
    return {
      rows: [
        {
          bench: `fan-out (${CLIENTS} graphql-ws subscribers)`,
          measure: 'publish → last delivery p50 / p99',
          value: `${ms(s.p50)} / ${ms(s.p99)}`,
          reference: `bare ws broadcast p99 ${ms(r.p99)}`,
          ratio: `${(s.p99 / Math.max(r.p99, 0.01)).toFixed(1)}×`,
          bar: '≤ 1.5× bare ws',
          pass: s.p99 <= 1.5 * r.p99,
        },
        {
          bench: `fan-out (${CLIENTS} graphql-ws subscribers)`,
          measure: 'every event to every subscriber, in order',
          value: `${result.events} events, ${complete ? 'all, in order' : result.events < EVENTS ? `FEWER THAN THE ${EVENTS} EMITTED` : 'GAPS OR DISORDER'}`,
          reference: `${ref.events} broadcast, ${ref.everyone ? 'all' : 'missing'}`,
          ratio: '-',
          bar: 'all, in order',
          pass: complete,
        },
        {
          bench: `fan-out (${CLIENTS} graphql-ws subscribers)`,
          measure: 'server RSS idle → all subscribed (before the events)',
          value: `${idle.toFixed(0)} → ${(subscribedRss ?? Number.NaN).toFixed(0)} MiB`,
          reference: '-',
          ratio: `${((((subscribedRss ?? Number.NaN) - idle) * 1024) / CLIENTS).toFixed(0)} KiB per subscriber`,
          bar: '-',
          pass: null,
        },
        {
          bench: `fan-out (${CLIENTS} graphql-ws subscribers)`,
          measure: 'server RSS idle → peak',
          value: `${idle.toFixed(0)} → ${peakRss.toFixed(0)} MiB`,
          reference: '-',
          ratio: `${((peakRss - idle) * 1024 / CLIENTS).toFixed(0)} KiB per subscriber`,
          bar: '≤ 64 KiB per subscriber',
          pass: ((peakRss - idle) * 1024) / CLIENTS <= 64,
        },
      ],
      notes: [`fan-out: ${EVENTS} progress events at ${1000 / INTERVAL_MS}/s to ${CLIENTS} subscribers in another process; latency from the event's recorded time to its arrival at the last subscriber`],
    };
  } finally {
    await server?.stop();
  }
}
