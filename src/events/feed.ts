import { FINAL_STATUSES, type Deployment, type DeploymentProgress, type EnvironmentStatusChange, type WebhookEventRecord } from '../model.js';
import type { EventFeed, StreamOptions } from '../services/app-services.js';
import type { EventBus } from './bus.js';
import { type Channel, createChannel } from './channel.js';

/** Where the feed reads what was recorded before a subscriber arrived. */
export interface ProgressSource {
  /** At most `limit` events after `afterSequence`, in order. */
  progress(deploymentId: string, afterSequence: number, limit: number): Promise<DeploymentProgress[]>;
  /** The deployment's status, or undefined when there is no such deployment. */
  status(deploymentId: string): Promise<string | undefined>;
}

export interface FeedOptions {
  /** Events a subscriber may fall behind by before it is dropped. */
  maxBuffer?: number;
  /** Recorded events read from the store at once when replaying (default 1,000). */
  replayPage?: number;
}

const REPLAY_PAGE = 1_000;

/**
 * Subscriptions over the event bus. `progress` replays what the store recorded, then streams
 * live events, and completes when the deployment ends. The store is the truth: a gap in the
 * sequence (an event relayed late or lost) is filled from it, so a subscriber sees 1, 2, 3, ...
 * with no gap and no duplicate, however late it subscribed.
 */
export class DeploymentEventFeed implements EventFeed {
  readonly #streams = new Set<ProgressStream>();

  constructor(
    private readonly bus: EventBus,
    private readonly source: ProgressSource,
    private readonly options: FeedOptions = {},
  ) {}

  progress(deploymentId: string, stream: StreamOptions = {}): AsyncIterable<DeploymentProgress> {
    let unsubscribeProgress = () => {};
    let unsubscribeCompleted = () => {};
    const channel = createChannel<DeploymentProgress>({
      ...this.#bounds(stream),
      onDispose: () => {
        unsubscribeProgress();
        unsubscribeCompleted();
        this.#streams.delete(progress);
      },
    });
    const progress = new ProgressStream(deploymentId, channel, this.source, this.options.replayPage ?? REPLAY_PAGE);
    this.#streams.add(progress);
    unsubscribeProgress = this.bus.onProgress(deploymentId, (event) => progress.live(event));
    unsubscribeCompleted = this.bus.onCompleted((deployment) => {
      if (deployment.id === deploymentId) progress.ended();
    });
    progress.start();
    return channel;
  }

  /**
   * Waits (at most `timeoutMs`) until the streams of deployments that ended have delivered
   * their last events and completed: on shutdown, before sockets close.
   */
  async flush(timeoutMs: number): Promise<void> {
    const closing = [...this.#streams].map((s) => s.closing).filter((p): p is Promise<void> => p !== undefined);
    if (closing.length === 0) return;
    await Promise.race([Promise.all(closing), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    // The transport sends "complete" right after the consumer sees the end: let it write.
    await new Promise((resolve) => setImmediate(resolve));
  }

  started(stream: StreamOptions = {}, visible?: (d: Deployment) => boolean): AsyncIterable<Deployment> {
    return this.#deployments((listener) => this.bus.onStarted(listener), stream, visible);
  }

  completed(stream: StreamOptions = {}, visible?: (d: Deployment) => boolean): AsyncIterable<Deployment> {
    return this.#deployments((listener) => this.bus.onCompleted(listener), stream, visible);
  }

  waiting(stream: StreamOptions = {}, visible?: (d: Deployment) => boolean): AsyncIterable<Deployment> {
    return this.#deployments((listener) => this.bus.onWaiting(listener), stream, visible);
  }

  webhooks(stream: StreamOptions = {}): AsyncIterable<WebhookEventRecord> {
    return this.#live((listener) => this.bus.onWebhook(listener), stream);
  }

  environmentStatus(stream: StreamOptions = {}, visible?: (change: EnvironmentStatusChange) => boolean): AsyncIterable<EnvironmentStatusChange> {
    return this.#live((listener) => this.bus.onEnvironmentStatus(listener), stream, visible);
  }

  #bounds(stream: StreamOptions) {
    return {
      ...(stream.signal ? { signal: stream.signal } : {}),
      ...(this.options.maxBuffer !== undefined ? { maxBuffer: this.options.maxBuffer } : {}),
      ...(stream.onTooSlow ? { onOverflow: stream.onTooSlow } : {}),
    };
  }

  #deployments(
    subscribe: (listener: (d: Deployment) => void) => () => void,
    stream: StreamOptions,
    visible?: (d: Deployment) => boolean,
  ): AsyncIterable<Deployment> {
    return this.#live(subscribe, stream, visible);
  }

  /** Live values only, no replay: a subscriber that was away reads the list again. */
  #live<T>(subscribe: (listener: (value: T) => void) => () => void, stream: StreamOptions, visible?: (value: T) => boolean): AsyncIterable<T> {
    let unsubscribe = () => {};
    const channel = createChannel<T>({
      ...this.#bounds(stream),
      onDispose: () => unsubscribe(),
    });
    unsubscribe = subscribe((value) => {
      if (!visible || visible(value)) channel.push(value);
    });
    return channel;
  }
}

