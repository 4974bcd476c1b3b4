// A tiny HTTP service for deployment tests: it reports the version in ./VERSION, and its
// /health answers 500 when ./UNHEALTHY exists in the release it runs from.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const version = readFileSync(new URL('./VERSION', import.meta.url), 'utf8').trim();
const unhealthy = existsSync(new URL('./UNHEALTHY', import.meta.url));
const port = Number(process.env.PORT);

createServer((request, response) => {
  if (request.url === '/health') {
    response.writeHead(unhealthy ? 500 : 200, { 'content-type': 'text/plain' });
    response.end(unhealthy ? 'broken' : 'ok');
  } else if (request.url === '/version') {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end(version);
  } else {
    response.writeHead(404);
    response.end();
  }
}).listen(port, '127.0.0.1');
