// A load process for latency benchmarks: sends each query `count` times, one after the other
// (keep-alive), after a warm-up, and answers the latencies in milliseconds.
import { readInput } from './lib/processes.js';

interface Input {
  url: string;
  warmup: number;
  count: number;
  queries: { name: string; path: string; body?: string }[];
}

const input = await readInput<Input>();
const samples: Record<string, number[]> = {};
for (const query of input.queries) {
  const send = async () => {
    const response = await fetch(`${input.url}${query.path}`, {
      method: query.body ? 'POST' : 'GET',
      headers: query.body ? { 'content-type': 'application/json' } : {},
      ...(query.body ? { body: query.body } : {}),
    });
    const text = await response.text();
    if (response.status !== 200 || text.includes('"errors"')) throw new Error(`${query.name}: HTTP ${response.status} ${text.slice(0, 300)}`);
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
console.log(JSON.stringify(samples));
