// The load generator of the HTTP benchmarks, in a process of its own: autocannon with N
// connections for D seconds; a header can carry a unique value per request (delivery ids).
import autocannon from 'autocannon';
import { readInput } from './lib/processes.js';

interface Input {
  url: string;
  path: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  connections: number;
  seconds: number;
  /** This header gets `<prefix>-<n>`, n unique per request. */
  uniqueHeader?: { name: string; prefix: string };
  /** Report the delivery ids that 2xx answers name (`"deliveryId":"..."` in the body). */
  collectDeliveryIds?: boolean;
}

const input = await readInput<Input>();
let counter = 0;
// The load stops with requests in flight: what the server recorded for those was never
// answered, so the check is on what was answered, not on counts.
const acknowledged: string[] = [];
const DELIVERY_ID = /"deliveryId":"([^"]+)"/;
const result = await autocannon({
  url: input.url,
  connections: input.connections,
  duration: input.seconds,
  pipelining: 1,
  requests: [
    {
      method: input.method,
      path: input.path,
      headers: input.headers,
      ...(input.body !== undefined ? { body: input.body } : {}),
      ...(input.uniqueHeader
        ? {
            setupRequest: (request: autocannon.Request) => {
              request.headers = { ...request.headers, [input.uniqueHeader!.name]: `${input.uniqueHeader!.prefix}-${++counter}` };
              return request;
            },
          }
        : {}),
      ...(input.collectDeliveryIds
        ? {
            onResponse: (status: number, body: string) => {
              const id = status >= 200 && status < 300 ? DELIVERY_ID.exec(body)?.[1] : undefined;
              if (id) acknowledged.push(id);
            },
          }
        : {}),
    },
  ],
});
console.log(
  JSON.stringify({
    rps: result.requests.average,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    ...(input.collectDeliveryIds ? { acknowledged } : {}),
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, (s as { count: number }).count])),
  }),
);
