import { parentPort, workerData } from 'node:worker_threads';
import type { FraisierConfig } from '../config/types.js';
import { type WorkerAnswer, type WorkerBatch, type WorkerReply, type WorkerRequest, toPortable } from './delivery-port.js';
import { prepareDelivery } from './prepare-delivery.js';
import { createGitProviderRegistry } from './registry.js';
import { type ProviderSecrets, providerSecrets } from './verify-delivery.js';

/*
 * The delivery worker: verifies, reads and routes deliveries off the thread that answers
 * requests (see delivery-preparer.ts). It holds a copy of the configuration and the built-in
 * providers only; it never touches the store.
 */

const port = parentPort;
if (!port) throw new Error('delivery-worker.ts runs as a worker thread');
const config = (workerData as { config: FraisierConfig }).config;
const registry = createGitProviderRegistry();
const secrets = new Map<string, ProviderSecrets>();

function answer(request: WorkerRequest): WorkerAnswer {
  try {
    const resolved = registry.resolve(request.provider);
    if (!resolved) throw new Error(`the delivery worker has no provider ${request.provider}`);
    let known = secrets.get(resolved.storedName);
    if (!known) secrets.set(resolved.storedName, (known = providerSecrets(config, resolved)));
    const body = Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
    const text = request.text ?? body.toString('utf8');
    const prepared = prepareDelivery(
      { config, resolved, secrets: known },
      { body, text, headers: request.headers, signature: request.signature, event: request.event, deliveryId: request.deliveryId, sourceIp: request.sourceIp, now: new Date(request.now) },
    );
    return { id: request.id, prepared: toPortable(prepared, text) };
  } catch (error) {
    return { id: request.id, error: error instanceof Error ? error.message : String(error) };
  }
}

port.on('message', ({ batch }: WorkerBatch) => {
  port.postMessage({ answers: batch.map(answer) } satisfies WorkerReply);
});
port.postMessage({ ready: true } satisfies WorkerReply);
