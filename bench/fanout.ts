import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Child, runWorker, startFraisier, startReference } from './lib/processes.js';
import type { Row } from './lib/report.js';
import { ms, summarize } from './lib/stats.js';

/*
 * Subscription fan-out: 1,000 graphql-ws clients (in another process) on one deployment that
 * emits 300 progress events at 100 per second. Every event must reach every subscriber in
 * order; publish → last delivery p99 ≤ 1.5× the reference, a bare `ws` server broadcasting
 * messages of the same size to 1,000 clients at the same rate; ≤ 64 KiB of server memory per
 * subscriber at the peak (the resident set's high-water mark from idle, so that a peak between two
 * samples is not missed), the reference's figure beside it.
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
  const reference = await startReference('bench/reference-ws.mjs');
  let ref: FanoutResult;
  let refMemory: { idle: number; peak: number };
  let refCpu: number;
  try {
    const idle = reference.rssMiB();
    const peak = peakTracker(reference);
    const cpu = cpuFromGate(reference, `${gate}-reference`);
    ref = await runWorker<FanoutResult>('bench/fanout-clients.ts', { mode: 'reference', url: reference.url, clients: CLIENTS, count: EVENTS, intervalMs: INTERVAL_MS, gate: `${gate}-reference` });
    refMemory = { idle, peak: peak.stop() };
    refCpu = cpu.stop();
  } finally {
    await reference.stop();
  }

  let server: Child | undefined;
  let peakRss = 0;
  let cpuSeconds = Number.NaN;
  /** RSS once every client subscribed (the gate), before the events flow: what the subscriptions hold. */
  let subscribedRss: number | undefined;
  let result: FanoutResult;
  try {
    server = await startFraisier(['--config', join(workDir, 'fanout.yaml'), '--database', `sqlite:${join(workDir, 'fanout.db')}`], { cwd: workDir });
    const idle = server.rssMiB();
    const peak = peakTracker(server);
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation { deploy(fraise: "chatty", environment: "local", force: true) { deployment { id } } }' }),
    });
    const id = ((await response.json()) as { data: { deploy: { deployment: { id: string } } } }).data.deploy.deployment.id;
    const sampler = setInterval(() => {
      if (subscribedRss === undefined && existsSync(gate)) subscribedRss = server!.rssMiB();
    }, 20);
    const cpu = cpuFromGate(server, gate);
    try {
      result = await runWorker<FanoutResult>('bench/fanout-clients.ts', { mode: 'fraisier', url: server.url, clients: CLIENTS, deploymentId: id, gate });
    } finally {
      clearInterval(sampler);
      peakRss = peak.stop();
      cpuSeconds = cpu.stop();
    }
    // Every subscriber got every event in order, and the events are at least the ones emitted
    // (an empty or cut-short stream would be 'everyone, in order' too).
    const complete = result.everyone && result.ordered && result.events >= EVENTS;
    const s = summarize(result.latencies);
    const r = summarize(ref.latencies);
    const perSubscriber = (from: number, to: number) => ((to - from) * 1024) / CLIENTS;
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
          measure: 'server CPU per event, all subscribed → last delivery',
          value: `${((cpuSeconds * 1000) / EVENTS).toFixed(2)} ms`,
          reference: `bare ws ${((refCpu * 1000) / EVENTS).toFixed(2)} ms`,
          ratio: `${(cpuSeconds / Math.max(refCpu, 0.001)).toFixed(1)}×`,
          bar: '-',
          pass: null,
        },
        {
          bench: `fan-out (${CLIENTS} graphql-ws subscribers)`,
          measure: 'server RSS idle → all subscribed (before the events)',
          value: `${idle.toFixed(0)} → ${(subscribedRss ?? Number.NaN).toFixed(0)} MiB`,
          reference: '-',
          ratio: `${perSubscriber(idle, subscribedRss ?? Number.NaN).toFixed(0)} KiB per subscriber`,
          bar: '-',
          pass: null,
        },
        {
          bench: `fan-out (${CLIENTS} graphql-ws subscribers)`,
          measure: 'server RSS idle → peak (events flowing)',
          value: `${idle.toFixed(0)} → ${peakRss.toFixed(0)} MiB`,
          reference: `bare ws ${refMemory.idle.toFixed(0)} → ${refMemory.peak.toFixed(0)} MiB, ${perSubscriber(refMemory.idle, refMemory.peak).toFixed(0)} KiB per subscriber`,
          ratio: `${perSubscriber(idle, peakRss).toFixed(0)} KiB per subscriber`,
          bar: '≤ 64 KiB per subscriber',
          pass: perSubscriber(idle, peakRss) <= 64,
        },
      ],
      notes: [
        `fan-out: ${EVENTS} progress events at ${1000 / INTERVAL_MS}/s to ${CLIENTS} subscribers in another process; latency from the event's recorded time to its arrival at the last subscriber; ` +
          `memory: resident set right after start (idle), once every client subscribed, and its high-water mark from idle to the last event (${peak.exact ? 'VmHWM' : 'sampled every 20 ms: this kernel cannot reset VmHWM'})`,
      ],
    };
  } finally {
    await server?.stop();
  }
}

/**
 * The most resident memory of `child` from now until `stop`: its high-water mark (VmHWM) reset
 * now where the kernel allows, and samples every 20 ms besides.
 */
function peakTracker(child: Child): { stop(): number; readonly exact: boolean } {
  const exact = child.resetPeakRss();
  let peak = child.rssMiB();
  const sampler = setInterval(() => (peak = Math.max(peak, child.rssMiB())), 20);
  return {
    exact,
    stop() {
      clearInterval(sampler);
      return Math.max(peak, child.rssMiB(), exact ? child.peakRssMiB() : 0);
    },
  };
}

/** CPU time `child` uses from the moment the file `gate` appears until `stop` (NaN if it never did). */
function cpuFromGate(child: Child, gate: string): { stop(): number } {
  let from: number | undefined;
  const sampler = setInterval(() => {
    if (from === undefined && existsSync(gate)) from = child.cpuSeconds();
  }, 5);
  return {
    stop() {
      clearInterval(sampler);
      return from === undefined ? Number.NaN : child.cpuSeconds() - from;
    },
  };
}
