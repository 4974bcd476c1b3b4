import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/events/bus.js';
import { type Channel, createChannel } from '../../src/events/channel.js';
import { DeploymentEventFeed, type ProgressSource } from '../../src/events/feed.js';
import type { Deployment, DeploymentProgress } from '../../src/model.js';

/* The subscription feed: replay, then live; gaps filled from the store; ends with the deployment. */

const event = (sequence: number): DeploymentProgress => ({
  deploymentId: '7',
  sequence,
  step: `s${sequence}`,
  progress: sequence * 10,
  message: null,
  timestamp: `2026-11-21T10:00:0${sequence}.000Z`,
});

/** A store that holds `recorded` and says the deployment has `status`. */
function source(recorded: DeploymentProgress[], status: () => string): ProgressSource {
  return {
    progress: async (_id, after) => recorded.filter((e) => e.sequence > after),
    status: async () => status(),
  };
}

const done = { id: '7', status: 'success' } as Deployment;

/** Resolves once `condition` holds, checked after each turn of the event loop. */
async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setImmediate(r));
}

async function drain(iterable: AsyncIterable<DeploymentProgress>): Promise<number[]> {
  const seen: number[] = [];
  for await (const e of iterable) seen.push(e.sequence);
  return seen;
}

describe('the progress feed', () => {
  it('replays what was recorded, streams what comes, and ends with the deployment', async () => {
    const recorded = [event(1), event(2)];
    let status = 'in_progress';
    const bus = new EventBus();
    const feed = new DeploymentEventFeed(bus, source(recorded, () => status));
    const stream = drain(feed.progress('7'));
    await new Promise((r) => setImmediate(r));
    for (const sequence of [3, 4]) {
      recorded.push(event(sequence));
      bus.publish({ type: 'progress', event: event(sequence) });
    }
    status = 'success';
    bus.publish({ type: 'completed', deployment: done });
    expect(await stream).toEqual([1, 2, 3, 4]);
    expect(bus.listenerCount).toBe(0);
  });

  it('fills a gap from the store when a live event went missing', async () => {
    const recorded = [event(1)];
    const bus = new EventBus();
    const feed = new DeploymentEventFeed(bus, source(recorded, () => 'in_progress'));
    const stream = drain(feed.progress('7'));
    await new Promise((r) => setImmediate(r));
    recorded.push(event(2), event(3));
    // Event 2 is recorded but never published (a lost notification): 3 arrives first.
    bus.publish({ type: 'progress', event: event(3) });
    await new Promise((r) => setTimeout(r, 10));
    recorded.push(event(4));
    bus.publish({ type: 'progress', event: event(4) });
    bus.publish({ type: 'completed', deployment: done });
    expect(await stream).toEqual([1, 2, 3, 4]);
  });

  it('completes at once for a deployment that already ended', async () => {
    const feed = new DeploymentEventFeed(new EventBus(), source([event(1), event(2)], () => 'failed'));
    expect(await drain(feed.progress('7'))).toEqual([1, 2]);
  });

  it('replays a page at a time, reading the next page once the subscriber took the last', async () => {
    const recorded = Array.from({ length: 7 }, (_, i) => event(i + 1));
    const reads: { after: number; limit: number; waiting: number }[] = [];
    let stream: Channel<DeploymentProgress> | undefined;
    const paged: ProgressSource = {
      progress: async (_id, after, limit) => {
        reads.push({ after, limit, waiting: stream?.buffered ?? 0 });
        return recorded.filter((e) => e.sequence > after).slice(0, limit);
      },
      status: async () => 'success',
    };
    const feed = new DeploymentEventFeed(new EventBus(), paged, { replayPage: 2 });
    stream = feed.progress('7') as Channel<DeploymentProgress>;
    expect(await drain(stream)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(reads.slice(0, 4).map((r) => r.after)).toEqual([0, 2, 4, 6]);
    expect(reads.every((r) => r.limit === 2 && r.waiting === 0), JSON.stringify(reads)).toBe(true);
  });

  it('holds a page of live events while reading the store, and reads the others back from it', async () => {
    const recorded = [event(1), event(2)];
    let status = 'in_progress';
    let gate: Promise<void> | undefined;
    const source: ProgressSource = {
      progress: async (_id, after, limit) => {
        // What the store holds when the read starts, answered once the gate opens.
        const snapshot = recorded.filter((e) => e.sequence > after).slice(0, limit);
        await gate;
        return snapshot;
      },
      status: async () => status,
    };
    const bus = new EventBus();
    const feed = new DeploymentEventFeed(bus, source, { replayPage: 3 });
    const seen: number[] = [];
    const stream = (async () => {
      for await (const e of feed.progress('7')) seen.push(e.sequence);
    })();
    await waitFor(() => seen.length === 2);
    // Event 3 is recorded but its notification is lost; 4 arrives: a gap, read from the store...
    let open!: () => void;
    gate = new Promise<void>((resolve) => (open = resolve));
    recorded.push(event(3), event(4));
    bus.publish({ type: 'progress', event: event(4) });
    // ...and while that read is under way, 5 to 10 arrive: 4, 5, 6 are held, the rest are not.
    for (let sequence = 5; sequence <= 10; sequence++) {
      recorded.push(event(sequence));
      bus.publish({ type: 'progress', event: event(sequence) });
    }
    open();
    await waitFor(() => seen.length === 10);
    status = 'success';
    bus.publish({ type: 'completed', deployment: done });
    await stream;
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('drops a subscriber that stops reading, past its buffer', async () => {
    const channel = createChannel<number>({ maxBuffer: 3 });
    for (let i = 0; i < 5; i++) channel.push(i);
    await expect(channel.next()).rejects.toThrow('subscriber too slow: more than 3 events waiting');
    expect(channel.ended).toBe(true);
  });

  it('stops and unsubscribes when the consumer breaks out or the signal aborts', async () => {
    let disposed = 0;
    const controller = new AbortController();
    const channel = createChannel<number>({ signal: controller.signal, onDispose: () => disposed++ });
    channel.push(1);
    const next = channel.next();
    controller.abort();
    expect(await next).toEqual({ value: 1, done: false });
    expect(await channel.next()).toEqual({ value: undefined, done: true });
    expect(disposed).toBe(1);
  });
});

describe('the channel buffer cap', () => {
  it('counts live values, not a replay', async () => {
    const channel = createChannel<number>({ maxBuffer: 2 });
    for (let i = 0; i < 100; i++) channel.push(i, false);
    channel.push(100);
    channel.push(101);
    expect(channel.ended).toBe(false);
    channel.push(102);
    await expect(channel.next()).rejects.toThrow('subscriber too slow: more than 2 events waiting');
  });
});
