import { describe, expect, it } from 'vitest';
import { EventBus, type LocalEvent } from '../../src/events/bus.js';
import type { Deployment } from '../../src/model.js';

/*
 * A watcher (the deployment log) hears what this process publishes, and only that: it is not a
 * subscriber, so it never makes the relay read other processes' events back.
 */

const deployment = { id: '7', fraise: 'hello', environment: 'local' } as Deployment;

describe('the event bus watchers', () => {
  it('hear local events, queued included, and not relayed ones; they count as no listener', () => {
    const bus = new EventBus();
    const heard: LocalEvent['type'][] = [];
    const relayed: string[] = [];
    bus.setRelay((event) => relayed.push(event.type));
    const unwatch = bus.watch((event) => heard.push(event.type));
    expect(bus.listenerCount).toBe(0);
    expect(bus.listensHere('completed', '7')).toBe(false);

    bus.publish({ type: 'queued', deployment, superseded: [] });
    bus.publish({ type: 'started', deployment });
    bus.publish({ type: 'completed', deployment }, { relayed: true });
    bus.publish({ type: 'completed', deployment });
    expect(heard).toEqual(['queued', 'started', 'completed']);
    // Other processes learn of queued work through the queue signal, not the relay.
    expect(relayed).toEqual(['started', 'completed']);

    unwatch();
    bus.publish({ type: 'started', deployment });
    expect(heard).toHaveLength(3);
  });
});
