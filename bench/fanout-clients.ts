// The subscribers of the fan-out benchmark, in a process of their own: N graphql-ws clients on
// one deployment's progress (or N plain ws clients on the reference). Each records when every
// event arrives; per event, the delivery to the LAST subscriber is what counts.
import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';
import { readInput } from './lib/processes.js';

interface Input {
  mode: 'fraisier' | 'reference';
  url: string;
  clients: number;
  deploymentId?: string;
  /**
   * Created once every client is subscribed (fraisier: to let the deployment go on) or connected
   * (reference: right before it is told to broadcast).
   */
  gate?: string;
  /** reference: how many messages, how often. */
  count?: number;
  intervalMs?: number;
}

const input = await readInput<Input>();
const now = () => performance.timeOrigin + performance.now();
const received: { sequence: number; at: number; sentAt: number }[][] = Array.from({ length: input.clients }, () => []);
let ordered = true;
/** Events published from this instant on were live for every client. */
let liveFrom = 0;

if (input.mode === 'reference') {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < input.clients; i++) {
    const socket = new WebSocket(input.url.replace('http', 'ws'));
    await new Promise((resolve) => socket.once('open', resolve));
    sockets.push(socket);
  }
  const done = sockets.map(
    (socket, i) =>
      new Promise<void>((resolve) =>
        socket.on('message', (data) => {
          const message = JSON.parse(String(data));
          if (message.done) return resolve();
          received[i]!.push({ sequence: message.sequence, at: now(), sentAt: message.sentAt });
        }),
      ),
  );
  if (input.gate) writeFileSync(input.gate, '');
  sockets[0]!.send(JSON.stringify({ count: input.count, intervalMs: input.intervalMs }));
  await Promise.all(done);
  for (const socket of sockets) socket.close();
} else {
  // The graphql-transport-ws protocol spoken directly (as light as the reference's clients).
  const query = `subscription { deploymentProgress(deploymentId: "${input.deploymentId}") { sequence timestamp } }`;
  let subscribed = 0;
  const done: Promise<void>[] = [];
  for (let i = 0; i < input.clients; i++) {
    const socket = new WebSocket(`${input.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    socket.send(JSON.stringify({ type: 'connection_init' }));
    let first = true;
    done.push(
      new Promise<void>((resolve, reject) => {
        socket.on('message', (data) => {
          const message = JSON.parse(String(data)) as { type: string; payload?: { data?: { deploymentProgress: { sequence: number; timestamp: string } } } };
          if (message.type === 'connection_ack') return socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
          if (message.type === 'complete') {
            socket.close();
            return resolve();
          }
          if (message.type !== 'next' || !message.payload?.data) return reject(new Error(`unexpected ${String(data).slice(0, 200)}`));
          const event = message.payload.data.deploymentProgress;
          const list = received[i]!;
          if (list.length && event.sequence !== list.at(-1)!.sequence + 1) ordered = false;
          list.push({ sequence: event.sequence, at: now(), sentAt: Date.parse(event.timestamp) });
          if (first) {
            first = false;
            if (++subscribed === input.clients && input.gate) {
              liveFrom = now();
              writeFileSync(input.gate, '');
            }
          }
        });
      }),
    );
  }
  await Promise.all(done);
}

// Per event: when the last subscriber got it, after it was published.
const latest = new Map<number, { last: number; sentAt: number; count: number }>();
for (const list of received) {
  for (const r of list) {
    const entry = latest.get(r.sequence) ?? { last: 0, sentAt: r.sentAt, count: 0 };
    entry.last = Math.max(entry.last, r.at);
    entry.count++;
    latest.set(r.sequence, entry);
  }
}
const sequences = [...latest.keys()].sort((a, b) => a - b);
const everyone = [...latest.values()].every((e) => e.count === input.clients);
const contiguous = sequences.every((s, i) => s === i + 1);
// Only live events count for latency (a replay was published before the clients came).
// Fraisier's timestamps have millisecond precision: floor the gate instant likewise.
const live = [...latest.values()].filter((e) => e.sentAt >= Math.floor(liveFrom)).map((e) => e.last - e.sentAt);
console.log(JSON.stringify({ events: sequences.length, everyone, ordered: ordered && contiguous, latencies: live }));
