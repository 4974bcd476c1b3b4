import { connect, type Socket } from 'node:net';

/*
 * The benchmarks' HTTP/1.1 client: one keep-alive connection, one request at a time, requests
 * written as prebuilt bytes and answers read by content-length (every server measured here
 * frames its answers so). Lean on purpose: what it costs is counted in every latency it
 * measures and, on a 2-core machine, taken from the server under test. fetch (undici) added
 * about a millisecond per request here; autocannon rebuilds a request whose header changes.
 */

export interface Answer {
  status: number;
  body: Buffer;
}

/** The request line and headers of a request, up to the blank line (left for the caller). */
export function requestHead(url: URL, method: string, path: string, headers: Record<string, string>, bodyLength: number): Buffer {
  return Buffer.from(
    [
      `${method} ${path} HTTP/1.1`,
      `host: ${url.host}`,
      'connection: keep-alive',
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      ...(method !== 'GET' || bodyLength ? [`content-length: ${bodyLength}`] : []),
      '',
    ].join('\r\n'),
    'latin1',
  );
}

export class KeepAliveConnection {
  #socket: Socket | undefined;
  #buffered: Buffer = Buffer.alloc(0);
  /** Where the answer being read ends in #buffered; -1 while its head is incomplete. */
  #end = -1;
  #bodyStart = 0;
  #status = 0;
  #closeAfter = false;
  #pending: { resolve: (answer: Answer) => void; reject: (error: Error) => void } | undefined;

  constructor(private readonly url: URL) {}

  /** Sends a whole request (head, blank line, body) and resolves with its answer. */
  send(request: Buffer): Promise<Answer> {
    if (this.#pending) return Promise.reject(new Error('one request at a time on a connection'));
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      (this.#socket ?? this.#open()).write(request);
    });
  }

  /** Drops the connection; a request waiting on it fails (a timeout, say). */
  destroy(reason = 'connection closed'): void {
    this.#fail(new Error(reason));
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #open(): Socket {
    this.#buffered = Buffer.alloc(0);
    this.#end = -1;
    const socket = connect({ host: this.url.hostname, port: Number(this.url.port), noDelay: true });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.#socket === socket) this.#socket = undefined;
      this.#fail(new Error('the server closed the connection'));
    });
    this.#socket = socket;
    return socket;
  }

  #fail(error: Error): void {
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(error);
  }

  #onData(chunk: Buffer): void {
    this.#buffered = this.#buffered.length ? Buffer.concat([this.#buffered, chunk]) : chunk;
    if (this.#end < 0) {
      const headEnd = this.#buffered.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      // "HTTP/1.1 202 ...": the status is bytes 9 to 11.
      const b = this.#buffered;
      this.#status = (b[9]! - 48) * 100 + (b[10]! - 48) * 10 + (b[11]! - 48);
      const length = contentLength(b, headEnd);
      if (length < 0) return this.destroy(`an answer without content-length (HTTP ${this.#status})`);
      this.#closeAfter = headerAt(b, headEnd, 'connection: close') >= 0;
      this.#bodyStart = headEnd + 4;
      this.#end = this.#bodyStart + length;
    }
    if (this.#buffered.length < this.#end) return;
    const answer = { status: this.#status, body: this.#buffered.subarray(this.#bodyStart, this.#end) };
    this.#buffered = this.#buffered.subarray(this.#end);
    this.#end = -1;
    if (this.#closeAfter) {
      this.#socket?.destroy();
      this.#socket = undefined;
    }
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.resolve(answer);
  }
}

/** Where `line` (lower case) starts in the head, or -1. */
function headerAt(buffer: Buffer, headEnd: number, line: string): number {
  const at = buffer.indexOf(`\r\n${line}`, 0, 'latin1');
  if (at >= 0 && at < headEnd) return at;
  // Servers that capitalise header names (rare here): the slow way.
  const head = buffer.toString('latin1', 0, headEnd).toLowerCase();
  return head.indexOf(`\r\n${line}`);
}

function contentLength(buffer: Buffer, headEnd: number): number {
  const at = headerAt(buffer, headEnd, 'content-length:');
  if (at < 0) return -1;
  let value = 0;
  let i = at + 17;
  while (buffer[i] === 32) i++;
  const start = i;
  for (; buffer[i]! >= 48 && buffer[i]! <= 57; i++) value = value * 10 + buffer[i]! - 48;
  return i > start ? value : -1;
}
