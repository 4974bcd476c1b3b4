// A tiny HTTP service for deployment tests: it reports the version in ./VERSION, and its
// /health answers 500 when ./UNHEALTHY exists in the release it runs from, or, when
// ./HEALTH_FAILS_AFTER holds a number N, from its (N+1)th check on (a release that passes its
// first checks and fails later), or when ./UNHEALTHY_ON names the host it runs on (FRAISIER_HOST,
// a rolling deployment's: one name per line). When ./FAILS_REQUESTS exists, /version answers 500
// while /health passes (a canary that fails its users). It listens on FRAISIER_PORT (a blue-green
// slot's, a rolling host's) or PORT, and on SIGTERM answers what it is answering, then exits.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const version = readFileSync(new URL('./VERSION', import.meta.url), 'utf8').trim();
const unhealthyOn = new URL('./UNHEALTHY_ON', import.meta.url);
const unhealthy =
  existsSync(new URL('./UNHEALTHY', import.meta.url)) ||
  (existsSync(unhealthyOn) && readFileSync(unhealthyOn, 'utf8').split('\n').some((line) => line.trim() !== '' && line.trim() === process.env.FRAISIER_HOST));
const failsAfterFile = new URL('./HEALTH_FAILS_AFTER', import.meta.url);
const failsAfter = existsSync(failsAfterFile) ? Number(readFileSync(failsAfterFile, 'utf8')) : Infinity;
const failsRequests = existsSync(new URL('./FAILS_REQUESTS', import.meta.url));
const port = Number(process.env.FRAISIER_PORT ?? process.env.PORT);
let checks = 0;

const server = createServer((request, response) => {
  if (request.url === '/health') {
    checks += 1;
    const ok = !unhealthy && checks <= failsAfter;
    response.writeHead(ok ? 200 : 500, { 'content-type': 'text/plain' });
    response.end(ok ? 'ok' : 'broken');
  } else if (request.url === '/version') {
    response.writeHead(failsRequests ? 500 : 200, { 'content-type': 'text/plain' });
    response.end(version);
  } else {
    response.writeHead(404);
    response.end();
  }
}).listen(port, '127.0.0.1');

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5_000).unref();
});
