// A delivery worker that takes deliveries and never answers (delivery-worker.test.ts).
import { parentPort } from 'node:worker_threads';

parentPort.postMessage({ ready: true });
parentPort.on('message', () => {});
