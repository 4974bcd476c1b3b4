import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pushPayload } from './ingest.js';
import { type Child, runWorker, startFraisier, startReference } from './lib/processes.js';
import type { Row } from './lib/report.js';
import { ms, summarize } from './lib/stats.js';

/*
 * Pickup: a signed GitHub push is sent, the 202 names the deployment, the dashboard (a
 * graphql-ws client in another process, its connection already open) subscribes, and the
 * first DeploymentProgress arrives. Timed from the moment the webhook is sent, so it counts
 * verify + record + enqueue, the dispatcher's wake-up and claim, the first step's event, and
 * the subscription round trip. Bar (DESIGN §9): p50 < 50 ms. The reference: the same POST to a
 * bare node:http server, round trip only.
 */

const RUNS = 100;
const SECRET = 'bench-pickup-secret-0123456789';

export async function benchPickup(workDir: string): Promise<{ rows: Row[]; notes: string[] }> {
  const body = pushPayload();
  writeFileSync(
    join(workDir, 'pickup.yaml'),
    `git:\n  github:\n    webhook_secret: ${SECRET}\nfraises:\n  site:\n    type: custom\n    environments:\n      production:\n        branch: main\n        app_path: ${workDir}/pickup-app\n        steps: [{ name: noop, command: ["true"] }]\n`,
  );

  const reference = await startReference();
  let ref: { roundTrips: number[] };
  try {
    await runWorker('bench/pickup-client.ts', { mode: 'reference', url: reference.url, body, runs: 20 });
    ref = await runWorker('bench/pickup-client.ts', { mode: 'reference', url: reference.url, body, runs: RUNS });
  } finally {
    await reference.stop();
  }

  let server: Child | undefined;
  let result: { timings: { accepted: number; firstProgress: number }[] };
  try {
    server = await startFraisier(['--config', join(workDir, 'pickup.yaml'), '--database', `sqlite:${join(workDir, 'pickup.db')}`], { cwd: workDir });
    // Warm-up (first deployments pay for module loading and JIT), then the measured runs.
    await runWorker('bench/pickup-client.ts', { mode: 'fraisier', url: server.url, body, secret: SECRET, runs: 10 });
    result = await runWorker('bench/pickup-client.ts', { mode: 'fraisier', url: server.url, body, secret: SECRET, runs: RUNS });
  } finally {
    await server?.stop();
  }

  const first = summarize(result.timings.map((t) => t.firstProgress));
  const accepted = summarize(result.timings.map((t) => t.accepted));
  const floor = summarize(ref.roundTrips);
  return {
    rows: [
      {
        bench: 'pickup (webhook → dashboard)',
        measure: 'webhook sent → first DeploymentProgress p50 / p99',
        value: `${ms(first.p50)} / ${ms(first.p99)}`,
        reference: `bare node:http round trip p50 ${ms(floor.p50)}`,
        ratio: `${(first.p50 / Math.max(floor.p50, 0.01)).toFixed(1)}×`,
        bar: 'p50 < 20 ms',
        pass: first.p50 < 20,
      },
      {
        bench: 'pickup (webhook → dashboard)',
        measure: 'of which webhook answered 202, p50 / p99',
        value: `${ms(accepted.p50)} / ${ms(accepted.p99)}`,
        reference: `bare node:http p50 ${ms(floor.p50)}`,
        ratio: `${(accepted.p50 / Math.max(floor.p50, 0.01)).toFixed(1)}×`,
        bar: '-',
        pass: null,
      },
    ],
    notes: [`pickup: ${RUNS} deliveries one after the other (each deployment ends before the next delivery), SQLite store, after 10 warm-up runs`],
  };
}
