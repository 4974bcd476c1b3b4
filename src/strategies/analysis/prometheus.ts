import type { Measurement } from './verdict.js';

/*
 * The canary's figures from Prometheus, by instant queries (GET /api/v1/query, the HTTP API's
 * published answer: {"status": "success", "data": {"resultType": "vector" | "scalar", "result":
 * ...}}). Each query must come to one number: a scalar, or a vector of one sample (aggregate it
 * with sum(...)). An empty vector, NaN or ±Inf is "no figure": inconclusive, never a pass.
 */

export interface PrometheusSource {
  /** The server's base URL ("http://prometheus:9090"); the query path is added. */
  url: string;
  /** The canary's 5xx share over the window, 0..1 (e.g. sum(rate(..{code=~"5.."}[1m])) / sum(rate(..[1m]))). */
  errorRate: string;
  /** How many requests the canary answered over the window (e.g. sum(increase(..[1m]))). */
  requests: string;
  /** Sent as they are (Authorization for a protected server). */
  headers?: Record<string, string>;
  /** Per query; default 10 s. */
  timeoutMs?: number;
}

interface QueryAnswer {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: unknown };
}

/**
 * One instant query's number; null when there is none (an empty vector, NaN, ±Inf). Throws, with
 * what Prometheus said, when the query fails or the answer is not one number.
 */
export async function instantQuery(source: Pick<PrometheusSource, 'url' | 'headers' | 'timeoutMs'>, query: string, options: { time?: Date; signal?: AbortSignal } = {}): Promise<number | null> {
  const url = new URL('api/v1/query', source.url.endsWith('/') ? source.url : `${source.url}/`);
  url.searchParams.set('query', query);
  if (options.time) url.searchParams.set('time', String(options.time.getTime() / 1000));
  const timeout = AbortSignal.timeout(source.timeoutMs ?? 10_000);
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json', ...source.headers }, signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout });
  } catch (error) {
    const why = timeout.aborted ? `no answer within ${(source.timeoutMs ?? 10_000) / 1000}s` : (error as Error).message;
    throw new Error(`Prometheus at ${url.origin} could not be asked ${JSON.stringify(query)}: ${why}`);
  }
  let answer: QueryAnswer;
  try {
    answer = (await response.json()) as QueryAnswer;
  } catch {
    throw new Error(`Prometheus at ${url.origin} answered ${JSON.stringify(query)} with HTTP ${response.status} and no JSON`);
  }
  if (answer.status !== 'success' || !answer.data) {
    throw new Error(`Prometheus refused ${JSON.stringify(query)} (HTTP ${response.status}${answer.errorType ? `, ${answer.errorType}` : ''}): ${answer.error ?? 'no reason given'}`);
  }
  return oneNumber(query, answer.data);
}

function oneNumber(query: string, data: { resultType: string; result: unknown }): number | null {
  let value: unknown;
  if (data.resultType === 'scalar') {
    value = (data.result as [number, string])[1];
  } else if (data.resultType === 'vector') {
    const samples = data.result as { metric: Record<string, string>; value: [number, string] }[];
    if (samples.length === 0) return null;
    if (samples.length > 1) {
      throw new Error(`${JSON.stringify(query)} gave ${samples.length} series (${samples.slice(0, 3).map((s) => JSON.stringify(s.metric)).join(', ')}): aggregate it to one, e.g. with sum(...)`);
    }
    value = samples[0]!.value[1];
  } else {
    throw new Error(`${JSON.stringify(query)} gave a ${data.resultType}: an instant query must give a scalar or a vector of one series`);
  }
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}

/** The canary's requests and error rate over the window the queries say. */
export async function measurePrometheus(source: PrometheusSource, options: { time?: Date; signal?: AbortSignal } = {}): Promise<Measurement> {
  const [requests, errorRate] = await Promise.all([instantQuery(source, source.requests, options), instantQuery(source, source.errorRate, options)]);
  const count = requests === null ? 0 : Math.round(requests);
  return {
    source: 'prometheus',
    requests: count,
    errorRate,
    errors: errorRate === null ? null : Math.round(errorRate * count),
  };
}
