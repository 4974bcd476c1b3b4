// The client of the pickup benchmark, in a process of its own: a dashboard with a graphql-ws
// connection already open. Per run it sends a signed GitHub push, and as soon as the 202
// names the deployment, subscribes to its progress; it times webhook sent → 202 and webhook
// sent → first DeploymentProgress, then waits for the deployment to end before the next run.
// The reference: the same POST to a bare node:http server, round trip only.
import { createHmac } from 'node:crypto';
import WebSocket from 'ws';
import { readInput } from './lib/processes.js';

interface Input {
  mode: 'fraisier' | 'reference';
  url: string;
  body: string;
  secret?: string;
  runs: number;
}

interface Timing {
  accepted: number;
  firstProgress: number;
}

const input = await readInput<Input>();

/**
 * Run n's body: a push of a commit of its own (`after`, and `before` the previous run's), since
 * a push of a commit already queued or deployed queues nothing. Signed per run.
 */
function push(run: number): { body: string; signature: string } {
  const payload = JSON.parse(input.body) as { after?: string; before?: string; head_commit?: { id?: string } };
  const commit = (n: number) => `${process.pid.toString(16).padStart(8, '0')}${n.toString(16).padStart(32, '0')}`;
  payload.after = commit(run + 1);
  payload.before = commit(run);
  if (payload.head_commit) payload.head_commit.id = payload.after;
  const body = JSON.stringify(payload);
  return { body, signature: input.secret ? `sha256=${createHmac('sha256', input.secret).update(body).digest('hex')}` : '' };
}

async function post(path: string, delivery: string, run: number): Promise<{ status: number; text: string }> {
  const { body, signature } = push(run);
  const response = await fetch(`${input.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': delivery, 'x-hub-signature-256': signature, 'user-agent': 'GitHub-Hookshot/bench' },
    body,
  });
  return { status: response.status, text: await response.text() };
}

if (input.mode === 'reference') {
  const roundTrips: number[] = [];
  for (let run = 0; run < input.runs; run++) {
    const started = performance.now();
    await post('/', `reference-${run}`, run);
    roundTrips.push(performance.now() - started);
  }
  console.log(JSON.stringify({ roundTrips }));
} else {
  const socket = new WebSocket(`${input.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  type Message = { id?: string; type: string; payload?: unknown };
  const waiting = new Map<string, { next: () => void; complete: () => void; fail: (error: Error) => void }>();
  let acknowledged: () => void = () => {};
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as Message;
    if (message.type === 'connection_ack') return acknowledged();
    const subscriber = message.id ? waiting.get(message.id) : undefined;
    if (!subscriber) return;
    if (message.type === 'next') subscriber.next();
    else if (message.type === 'complete') subscriber.complete();
    else subscriber.fail(new Error(`unexpected ${String(data).slice(0, 300)}`));
  });
  await new Promise<void>((resolve) => {
    acknowledged = resolve;
    socket.send(JSON.stringify({ type: 'connection_init' }));
  });

  const timings: Timing[] = [];
  for (let run = 0; run < input.runs; run++) {
    const started = performance.now();
    const answer = await post('/webhook/github', `pickup-${process.pid}-${run}`, run);
    const accepted = performance.now() - started;
    if (answer.status !== 202) throw new Error(`the delivery was answered ${answer.status}: ${answer.text.slice(0, 300)}`);
    const id = (JSON.parse(answer.text) as { deployments: { id: string }[] }).deployments[0]!.id;
    const subscription = String(run);
    await new Promise<void>((resolve, reject) => {
      let first = true;
      waiting.set(subscription, {
        next: () => {
          if (!first) return;
          first = false;
          timings.push({ accepted, firstProgress: performance.now() - started });
        },
        complete: () => (first ? reject(new Error(`deployment ${id}: no progress before the end`)) : resolve()),
        fail: reject,
      });
      socket.send(JSON.stringify({ id: subscription, type: 'subscribe', payload: { query: `subscription { deploymentProgress(deploymentId: "${id}") { sequence step } }` } }));
    });
    waiting.delete(subscription);
  }
  socket.close();
  console.log(JSON.stringify({ timings }));
}
