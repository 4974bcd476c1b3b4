// A delivery worker that takes deliveries and dies before answering any (delivery-worker.test.ts).
import { parentPort } from 'node:worker_threads';

parentPort.postMessage({ ready: true });
parentPort.on('message', () => setTimeout(() => process.exit(7), 50));
