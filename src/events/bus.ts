import type { Deployment, DeploymentProgress, EnvironmentStatusChange, WebhookEventRecord } from '../model.js';

/*
 * The in-process event bus: the dispatcher publishes, subscriptions listen. Listeners are kept
 * in Sets (per deployment for progress), so publishing to one deployment's watchers costs nothing
 * for the others. Other processes sharing a PostgreSQL store feed it too (see pg-notify.ts).
 * Not graphql-yoga's createPubSub: its listeners are hidden in an EventTarget, and the relay asks
 * whether anyone here listens to a deployment (listensHere) before reading its event back from
 * the store; subscribers get their stream from channel.ts rather than a second one.
 */

export type BusEvent =
  | { type: 'progress'; event: DeploymentProgress }
  | { type: 'started'; deployment: Deployment }
  | { type: 'completed'; deployment: Deployment }
  /** A deployment entered WAITING, or its gates changed while it waits (recorded first). */
  | { type: 'waiting'; deployment: Deployment }
  /** A webhook delivery was recorded (committed), whatever it came to. */
  | { type: 'webhook'; event: WebhookEventRecord }
  /**
   * The monitor saw an environment's health change (recorded first, with its notifications in
   * the same transaction: a bus event can be missed, a notification cannot). Subscriptions and
   * the dashboard listen here (onEnvironmentStatus).
   */
  | { type: 'environmentStatus'; change: EnvironmentStatusChange };

/**
 * A deployment this process wrote to the queue (PENDING, or SUPERSEDED at once when a push came
 * late), with the PENDING ones it replaced. Told to watchers only: other processes learn of new
 * work through the queue signal, and no subscription streams it.
 */
export interface QueuedEvent {
  type: 'queued';
  deployment: Deployment;
  superseded: readonly number[];
  /** The webhook delivery that queued it: its line in the log is the delivery's only one. */
  delivery?: { provider: string; deliveryId: string | null; event: number };
}

/** What a watcher hears: everything published by this process. */
export type LocalEvent = BusEvent | QueuedEvent;

type Listener<T> = (value: T) => void;

export class EventBus {
  readonly #progress = new Map<string, Set<Listener<DeploymentProgress>>>();
  readonly #started = new Set<Listener<Deployment>>();
  readonly #completed = new Set<Listener<Deployment>>();
  readonly #waiting = new Set<Listener<Deployment>>();
  readonly #webhooks = new Set<Listener<WebhookEventRecord>>();
  readonly #environmentStatus = new Set<Listener<EnvironmentStatusChange>>();
  /** Called for every event published here (not for those relayed from elsewhere). */
  #relay: Listener<BusEvent> | undefined;
  readonly #watchers = new Set<Listener<LocalEvent>>();

  publish(event: LocalEvent, options: { relayed?: boolean } = {}): void {
    switch (event.type) {
      case 'queued':
        break;
      case 'progress':
        for (const listener of this.#progress.get(event.event.deploymentId) ?? []) listener(event.event);
        break;
      case 'started':
        for (const listener of this.#started) listener(event.deployment);
        break;
      case 'completed':
        for (const listener of this.#completed) listener(event.deployment);
        break;
      case 'waiting':
        for (const listener of this.#waiting) listener(event.deployment);
        break;
      case 'webhook':
        for (const listener of this.#webhooks) listener(event.event);
        break;
      case 'environmentStatus':
        for (const listener of this.#environmentStatus) listener(event.change);
        break;
    }
    if (options.relayed) return;
    for (const watcher of this.#watchers) watcher(event);
    if (event.type !== 'queued') this.#relay?.(event);
  }

  /**
   * Hears every event this process publishes (not those relayed from others: their own process
   * tells of them). A watcher is not a subscriber: it does not make the relay read other
   * processes' events back, nor `announceCompleted` read deployments back.
   */
  watch(listener: Listener<LocalEvent>): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  /** Sends every locally published event on (e.g. to other instances). */
  setRelay(relay: Listener<BusEvent> | undefined): void {
    this.#relay = relay;
  }

  onProgress(deploymentId: string, listener: Listener<DeploymentProgress>): () => void {
    let listeners = this.#progress.get(deploymentId);
    if (!listeners) this.#progress.set(deploymentId, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.#progress.delete(deploymentId);
    };
  }

  onStarted(listener: Listener<Deployment>): () => void {
    this.#started.add(listener);
    return () => this.#started.delete(listener);
  }

  onCompleted(listener: Listener<Deployment>): () => void {
    this.#completed.add(listener);
    return () => this.#completed.delete(listener);
  }

  onWaiting(listener: Listener<Deployment>): () => void {
    this.#waiting.add(listener);
    return () => this.#waiting.delete(listener);
  }

  onWebhook(listener: Listener<WebhookEventRecord>): () => void {
    this.#webhooks.add(listener);
    return () => this.#webhooks.delete(listener);
  }

  onEnvironmentStatus(listener: Listener<EnvironmentStatusChange>): () => void {
    this.#environmentStatus.add(listener);
    return () => this.#environmentStatus.delete(listener);
  }

  /** Whether a `completed` event would reach anyone (here or, through the relay, elsewhere). */
  get wantsCompleted(): boolean {
    return this.#completed.size > 0 || this.#relay !== undefined;
  }

  /** Whether an event of this type (for this deployment, for progress) would reach a listener in this process. */
  listensHere(type: BusEvent['type'], deploymentId: string): boolean {
    if (type === 'progress') return this.progressListenerCount(deploymentId) > 0;
    if (type === 'webhook') return this.#webhooks.size > 0;
    if (type === 'environmentStatus') return this.#environmentStatus.size > 0;
    if (type === 'waiting') return this.#waiting.size > 0;
    return (type === 'started' ? this.#started : this.#completed).size > 0;
  }

  /** Subscribers of one deployment's progress. */
  progressListenerCount(deploymentId: string): number {
    return this.#progress.get(deploymentId)?.size ?? 0;
  }

  /** Subscribers currently listening (for metrics). */
  get listenerCount(): number {
    let count = this.#started.size + this.#completed.size + this.#waiting.size + this.#webhooks.size;
    for (const set of this.#progress.values()) count += set.size;
    return count;
  }
}
