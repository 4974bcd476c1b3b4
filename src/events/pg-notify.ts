import type pg from 'pg';
import type { Logger } from 'pino';
import type { QueueSignal } from '../deploy/dispatcher.js';
import { CONTROL_CHANNEL } from '../store/control.repository.js';
import type { EnvironmentStatusChange } from '../model.js';
import type { BusEvent, EventBus } from './bus.js';

/*
 * Several Fraisier processes on one PostgreSQL database: LISTEN/NOTIFY tells the others that
 * work was queued (pickup without waiting for the poll), tells the process running a deployment
 * that something was asked of it (pause, resume, promote, cancel: the store sends those itself,
 * see control.repository.ts), and relays the event bus so that a subscriber connected to one
 * process sees deployments another one runs. Payloads carry ids
 * only (the store is the truth, the receiver reads the record); NOTIFY is sent after commit. A
 * lost notification costs at most a poll interval, and a progress gap is filled from the store.
 */

const QUEUE_CHANNEL = 'fraisier_queue';
const EVENTS_CHANNEL = 'fraisier_events';

interface RelayedEvent {
  /** sending instance */
  i: string;
  /** p: progress, s: started, c: completed, a: waiting (on a gate), w: webhook delivery, h: an environment's health changed */
  t: 'p' | 's' | 'c' | 'a' | 'w' | 'h';
  /** deployment id (the delivery's id for w; fraise/environment for h) */
  d: string;
  /** progress sequence */
  q?: number;
  /** h: the change itself (small, and what the store holds of it is only the new status) */
  h?: EnvironmentStatusChange;
}

export interface EventSource {
  progressEvent(deploymentId: string, sequence: number): Promise<BusEvent | undefined>;
  deployment(deploymentId: string, type: 'started' | 'completed' | 'waiting'): Promise<BusEvent | undefined>;
  webhookEvent(eventId: string): Promise<BusEvent | undefined>;
}

const TYPE_CODES = { progress: 'p', started: 's', completed: 'c', waiting: 'a', webhook: 'w', environmentStatus: 'h' } as const satisfies Record<BusEvent['type'], RelayedEvent['t']>;
const CODE_TYPES = { p: 'progress', s: 'started', c: 'completed', a: 'waiting', w: 'webhook', h: 'environmentStatus' } as const satisfies Record<RelayedEvent['t'], BusEvent['type']>;

export class PgNotifier implements QueueSignal {
  #client: pg.Client | undefined;
  #closed = false;
  #queueListeners: (() => void)[] = [];
  #controlListeners: ((deploymentId: number) => void)[] = [];
  #eventHandler: ((event: RelayedEvent) => void) | undefined;
  #reconnectDelay = 250;
  #connecting: Promise<void> | undefined;
  #outbox: [channel: string, payload: string][] = [];
  #sending = false;

  constructor(
    private readonly url: string,
    private readonly instanceId: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.#connect();
  }

  onNotify(listener: () => void): void {
    this.#queueListeners.push(listener);
  }

  notify(): void {
    this.#send(QUEUE_CHANNEL, this.instanceId);
  }

  onControl(listener: (deploymentId: number) => void): void {
    this.#controlListeners.push(listener);
  }