/** One subscriber's view of one deployment's progress. */
class ProgressStream {
  #last = 0;
  /** While reading the store, live events wait here (a page at most). */
  #held: DeploymentProgress[] | undefined = [];
  /** Live events were left out of #held: read them back from the store. */
  #reread = false;
  #endRequested = false;
  #catchingUp: Promise<void> | undefined;

  constructor(
    private readonly deploymentId: string,
    private readonly channel: Channel<DeploymentProgress>,
    private readonly source: ProgressSource,
    private readonly replayPage: number,
  ) {}

  start(): void {
    this.#catchingUp = this.#catchUp(true);
  }

  /** While the deployment has ended but its subscriber has not seen the end yet. */
  get closing(): Promise<void> | undefined {
    if (!this.#endRequested) return undefined;
    return Promise.all([this.#catchingUp, this.channel.finished]).then(() => {});
  }

  live(event: DeploymentProgress): void {
    if (this.#held) {
      // Every published event is recorded first: past a page, the store keeps them rather than us.
      if (this.#held.length < this.replayPage) this.#held.push(event);
      else this.#reread = true;
      return;
    }
    if (event.sequence <= this.#last) return;
    if (event.sequence === this.#last + 1) return this.#deliver(event);
    // A gap: the missing events are in the store.
    this.#held = [event];
    this.#catchingUp = this.#catchUp(false);
  }

  ended(): void {
    this.#endRequested = true;
    if (!this.#held) {
      this.#held = [];
      this.#catchingUp = this.#catchUp(false);
    }
  }

  #deliver(event: DeploymentProgress, bounded = true): void {
    this.#last = event.sequence;
    this.channel.push(event, bounded);
  }

  /**
   * Delivers what the store holds after the last event delivered, a page at a time: every read
   * waits until the subscriber has taken what it was given, so a replay of thousands of events
   * holds at most one page per subscriber.
   */
  async #replay(bounded: boolean): Promise<void> {
    for (;;) {
      await this.channel.drained();
      if (this.channel.ended) return;
      const page = await this.source.progress(this.deploymentId, this.#last, this.replayPage);
      for (const event of page) this.#deliver(event, bounded);
      if (page.length < this.replayPage) return;
    }
  }

  async #catchUp(first: boolean): Promise<void> {
    try {
      for (;;) {
        // What the store holds is delivered whatever its size; the buffer cap is for live events.
        await this.#replay(false);
        if (first) {
          first = false;
          const status = await this.source.status(this.deploymentId);
          if (status === undefined || FINAL_STATUSES.has(status as never)) this.#endRequested = true;
          // Events recorded between the two reads are in the store: read once more.
          continue;
        }
        const held = this.#held ?? [];
        this.#held = undefined;
        let gap = false;
        for (const event of held.sort((a, b) => a.sequence - b.sequence)) {
          if (event.sequence <= this.#last) continue;
          if (event.sequence !== this.#last + 1) {
            gap = true;
            break;
          }
          this.#deliver(event);
        }
        if (gap || this.#reread) {
          this.#reread = false;
          this.#held = [];
          continue;
        }
        if (this.#endRequested) {
          // Everything up to the end is recorded before the end is announced.
          await this.#replay(true);
          this.channel.close();
        }
        return;
      }
    } catch (error) {
      this.channel.fail(error);
    }
  }
}
