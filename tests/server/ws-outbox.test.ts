import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import WebSocket, { WebSocketServer } from 'ws';
import { Outbox, textFrame } from '../../src/server/ws-outbox.js';

// ws's frame parser: exported by the package, not by its type declarations.
const { Receiver } = ws as unknown as {
  Receiver: new (options: { isServer: boolean; maxPayload: number }) => {
    write(chunk: Buffer, encoding: string, callback: (error?: Error | null) => void): void;
    on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void;
    on(event: 'error', listener: (error: Error) => void): void;
  };
};

/*
 * The frames the server builds itself are read by ws's own parser as the text they carry, and
 * they reach a client in order among the messages ws frames.
 */

function parse(frame: Buffer): Promise<{ text: string; binary: boolean }> {
  const receiver = new Receiver({ isServer: false, maxPayload: 0 });
  return new Promise((resolve, reject) => {
    receiver.on('message', (data, isBinary) => resolve({ text: String(data), binary: isBinary }));
    receiver.on('error', reject);
    receiver.write(frame, 'buffer', (error) => error && reject(error));
  });
}

describe('textFrame', () => {
  // Each length encoding (7 bits, 16 bits, 64 bits) at its edges, with multi-byte characters.
  for (const bytes of [0, 125, 126, 65_535, 65_536, 200_001]) {
    it(`frames ${bytes} bytes of text`, async () => {
      const text = bytes % 2 === 1 ? `é${'x'.repeat(bytes - 2)}` : 'x'.repeat(bytes);
      expect(Buffer.byteLength(text)).toBe(bytes);
      expect(await parse(textFrame(text))).toEqual({ text, binary: false });
    });
  }
});

describe('Outbox', () => {
  it('delivers built frames and ws messages in the order they were sent, one shared frame to every socket', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const shared = textFrame(JSON.stringify({ n: 'shared', x: 'é'.repeat(100) }));
    wss.on('connection', (socket, request) => {
      const outbox = new Outbox(socket, request.socket as Duplex, { maxBytes: 1024 * 1024, stallMs: 1_000, onStall: () => socket.terminate() });
      for (let i = 0; i < 200; i++) {
        if (i % 3 === 0) outbox.send(JSON.stringify({ n: i }));
        else if (i % 3 === 1) outbox.sendFrame(textFrame(JSON.stringify({ n: i, long: 'y'.repeat(i * 500) })));
        else outbox.sendFrame(shared);
      }
    });
    const { port } = wss.address() as AddressInfo;
    const receive = () =>
      new Promise<unknown[]>((resolve, reject) => {
        const client = new WebSocket(`ws://127.0.0.1:${port}`);
        const messages: unknown[] = [];
        client.on('message', (data, isBinary) => {
          if (isBinary) reject(new Error('a binary message'));
          messages.push(JSON.parse(String(data)));
          if (messages.length === 200) {
            client.close();
            resolve(messages);
          }
        });
        client.on('error', reject);
      });
    const [first, second] = await Promise.all([receive(), receive()]);
    await new Promise((resolve) => wss.close(resolve));
    const expected = Array.from({ length: 200 }, (_, i) =>
      i % 3 === 0 ? { n: i } : i % 3 === 1 ? { n: i, long: 'y'.repeat(i * 500) } : { n: 'shared', x: 'é'.repeat(100) },
    );
    expect(first).toEqual(expected);
    expect(second).toEqual(expected);
  });
});
