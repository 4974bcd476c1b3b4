import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BusEvent, EventBus } from '../../src/events/bus.js';
import { type EventSource, PgNotifier } from '../../src/events/pg-notify.js';
import type { DeploymentProgress, WebhookEventRecord } from '../../src/model.js';
import { waitUntil } from '../setup/deployments.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';

/*
 * Two Fraisier processes on one PostgreSQL: queue signals and bus events cross over
 * LISTEN/NOTIFY, each instance ignores its own, and a burst leaves in order without two
 * queries ever sharing the LISTEN connection at once.
 */

const postgres = DIALECTS.find((d) => d.name === 'postgres')!;
const skip = await postgres.unavailable();
const logger = pino({ level: 'silent' });

function progress(deploymentId: string, sequence: number): DeploymentProgress {
  return { deploymentId, sequence, step: 'build', progress: sequence, message: `line ${sequence}`, timestamp: new Date(0).toISOString() };
}

/** What the receiving instance reads back from its store: here, rebuilt from the ids it was sent. */
const source: EventSource = {
  progressEvent: async (deploymentId, sequence) => ({ type: 'progress', event: progress(deploymentId, sequence) }),
  deployment: async () => undefined,
  webhookEvent: async (id) => ({ type: 'webhook', event: delivery(id) }),
};

function delivery(id: string): WebhookEventRecord {
  return {
    id,
    receivedAt: new Date(0).toISOString(),
    provider: 'github',
    eventType: 'push',
    deliveryId: `delivery-${id}`,
    repository: 'acme/hello',
    branch: 'main',
    tag: null,
    commitSha: null,
    sender: null,
    commitMessage: null,
    commitAuthor: null,
    outcome: 'ignored',
    reason: null,
    processed: false,
    deploymentId: null,
  };
}

describe.skipIf(skip)('PostgreSQL LISTEN/NOTIFY between instances', () => {
  let database: TestDatabase;
  let a: PgNotifier;
  let b: PgNotifier;
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);

  beforeAll(async () => {
    database = await postgres.createDatabase();
    a = new PgNotifier(database.url, 'instance-a', logger);
    b = new PgNotifier(database.url, 'instance-b', logger);
    await Promise.all([a.start(), b.start()]);
    process.on('warning', onWarning);
  });
  afterAll(async () => {
    process.off('warning', onWarning);
    await Promise.all([a?.close(), b?.close()]);
    await database?.drop();
  });

  it('signals queued work to the other instance, not to itself', async () => {
    let atA = 0;
    let atB = 0;
    a.onNotify(() => atA++);
    b.onNotify(() => atB++);
    for (let i = 0; i < 50; i++) a.notify();
    await waitUntil(() => atB > 0, { what: 'the queue signal at b', timeoutMs: 10_000, intervalMs: 10 });
    // Signals in one burst collapse: waking the dispatcher once is enough.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(atB).toBeLessThan(50);
    expect(atA).toBe(0);
  });

  it('relays a burst of bus events to the other instance, all of them, in order', async () => {
    const busA = new EventBus();
    const busB = new EventBus();
    a.relayBus(busA, source);
    b.relayBus(busB, source);
    const seenAtB: number[] = [];
    const seenAtA: number[] = [];
    busB.onProgress('42', (event) => seenAtB.push(event.sequence));
    busA.onProgress('42', (event) => seenAtA.push(event.sequence));

    for (let sequence = 1; sequence <= 300; sequence++) busA.publish({ type: 'progress', event: progress('42', sequence) } satisfies BusEvent);
    await waitUntil(() => seenAtB.length === 300, { what: 'all 300 events at b', timeoutMs: 10_000, intervalMs: 10 });
    expect(seenAtB).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    // a saw its own events once, published locally; none came back from b.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seenAtA).toHaveLength(300);
    expect(warnings.map((w) => w.message)).toEqual([]);
  });

  it('relays a recorded webhook delivery to the instance whose subscribers watch deliveries', async () => {
    const busA = new EventBus();
    const busB = new EventBus();
    a.relayBus(busA, source);
    b.relayBus(busB, source);
    const seenAtB: string[] = [];
    const stop = busB.onWebhook((event) => seenAtB.push(event.id));
    busA.publish({ type: 'webhook', event: delivery('7') });
    await waitUntil(() => seenAtB.length === 1, { what: 'the delivery at b', timeoutMs: 10_000, intervalMs: 10 });
    expect(seenAtB).toEqual(['7']);
    stop();
  });
});
