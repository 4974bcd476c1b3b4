import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A local HTTP server standing in for a service (Slack, Discord, Teams, PagerDuty, a webhook
 * endpoint, a Git host's REST API). Each request is recorded; what it answers is scripted per
 * path: a list of answers used in turn ('hang' never answers), then `fallback` (or a handler).
 */

export interface Received {
  method: string;
  /** Path and query. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An answer (after `delayMs`, a slow service), or 'hang': none at all. */
export type Answer = { status: number; headers?: Record<string, string>; body?: string; delayMs?: number } | 'hang';

export interface Receiver {
  url: string;
  received: Received[];
  /** Answers for requests whose path (without query) is `path`, in turn. */
  script(path: string, answers: Answer[]): void;
  /** What a request gets when its path has no scripted answer left. */
  fallback: (request: Received) => Answer;
  /** Requests to one path. */
  to(path: string): Received[];
  close(): Promise<void>;
}

export async function startReceiver(fallback: (request: Received) => Answer = () => ({ status: 200, body: 'ok' })): Promise<Receiver> {
  const scripts = new Map<string, Answer[]>();
  const received: Received[] = [];
  const hanging = new Set<ServerResponse>();
  const receiver: Receiver = {
    url: '',
    received,
    script: (path, answers) => void scripts.set(path, [...answers]),
    fallback,
    to: (path) => received.filter((r) => r.url.split('?')[0] === path),
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry: Received = { method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(entry);
      const path = entry.url.split('?')[0]!;
      const answer = scripts.get(path)?.shift() ?? receiver.fallback(entry);
      if (answer === 'hang') {
        hanging.add(response);
        response.on('close', () => hanging.delete(response));
        return;
      }
      const send = () => {
        response.writeHead(answer.status, answer.headers ?? {});
        response.end(answer.body ?? '');
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}
