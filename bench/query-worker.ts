// A load process for latency benchmarks: sends each query `count` times, one after the other
// on one keep-alive connection, after a warm-up, and answers the latencies in milliseconds.
import { KeepAliveConnection, requestHead } from './lib/http-client.js';
import { readInput } from './lib/processes.js';

interface Input {
  url: string;
  warmup: number;
  count: number;
  queries: { name: string; path: string; body?: string }[];
}

const input = await readInput<Input>();
const samples: Record<string, number[]> = {};
const url = new URL(input.url);
const connection = new KeepAliveConnection(url);
for (const query of input.queries) {
  const body = Buffer.from(query.body ?? '', 'utf8');
  const headers: Record<string, string> = query.body ? { 'content-type': 'application/json' } : {};
  const request = Buffer.concat([requestHead(url, query.body ? 'POST' : 'GET', query.path, headers, body.length), Buffer.from('\r\n'), body]);
  const send = async () => {
    const { status, body: answer } = await connection.send(request);
    const text = answer.toString('utf8');
    if (status !== 200 || text.includes('"errors"')) throw new Error(`${query.name}: HTTP ${status} ${text.slice(0, 300)}`);
  };
  for (let i = 0; i < input.warmup; i++) await send();
  const times: number[] = [];
  for (let i = 0; i < input.count; i++) {
    const start = performance.now();
    await send();
    times.push(performance.now() - start);
  }
  samples[query.name] = times;
}
connection.destroy();
console.log(JSON.stringify(samples));
