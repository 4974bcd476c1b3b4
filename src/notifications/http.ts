import type { HttpRequest, HttpResponse, Transport } from './types.js';

/*
 * Requests as channels describe them, through fetch: redirects are not followed (a redirect is
 * a failed attempt), each request has its own time limit and also stops when the delivery's
 * signal fires (the sender's lease is running out, or it shuts down). Answers are read up to
 * 64 KiB: enough for any error a service writes, no more memory for one that streams.
 */

const BODY_LIMIT = 64 * 1024;

export class TransportError extends Error {}

export function fetchTransport(timeoutMs: number, signal: AbortSignal): Transport {
  return {
    async send(request: HttpRequest): Promise<HttpResponse> {
      const timeout = AbortSignal.timeout(timeoutMs);
      let response: Response;
      try {
        response = await fetch(request.url, {
          method: request.method,
          headers: request.headers,
          ...(request.body !== undefined ? { body: request.body } : {}),
          redirect: 'manual',
          signal: AbortSignal.any([timeout, signal]),
        });
        return { status: response.status, headers: response.headers, body: await readLimited(response) };
      } catch (error) {
        if (timeout.aborted) throw new TransportError(`no answer within ${timeoutMs / 1000}s`);
        if (signal.aborted) throw new TransportError(`stopped: ${String(signal.reason ?? 'aborted')}`);
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        throw new TransportError(`network error: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
      }
    },
  };
}

async function readLimited(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < BODY_LIMIT) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel().catch(() => {});
  return Buffer.concat(chunks).subarray(0, BODY_LIMIT).toString('utf8');
}