  /** Relays this process's bus events to the others, and theirs into this bus. */
  relayBus(bus: EventBus, source: EventSource): void {
    bus.setRelay((event) => {
      const message: RelayedEvent =
        event.type === 'progress'
          ? { i: this.instanceId, t: 'p', d: event.event.deploymentId, q: event.event.sequence }
          : event.type === 'environmentStatus'
            ? { i: this.instanceId, t: 'h', d: `${event.change.fraise}/${event.change.environment}`, h: event.change }
            : { i: this.instanceId, t: TYPE_CODES[event.type], d: event.type === 'webhook' ? event.event.id : event.deployment.id };
      this.#send(EVENTS_CHANNEL, JSON.stringify(message));
    });
    this.#eventHandler = (message) => {
      const type = CODE_TYPES[message.t];
      // Read back only what someone here listens to: other processes' events are not our work.
      if (!type || !bus.listensHere(type, message.d)) return;
      if (type === 'progress' && message.q === undefined) return;
      if (type === 'environmentStatus') {
        if (message.h) bus.publish({ type, change: message.h }, { relayed: true });
        return;
      }
      const read =
        type === 'progress'
          ? source.progressEvent(message.d, message.q!)
          : type === 'webhook'
            ? source.webhookEvent(message.d)
            : source.deployment(message.d, type);
      read.then(
        (event) => event && bus.publish(event, { relayed: true }),
        (error: unknown) => this.logger.debug({ err: error }, 'could not read a relayed event'),
      );
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  /**
   * Notifications wait for the one query in flight on the LISTEN connection (pg runs one at a
   * time), then leave together in one statement, in order. Repeated queue signals collapse.
   */
  #send(channel: string, payload: string): void {
    if (!this.#client) return;
    if (channel === QUEUE_CHANNEL && this.#outbox.some(([c, p]) => c === channel && p === payload)) return;
    this.#outbox.push([channel, payload]);
    if (!this.#sending) void this.#flush();
  }

  async #flush(): Promise<void> {
    this.#sending = true;
    try {
      while (this.#outbox.length) {
        const client = this.#client;
        const batch = this.#outbox.splice(0, 100);
        if (!client) continue;
        const calls = batch.map((_, i) => `pg_notify($${2 * i + 1}, $${2 * i + 2})`).join(', ');
        await client.query(`SELECT ${calls}`, batch.flat()).catch((error: unknown) => {
          this.logger.debug({ err: error }, 'NOTIFY failed; the poll will pick the work up');
        });
      }
    } finally {
      this.#sending = false;
    }
  }

  #connect(): Promise<void> {
    return (this.#connecting ??= (async () => {
      while (!this.#closed) {
        // pg loads with the first connection, as the store's pool does (db/dialect.ts).
        const { default: pgModule } = await import('pg');
        const client = new pgModule.Client({ connectionString: this.url, connectionTimeoutMillis: 5_000 });
        try {
          client.on('notification', (message) => this.#receive(message.channel, message.payload ?? ''));
          client.on('error', (error) => {
            this.logger.warn({ err: error }, 'LISTEN connection lost; reconnecting');
            if (this.#client === client) this.#client = undefined;
            client.end().catch(() => {});
            if (!this.#closed) setTimeout(() => void this.#connect(), this.#reconnectDelay).unref();
          });
          await client.connect();
          await client.query(`LISTEN ${QUEUE_CHANNEL}`);
          await client.query(`LISTEN ${EVENTS_CHANNEL}`);
          await client.query(`LISTEN ${CONTROL_CHANNEL}`);
          if (this.#closed) {
            await client.end();
            return;
          }
          this.#client = client;
          this.#reconnectDelay = 250;
          // Something may have been queued while we were not listening (and asked of what runs
          // here: the lease renewals read that too).
          for (const listener of this.#queueListeners) listener();
          return;
        } catch (error) {
          await client.end().catch(() => {});
          this.logger.warn({ err: error }, 'cannot LISTEN on PostgreSQL; retrying');
          await new Promise((resolve) => setTimeout(resolve, this.#reconnectDelay).unref());
          this.#reconnectDelay = Math.min(this.#reconnectDelay * 2, 10_000);
        }
      }
    })().finally(() => {
      this.#connecting = undefined;
    }));
  }

  #receive(channel: string, payload: string): void {
    if (channel === CONTROL_CHANNEL) {
      const id = Number(payload);
      if (Number.isSafeInteger(id)) for (const listener of this.#controlListeners) listener(id);
      return;
    }
    if (channel === QUEUE_CHANNEL) {
      if (payload === this.instanceId) return;
      for (const listener of this.#queueListeners) listener();
      return;
    }
    if (channel !== EVENTS_CHANNEL || !this.#eventHandler) return;
    try {
      const message = JSON.parse(payload) as RelayedEvent;
      if (message.i !== this.instanceId) this.#eventHandler(message);
    } catch {
      // not ours
    }
  }
}
