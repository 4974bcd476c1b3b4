import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult, type GraphQLError, print } from 'graphql';
import { isAsyncIterable, isPromise, mapAsyncIterator, type Plugin } from 'graphql-yoga';
import type { GraphQLContext } from '../../../schema/context.js';
import { principalName } from '../../auth/principal.js';

/*
 * A thousand dashboards watching one deployment send the same subscription. Each event is
 * executed once per operation (same document, variables and principal, so that access checks
 * still apply per caller), its result masked and serialised once, and the same bytes go to every
 * subscriber of that operation. The bus hands every subscriber the same event object, which keys
 * the cache; the cache goes with the event.
 *
 * Over graphql-ws the transport gives each subscription a sink (`sendNext`): the events are
 * pushed into it here, rather than passed as results through the per-subscriber chain of async
 * iterators (envelop's result hooks, graphql-ws's loop and its serialisation of each message),
 * which cost several promises and objects per event per subscriber (docs/performance.md). The
 * iterator returned then yields nothing and ends when the stream ends (graphql-ws sends
 * "complete"), or throws when it fails (graphql-ws sends "error"). Elsewhere (SSE) the results
 * are yielded as usual.
 */

/** One event's result for every subscriber of one operation: executed, masked and serialised once. */
export class SharedResult {
  #json: string | undefined;
  #bytes: Map<string, Buffer> | undefined;

  constructor(readonly result: ExecutionResult) {}

  get json(): string {
    return (this.#json ??= JSON.stringify(this.result));
  }

  /**
   * Bytes made from the JSON once per `key` (e.g. a transport's message around it): subscribers
   * whose messages are the same share one buffer.
   */
  bytes(key: string, build: (json: string) => Buffer): Buffer {
    this.#bytes ??= new Map();
    let bytes = this.#bytes.get(key);
    if (!bytes) this.#bytes.set(key, (bytes = build(this.json)));
    return bytes;
  }
}

/**
 * Sends one event's result to one subscriber. Returns a promise when the subscriber must not be
 * given more until it settles (its socket is backed up); the events wait in its stream meanwhile.
 */
export type SubscriptionSink = (result: SharedResult) => Promise<void> | undefined;

/** What the transport puts in the context of a subscription it delivers itself. */
export interface SinkContext {
  sendNext?: SubscriptionSink;
}

export interface SharedSubscriptionOptions {
  /** The server's error masking: the results pushed to a sink skip envelop's result hooks. */
  maskError: (error: GraphQLError) => GraphQLError;
}

export function useSharedSubscriptionExecution(options: SharedSubscriptionOptions): Plugin<GraphQLContext & SinkContext> {
  const results = new WeakMap<object, Map<string, SharedResult | Promise<SharedResult>>>();
  const share = (result: ExecutionResult): SharedResult =>
    new SharedResult(result.errors ? { ...result, errors: result.errors.map(options.maskError) } : result);
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(async (args: ExecutionArgs) => {
        const source = await createSourceEventStream(args);
        if (!isAsyncIterable(source)) return source;
        const context = args.contextValue as (GraphQLContext & SinkContext) | undefined;
        const key = [
          print(args.document),
          args.operationName ?? '',
          JSON.stringify(args.variableValues ?? {}),
          context?.principal ? `${context.principal.kind}:${principalName(context.principal)}` : '',
        ].join('\u0000');
        const resultOf = (payload: unknown): SharedResult | Promise<SharedResult> => {
          const executed = (): SharedResult | Promise<SharedResult> => {
            const result = execute({ ...args, rootValue: payload });
            return isPromise(result) ? result.then(share) : share(result);
          };
          if (payload === null || typeof payload !== 'object') return executed();
          let byOperation = results.get(payload);
          if (!byOperation) results.set(payload, (byOperation = new Map()));
          let result = byOperation.get(key);
          if (!result) byOperation.set(key, (result = executed()));
          return result;
        };
        if (context?.sendNext) return new Pump(source, resultOf, context.sendNext);
        return mapAsyncIterator(source, (payload: unknown) => {
          const shared = resultOf(payload);
          return isPromise(shared) ? shared.then((s) => s.result) : shared.result;
        });
      });
    },
  };
}

const DONE: IteratorResult<never> = { done: true, value: undefined };

/**
 * Reads one subscriber's events and pushes their shared results into its sink, waiting when the
 * sink asks to. As an iterator it yields nothing: `next` settles when the stream ends or fails,
 * and `return` (the client completed, the socket closed) stops the stream at once.
 */
class Pump implements AsyncIterableIterator<never> {
  readonly #source: AsyncIterator<unknown>;
  #running: Promise<IteratorResult<never>> | undefined;
  #stopped = false;

  constructor(
    source: AsyncIterable<unknown>,
    private readonly resultOf: (payload: unknown) => SharedResult | Promise<SharedResult>,
    private readonly sink: SubscriptionSink,
  ) {
    this.#source = source[Symbol.asyncIterator]();
  }

  next(): Promise<IteratorResult<never>> {
    return (this.#running ??= this.#run());
  }

  async return(): Promise<IteratorResult<never>> {
    this.#stopped = true;
    await this.#source.return?.();
    return DONE;
  }

  async throw(error?: unknown): Promise<IteratorResult<never>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async #run(): Promise<IteratorResult<never>> {
    for (;;) {
      const step = await this.#source.next();
      if (step.done || this.#stopped) return DONE;
      let shared = this.resultOf(step.value);
      if (isPromise(shared)) shared = await shared;
      if (this.#stopped) return DONE;
      const wait = this.sink(shared);
      if (wait) await wait;
    }
  }
}
