import { Agent, request } from 'node:http';

/*
 * A steady stream of GET requests at a fixed total rate, for as long as it runs: half the
 * clients keep their connection alive, half open a new one per request. Each answer is
 * recorded with when its request started (performance.now()), its status and its body.
 *
 * A request written on a kept-alive connection that the server closes before answering anything
 * is sent again once on a new connection, as browsers and Go's net/http do (RFC 9112 §9.3.1:
 * a server may close an idle connection at any time, and a client cannot tell the close from a
 * lost request). nginx closes its idle connections when a reload retires its workers, and
 * `keepalive_min_timeout` (1.27.4), which avoids that race, is newer than Debian's nginx. Such
 * retries are counted, not hidden; any other error, and any status but 200, is a failure.
 */

export interface LoadRecord {
  /** performance.now() when the request was sent (its first attempt). */
  start: number;
  end: number;
  keepAlive: boolean;
  status: number;
  body: string;
  /** Why it failed (no answer), else null. */
  error: string | null;
  /** Sent again on a new connection after the kept-alive one closed unanswered. */
  retried: boolean;
}

export interface LoadSummary {
  total: number;
  failed: number;
  retried: number;
  /** "HTTP 502: 3", "ECONNREFUSED: 1": what failed, counted. */
  failures: Record<string, number>;
}

export class SteadyLoad {
  readonly records: LoadRecord[] = [];
  #running = false;
  #loops: Promise<void>[] = [];
  #agents: Agent[] = [];

  constructor(
    private readonly url: string,
    private readonly options: { ratePerSecond: number; clients: number } = { ratePerSecond: 100, clients: 8 },
  ) {}

  start(): void {
    this.#running = true;
    const interval = (1000 * this.options.clients) / this.options.ratePerSecond;
    for (let i = 0; i < this.options.clients; i++) {
      const keepAlive = i % 2 === 0;
      const agent = keepAlive ? new Agent({ keepAlive: true, maxSockets: 1 }) : undefined;
      if (agent) this.#agents.push(agent);
      // Staggered, so that the requests spread over each interval.
      this.#loops.push(this.#loop(agent, interval, (i * interval) / this.options.clients));
    }
  }

  async stop(): Promise<LoadRecord[]> {
    this.#running = false;
    await Promise.all(this.#loops);
    for (const agent of this.#agents) agent.destroy();
    return this.records.sort((a, b) => a.start - b.start);
  }

  summary(): LoadSummary {
    const failures: Record<string, number> = {};
    let failed = 0;
    for (const r of this.records) {
      if (r.error === null && r.status === 200) continue;
      failed += 1;
      const key = r.error ?? `HTTP ${r.status}`;
      failures[key] = (failures[key] ?? 0) + 1;
    }
    return { total: this.records.length, failed, retried: this.records.filter((r) => r.retried).length, failures };
  }

  async #loop(agent: Agent | undefined, interval: number, offset: number): Promise<void> {
    let next = performance.now() + offset;
    while (this.#running) {
      const wait = next - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (!this.#running) return;
      next = Math.max(next + interval, performance.now());
      this.records.push(await this.#send(agent));
    }
  }

  async #send(agent: Agent | undefined): Promise<LoadRecord> {
    const start = performance.now();
    const keepAlive = agent !== undefined;
    let retried = false;
    for (;;) {
      const answer = await get(this.url, agent);
      if (answer.error && answer.reusedUnanswered && !retried) {
        retried = true;
        continue;
      }
      return { start, end: performance.now(), keepAlive, status: answer.status, body: answer.body, error: answer.error, retried };
    }
  }
}

interface Answer {
  status: number;
  body: string;
  error: string | null;
  /** The error came on a reused connection before any byte of the answer. */
  reusedUnanswered: boolean;
}

function get(url: string, agent: Agent | undefined): Promise<Answer> {
  return new Promise((resolve) => {
    let answered = false;
    const req = request(url, { agent: agent ?? false, headers: agent ? {} : { connection: 'close' }, timeout: 10_000 }, (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString(), error: null, reusedUnanswered: false }));
      response.on('error', (error) => resolve({ status: 0, body: '', error: describe(error), reusedUnanswered: false }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', (error) => resolve({ status: 0, body: '', error: describe(error), reusedUnanswered: !answered && req.reusedSocket }));
    req.end();
  });
}

function describe(error: Error): string {
  return (error as NodeJS.ErrnoException).code ?? error.message;
}
