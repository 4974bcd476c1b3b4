/*
 * Hand-written rather than over graphql-yoga's Repeater: the Repeater version was longer (it
 * still needed the replay bound, `drained` and `finished` around it) and slower per event
 * (docs/performance.md, "Event channel").
 */

/**
 * A push-to-pull queue: producers `push`, one consumer iterates. It ends on `close` (after the
 * consumer drained what was pushed), on `fail` (the consumer's next read throws), on the
 * consumer's `return` (a `break`), or when the signal aborts. `onDispose` runs exactly once,
 * as soon as nothing more can be pushed, to unsubscribe from whatever fed the channel.
 */
export interface Channel<T> extends AsyncIterableIterator<T> {
  /** `bounded: false` ignores maxBuffer (a replay, bounded by what was recorded). */
  push(value: T, bounded?: boolean): void;
  close(): void;
  fail(error: unknown): void;
  readonly ended: boolean;
  /** Values pushed and not read yet. */
  readonly buffered: number;
  /** Settles once the consumer has seen the end (or stopped reading). */
  readonly finished: Promise<void>;
  /** Resolves once the consumer has taken every value pushed so far, or the channel ended. */
  drained(): Promise<void>;
}

/** A consumer fell more than `maxBuffer` values behind: it is dropped rather than buffered. */
export class SlowConsumerError extends Error {
  constructor(readonly limit: number) {
    super(`subscriber too slow: more than ${limit} events waiting`);
    this.name = 'SlowConsumerError';
  }
}

export interface ChannelOptions {
  signal?: AbortSignal;
  onDispose?: () => void;
  /** A consumer this far behind fails with "too slow" instead of growing memory without bound. */
  maxBuffer?: number;
  /** Called when the consumer fell `maxBuffer` behind (the transport may cut it off). */
  onOverflow?: () => void;
}

export function createChannel<T>(options: ChannelOptions = {}): Channel<T> {
  const queue: T[] = [];
  /** Which queued values count against maxBuffer (replayed ones do not). */
  const counted: boolean[] = [];
  let countedLength = 0;
  let waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  let ended = false;
  let pendingError: { error: unknown } | undefined;
  let disposed = false;
  let markFinished!: () => void;
  const finished = new Promise<void>((resolve) => (markFinished = resolve));
  let drainWaiters: (() => void)[] = [];
  const wakeDrainWaiters = () => {
    const waiting = drainWaiters;
    drainWaiters = [];
    for (const wake of waiting) wake();
  };

  const dispose = () => {
    wakeDrainWaiters();
    if (disposed) return;
    disposed = true;
    options.signal?.removeEventListener('abort', stop);
    options.onDispose?.();
  };
  const takeWaiter = () => {
    const current = waiter;
    waiter = undefined;
    return current;
  };
  function stop() {
    ended = true;
    queue.length = 0;
    counted.length = 0;
    countedLength = 0;
    pendingError = undefined;
    takeWaiter()?.resolve({ value: undefined, done: true });
    dispose();
    markFinished();
  }

  const channel: Channel<T> = {
    push(value, bounded = true) {
      if (ended) return;
      const current = takeWaiter();
      if (current) return current.resolve({ value, done: false });
      if (bounded && options.maxBuffer !== undefined && countedLength >= options.maxBuffer) {
        channel.fail(new SlowConsumerError(options.maxBuffer));
        options.onOverflow?.();
        return;
      }
      queue.push(value);
      counted.push(bounded);
      if (bounded) countedLength++;
    },
    close() {
      if (ended) return;
      ended = true;
      takeWaiter()?.resolve({ value: undefined, done: true });
      dispose();
    },
    fail(error) {
      if (ended) return;
      ended = true;
      queue.length = 0;
      counted.length = 0;
      countedLength = 0;
      const current = takeWaiter();
      if (current) {
        current.reject(error);
        markFinished();
      } else pendingError = { error };
      dispose();
    },
    get ended() {
      return ended;
    },
    get buffered() {
      return queue.length;
    },
    finished,
    drained() {
      if (queue.length === 0 || ended) return Promise.resolve();
      return new Promise<void>((resolve) => drainWaiters.push(resolve));
    },
    next() {
      if (queue.length > 0) {
        if (counted.shift()) countedLength--;
        const value = queue.shift()!;
        if (queue.length === 0) wakeDrainWaiters();
        return Promise.resolve({ value, done: false });
      }
      if (pendingError) {
        const { error } = pendingError;
        pendingError = undefined;
        markFinished();
        return Promise.reject(error);
      }
      if (ended) {
        markFinished();
        return Promise.resolve({ value: undefined, done: true });
      }
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject };
      });
    },
    return() {
      stop();
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(error) {
      stop();
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return channel;
    },
  };
  if (options.signal?.aborted) stop();
  else options.signal?.addEventListener('abort', stop, { once: true });
  return channel;
}
