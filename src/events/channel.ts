// graphql-yoga's own Repeater (@repeaterjs/repeater), re-exported by it.
import { Repeater, type RepeaterBuffer } from 'graphql-yoga';

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

/**
 * The repeater's buffer: never full (the cap is maxBuffer, enforced by failing the channel, not
 * by making producers wait), and it knows which values count against the cap.
 */
class ChannelBuffer implements RepeaterBuffer {
  readonly #values: unknown[] = [];
  readonly #counted: boolean[] = [];
  #drainWaiters: (() => void)[] = [];
  countedLength = 0;
  /** Whether the next value added counts against maxBuffer. */
  nextBounded = true;

  get empty(): boolean {
    return this.#values.length === 0;
  }
  get full(): boolean {
    return false;
  }
  get length(): number {
    return this.#values.length;
  }
  add(value: unknown): void {
    this.#values.push(value);
    this.#counted.push(this.nextBounded);
    if (this.nextBounded) this.countedLength++;
  }
  remove(): unknown {
    if (this.#counted.shift()) this.countedLength--;
    const value = this.#values.shift();
    if (this.#values.length === 0) this.wakeDrainWaiters();
    return value;
  }
  clear(): void {
    this.#values.length = 0;
    this.#counted.length = 0;
    this.countedLength = 0;
    this.wakeDrainWaiters();
  }
  drained(): Promise<void> {
    return new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
  }
  wakeDrainWaiters(): void {
    const waiting = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiting) wake();
  }
}

/**
 * A channel over a Repeater. The repeater starts on the consumer's first read; what is pushed
 * before goes straight into its buffer, and an end asked for before is passed on when it starts.
 */
export function createChannel<T>(options: ChannelOptions = {}): Channel<T> {
  const buffer = new ChannelBuffer();
  let push: ((value: T) => Promise<unknown>) | undefined;
  let stop: ((error?: unknown) => void) | undefined;
  /** The end asked for before the repeater started. */
  let endWith: { error?: unknown } | undefined;
  let ended = false;
  let disposed = false;
  let markFinished!: () => void;
  const finished = new Promise<void>((resolve) => (markFinished = resolve));

  const repeater = new Repeater<T>((p, s) => {
    push = p;
    stop = s;
    if (endWith) s(endWith.error);
  }, buffer);

  const dispose = () => {
    buffer.wakeDrainWaiters();
    if (disposed) return;
    disposed = true;
    options.signal?.removeEventListener('abort', abort);
    options.onDispose?.();
  };
  /** Ends the repeater: after what is buffered (close), or at once with `error` (fail). */
  const end = (error?: unknown) => {
    ended = true;
    if (stop) stop(error);
    else endWith = error === undefined ? {} : { error };
    dispose();
  };
  function abort() {
    if (ended) return;
    buffer.clear();
    end();
    markFinished();
  }
  const settle = <R>(result: Promise<R>): Promise<R> =>
    result.then(
      (r) => {
        if ((r as IteratorResult<T>).done) markFinished();
        return r;
      },
      (error: unknown) => {
        markFinished();
        throw error;
      },
    );

  /** The consumer's `return` (a `break`): what is buffered is dropped. */
  function stopReading(): Promise<IteratorResult<T>> {
    ended = true;
    dispose();
    markFinished();
    return repeater.return() as Promise<IteratorResult<T>>;
  }

  const channel: Channel<T> = {
    push(value, bounded = true) {
      if (ended) return;
      if (bounded && options.maxBuffer !== undefined && buffer.countedLength >= options.maxBuffer) {
        channel.fail(new SlowConsumerError(options.maxBuffer));
        options.onOverflow?.();
        return;
      }
      buffer.nextBounded = bounded;
      if (push) void push(value);
      else buffer.add(value);
    },
    close() {
      if (!ended) end();
    },
    fail(error) {
      if (ended) return;
      buffer.clear();
      end(error);
    },
    get ended() {
      return ended;
    },
    get buffered() {
      return buffer.length;
    },
    finished,
    drained() {
      if (buffer.empty || ended) return Promise.resolve();
      return buffer.drained();
    },
    next() {
      return settle(repeater.next());
    },
    return: stopReading,
    throw(error) {
      void stopReading();
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return channel;
    },
  };
  if (options.signal?.aborted) abort();
  else options.signal?.addEventListener('abort', abort, { once: true });
  return channel;
}
