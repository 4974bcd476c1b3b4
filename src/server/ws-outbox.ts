import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/*
 * What one WebSocket is sent, in order, and the bound on what may wait to be sent. An event's
 * message is a whole frame built once (textFrame) and written as it is: the same buffer goes to
 * every socket that gets it, and each send is one write on the connection. Through ws each send
 * made its own options, header buffer and corked pair of writes, which outlived the young
 * generation while a thousand sockets were written to, and grew the heap by hundreds of
 * megabytes (docs/performance.md). ws writes each of its own frames whole (no permessage-deflate
 * here), so the two never interleave within a frame.
 */

export interface OutboxLimits {
  /** Above this many bytes waiting to be sent, sending waits (the subscription's own buffer takes the strain). */
  maxBytes: number;
  /** A socket that stays above `maxBytes` this long stopped reading: `onStall` runs (it drops it). */
  stallMs: number;
  onStall: () => void;
}

const TEXT = { binary: false };
const ignore = () => {};

export class Outbox {
  constructor(
    private readonly socket: WebSocket,
    /** The connection under the WebSocket. */
    private readonly connection: Duplex,
    private readonly limits: OutboxLimits,
  ) {}

  /** Sends a text message; waits first while more than `maxBytes` wait to be sent. */
  send(data: string): Promise<void> | undefined {
    // Handed to the socket without waiting for the write: one reader never holds up others.
    return this.#whenBelowLimit(() => this.socket.send(data, TEXT, ignore));
  }

  /** Sends a frame made by textFrame; waits first while more than `maxBytes` wait to be sent. */
  sendFrame(frame: Buffer): Promise<void> | undefined {
    return this.#whenBelowLimit(() => this.connection.write(frame));
  }

  /** Runs `write` now, or once less than `maxBytes` wait; drops a socket that stays above for `stallMs`. */
  #whenBelowLimit(write: () => void): Promise<void> | undefined {
    if (this.socket.readyState !== this.socket.OPEN) return undefined;
    if (this.socket.bufferedAmount <= this.limits.maxBytes) {
      write();
      return undefined;
    }
    return this.#drained().then((drained) => {
      if (this.socket.readyState !== this.socket.OPEN) return;
      if (drained) write();
      else this.limits.onStall();
    });
  }

  /** Whether fewer than `maxBytes` came to wait within `stallMs` (or the socket closed meanwhile). */
  async #drained(): Promise<boolean> {
    const deadline = Date.now() + this.limits.stallMs;
    while (this.socket.bufferedAmount > this.limits.maxBytes && this.socket.readyState === this.socket.OPEN) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return true;
  }
}

/** An unmasked, unfragmented text frame (RFC 6455 §5.2), as a server sends it. */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81; // FIN, text
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(text, header);
  return frame;
}
