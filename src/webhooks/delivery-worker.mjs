// The delivery worker's entry point: the TypeScript sources run through tsx's loader, as in
// bin/fraisier.js (no build step).
import { register } from 'tsx/esm/api';

register();
await import('./delivery-worker.ts');
