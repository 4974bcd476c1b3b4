import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { DeliveryWorkerMode, EnvironmentConfig, FraisierConfig } from '../config/types.js';
import { fromPortable, type WorkerBatch, type WorkerReply, type WorkerRequest } from './delivery-port.js';
import { type PrepareInput, type PrepareOptions, type Prepared, prepareDelivery } from './prepare-delivery.js';
import { findEnvironment } from './routing.js';

/*
 * Where deliveries are verified, read and routed. On the thread that answers requests while
 * deliveries come one at a time; once they arrive in bursts (several in flight at once), a
 * worker thread takes that CPU work (the HMAC, JSON.parse of the payload, routing) to another
 * core, and the main thread keeps HTTP, the store write and the answer. Deliveries for
 * providers registered in code, and from API callers limited to some fraises, stay on the main
 * thread (functions do not cross threads). Should the worker fail, what it held is prepared on
 * the main thread and nothing is lost; later deliveries stay there too.
 */

/** Deliveries in flight at once that start the worker (`auto`). */
const AUTO_START_IN_FLIGHT = 8;

export interface DeliveryPreparer {
  /** `inFlight`: deliveries being processed at once, this one included (it decides `auto`). */
  prepare(options: PrepareOptions, input: PrepareInput, inFlight: number): Promise<Prepared>;
  /** Lets what the worker holds finish, then ends it. */
  close(): Promise<void>;
}

export interface DeliveryPreparerOptions {
  config: FraisierConfig;
  logger: Logger;
  /** `auto` (default): a worker once deliveries overlap, on a machine with more than one core. */
  mode?: DeliveryWorkerMode;
  /** The worker's script (tests start one that fails). */
  workerUrl?: URL;
  /** close() waits this long for the worker's answers, then prepares what it held on this thread. */
  closeTimeoutMs?: number;
}

interface Pending {
  options: PrepareOptions;
  input: PrepareInput;
  resolve: (prepared: Prepared) => void;
  reject: (error: unknown) => void;
}

function inThread(pending: Pending): void {
  try {
    pending.resolve(prepareDelivery(pending.options, pending.input));
  } catch (error) {
    pending.reject(error);
  }
}

export function createDeliveryPreparer({ config, logger, mode = 'auto', workerUrl, closeTimeoutMs = 5_000 }: DeliveryPreparerOptions): DeliveryPreparer {
  const enabled = mode === 'always' || (mode === 'auto' && availableParallelism() > 1);
  const environment = (fraise: string, name: string): EnvironmentConfig => {
    const found = findEnvironment(config, fraise, name);
    if (!found) throw new Error(`the delivery worker routed to an environment the configuration does not have: ${fraise}/${name}`);
    return found;
  };

  let worker: Worker | undefined;
  let ready = false;
  let failed = false;
  let closed = false;
  let nextId = 1;
  const pending = new Map<number, Pending>();
  let drained: (() => void) | undefined;
  /** Deliveries of this turn, sent together once the event loop has read what else arrived. */
  let outbox: WorkerRequest[] = [];
  let moved: ArrayBuffer[] = [];

  const settle = (id: number): Pending | undefined => {
    const found = pending.get(id);
    pending.delete(id);
    if (pending.size === 0) drained?.();
    return found;
  };

  const fail = (error: Error) => {
    if (failed || closed) return;
    failed = true;
    logger.error({ err: error, deliveries: pending.size }, 'the delivery worker failed: deliveries are verified on the main thread from now on');
    const held = [...pending.values()];
    pending.clear();
    for (const p of held) inThread(p);
    drained?.();
    void worker?.terminate();
  };

  /** Sends this turn's deliveries in one message. */
  const send = () => {
    const batch = outbox;
    const transfer = moved;
    outbox = [];
    moved = [];
    if (batch.length === 0) return;
    if (worker && !failed) {
      try {
        worker.postMessage({ batch } satisfies WorkerBatch, transfer);
        return;
      } catch {
        // Something in them cannot be copied to the worker: prepared here instead.
      }
    }
    // A worker that failed since has prepared here what it held already (settle finds nothing).
    for (const request of batch) {
      const held = settle(request.id);
      if (held) inThread(held);
    }
  };

  const start = () => {
    try {
      worker = new Worker(workerUrl ?? new URL('./delivery-worker.mjs', import.meta.url), { workerData: { config } });
    } catch (error) {
      // A configuration that cannot be copied to a thread, no thread to start: the main thread it is.
      failed = true;
      logger.error({ err: error }, 'the delivery worker could not start: deliveries are verified on the main thread');
      return;
    }
    // Idle, it keeps nothing alive; close() ends it.
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      if ('ready' in reply) {
        ready = true;
        logger.info('webhook deliveries are verified on a worker thread');
        return;
      }
      for (const answer of reply.answers) {
        const p = settle(answer.id);
        if (!p) continue;
        // Whatever went wrong there goes wrong here too, and is answered as it would have been.
        if ('error' in answer) {
          inThread(p);
          continue;
        }
        try {
          p.resolve(fromPortable(answer.prepared, p.input.text, environment));
        } catch (error) {
          p.reject(error);
        }
      }
    });
    worker.on('error', (error) => fail(error));
    worker.on('exit', (code) => fail(new Error(`the delivery worker exited with code ${code}`)));
  };

  return {
    prepare(options, input, inFlight) {
      const usable = enabled && !failed && !closed;
      if (usable && !worker && (mode === 'always' || inFlight >= AUTO_START_IN_FLIGHT)) start();
      // Until it is ready (`auto`), deliveries do not wait for it to load.
      const offload = usable && worker && (ready || mode === 'always') && !options.resolved.custom && !options.mayDeploy;
      return new Promise<Prepared>((resolve, reject) => {
        if (!offload) return inThread({ options, input, resolve, reject });
        // A copy of exactly the body's bytes (a Buffer may sit in a larger pool), moved, not cloned.
        const body = new Uint8Array(input.body);
        const request: WorkerRequest = {
          id: nextId++,
          provider: options.resolved.storedName,
          body,
          headers: input.headers,
          signature: input.signature,
          event: input.event,
          deliveryId: input.deliveryId,
          sourceIp: input.sourceIp,
          now: input.now.getTime(),
        };
        if (!input.textIsBody) request.text = input.text;
        pending.set(request.id, { options, input, resolve, reject });
        outbox.push(request);
        moved.push(body.buffer);
        if (outbox.length === 1) setImmediate(send);
      });
    },

    async close() {
      if (closed) return;
      if (pending.size && !failed) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (drained = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, closeTimeoutMs))),
        ]);
        clearTimeout(timer);
      }
      closed = true;
      // A worker that did not answer in time: what it still holds is prepared here.
      const held = [...pending.values()];
      pending.clear();
      for (const p of held) inThread(p);
      await worker?.terminate();
    },
  };
}
