import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

/*
 * Reading a request body under a cap, before anything parses it (Argo CD CVE-2024-40634, Argo
 * Workflows CVE-2026-42294, adnanh/webhook#756 read first and checked later). A declared
 * Content-Length above the cap is refused without reading a byte; a body that grows past the
 * cap while streaming (chunked, or lying about its length) stops being read at once, and what
 * was buffered is dropped: at most the cap plus one chunk is ever held.
 */

export type BodyResult =
  | { ok: true; body: Buffer }
  | { ok: false; reason: 'too_large' | 'aborted'; received: number };

/** The request declares a body longer than `limit` bytes. */
export function declaresTooLarge(request: IncomingMessage, limit: number): boolean {
  const declared = request.headers['content-length'];
  return declared !== undefined && /^\d+$/.test(declared) && Number(declared) > limit;
}

/** Reads `stream` to its end, or stops (paused, chunks dropped) as soon as it passes `limit` bytes. */
export function readBody(stream: Readable, limit: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const settle = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onAborted);
      stream.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) {
        chunks.length = 0;
        stream.pause();
        settle({ ok: false, reason: 'too_large', received });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => settle({ ok: true, body: Buffer.concat(chunks, received) });
    const onAborted = () => settle({ ok: false, reason: 'aborted', received });
    // 'close' also follows a normal 'end'; settle() ignores it then.
    const onClose = () => settle({ ok: false, reason: 'aborted', received });
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onAborted);
    stream.on('close', onClose);
  });
}
