import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type ExecutionArgs, GraphQLError } from 'graphql';
import { CloseCode, handleProtocols, makeServer } from 'graphql-ws';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import { authenticate, type Principal } from '../auth/principal.js';
import type { ServerSettings } from '../config/types.js';
import { findFraisierError } from './errors.js';
import { hostRefusal, originRefusal, type Refusal } from './origin.js';
import type { SubscriptionSink } from './plugins/use-shared-subscription-execution.js';
import { Outbox, textFrame } from './ws-outbox.js';
import type { FraisierYoga } from './yoga.js';

/*
 * graphql-ws on the HTTP server's port, path /graphql. The protocol core (makeServer) knows
 * nothing of the transport; this file binds it to `ws` and adds what a deploy tool needs:
 * the Host and Origin checked at upgrade (DNS rebinding, cross-site WebSocket hijacking), the
 * token checked in connection_init, small frames, a cap on subscriptions per socket, slow
 * readers dropped before they eat the memory, and a clean 1001 on shutdown. Operations go through
 * yoga.getEnveloped, so they share the HTTP path's plugins and context. A subscription's events
 * come through the sink it is given (`sendNext`): each event's message is built once for all the
 * subscribers of the same operation (use-shared-subscription-execution.ts) and the same bytes are
 * written to each socket.
 */

export interface WsOptions {
  server: Server;
  yoga: FraisierYoga;
  settings: ServerSettings;
  logger: Logger;
  /**
   * Above this many bytes waiting to be sent, sending waits (the subscription's own buffer
   * takes the strain); a socket that stays above it for `stallTimeoutMs` is dropped.
   */
  maxBufferedBytes?: number;
  stallTimeoutMs?: number;
  maxSubscriptionsPerSocket?: number;
  keepAliveMs?: number;
}

export interface WsHandle {
  /** Open sockets. */
  readonly clients: number;
  /** Closes every socket with 1001 (going away) and stops accepting new ones. */
  close(): Promise<void>;
}

interface Extra {
  socket: WebSocket;
  principal?: Principal;
  subscriptions: number;
  outbox: Outbox;
}

export function attachGraphQLWs(options: WsOptions): WsHandle {
  const { server, yoga, settings, logger } = options;
  const maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  const maxSubscriptions = options.maxSubscriptionsPerSocket ?? 100;
  const keepAliveMs = options.keepAliveMs ?? 12_000;
  const stallTimeoutMs = options.stallTimeoutMs ?? 10_000;
  // No permessage-deflate: the outbox writes whole frames of its own beside ws's (ws-outbox.ts).
  const wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024, handleProtocols, perMessageDeflate: false });
  let closing = false;

  const graphqlWs = makeServer<Record<string, unknown> | undefined, Extra>({
    connectionInitWaitTimeout: 3_000,
    onConnect: (ctx) => {
      try {
        ctx.extra.principal = authenticate(authorizationFrom(ctx.connectionParams), settings.tokens);
      } catch {
        return false; // closes with 4403 Forbidden
      }
      return ctx.extra.principal.kind !== 'anonymous';
    },
    onSubscribe: async (ctx, id, payload) => {
      if (ctx.extra.subscriptions >= maxSubscriptions) {
        return [new GraphQLError(`at most ${maxSubscriptions} operations at once on one socket`)];
      }
      const { socket, outbox } = ctx.extra;
      // graphql-transport-ws's "next" message, written here around the result's shared JSON.
      const prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
      const frame = (json: string) => textFrame(`${prefix}${json}}`);
      const sendNext: SubscriptionSink = (shared) => outbox.sendFrame(shared.bytes(prefix, frame));
      const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
        principal: ctx.extra.principal,
        params: payload,
        sendNext,
        // A subscription whose stream overflows cuts its socket: a close frame would queue
        // behind everything the client has not read.
        dropConnection: () => {
          logger.warn({ buffered: socket.bufferedAmount }, 'dropping a WebSocket client that fell too far behind');
          socket.terminate();
        },
      });
      let document;
      try {
        document = parse(payload.query);
      } catch (error) {
        return [error as never];
      }
      const errors = validate(schema, document);
      if (errors.length) return errors;
      ctx.extra.subscriptions++;
      const args: ExecutionArgs = {
        schema,
        operationName: payload.operationName ?? null,
        document,
        variableValues: payload.variables ?? null,
        contextValue: await contextFactory(),
        rootValue: { execute, subscribe },
      };
      return args;
    },
    execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => never }).execute(args),
    subscribe: (args) => (args.rootValue as { subscribe: (a: ExecutionArgs) => never }).subscribe(args),
    onComplete: (ctx) => {
      ctx.extra.subscriptions = Math.max(0, ctx.extra.subscriptions - 1);
    },
    onError: (_ctx, _id, _payload, errors) => {
      for (const error of errors) {
        if (!findFraisierError(error)) logger.debug({ err: error }, 'graphql-ws operation error');
      }
    },
  });

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/graphql') return refuse(socket, 404, 'Not Found');
    if (closing) return refuse(socket, 503, 'Service Unavailable');
    // Browsers apply no CORS to WebSockets: the Host and Origin checks are all that stands here.
    const refusal = hostRefusal(request.headers.host, settings) ?? originRefusal(request.headers, settings);
    if (refusal) {
      logger.warn({ host: request.headers.host, origin: request.headers.origin, status: refusal.status }, 'refused a WebSocket: foreign host or origin');
      return refuseWith(socket, refusal);
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, socket));
  };
  server.on('upgrade', onUpgrade);

  wss.on('connection', (socket: WebSocket, connection: Duplex) => {
    const outbox = new Outbox(socket, connection, {
      maxBytes: maxBufferedBytes,
      stallMs: stallTimeoutMs,
      onStall: () => {
        // This reader stopped reading: drop it rather than buffer without bound.
        logger.warn({ buffered: socket.bufferedAmount }, 'dropping a WebSocket client that stopped reading');
        socket.terminate();
      },
    });
    const extra: Extra = { socket, subscriptions: 0, outbox };
    socket.once('error', (error) => {
      logger.debug({ err: error }, 'WebSocket error');
      socket.terminate();
    });
    let pongWait: NodeJS.Timeout | undefined;
    const ping = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return;
      pongWait = setTimeout(() => socket.terminate(), keepAliveMs);
      socket.once('pong', () => clearTimeout(pongWait));
      socket.ping();
    }, keepAliveMs);
    ping.unref();

    const closed = graphqlWs.opened(
      {
        protocol: socket.protocol,
        send: (data) => outbox.send(data),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handler) =>
          socket.on('message', async (data) => {
            try {
              await handler(String(data));
            } catch (error) {
              // A socket backed up: a close frame would wait behind everything it has not read.
              // Drop it now. (A reader too far behind is dropped by its feed, through dropConnection.)
              if (socket.bufferedAmount > maxBufferedBytes) {
                logger.warn({ buffered: socket.bufferedAmount, reason: (error as Error).message }, 'dropping a WebSocket client that stopped reading');
                socket.terminate();
                return;
              }
              logger.error({ err: error }, 'graphql-ws message handling failed');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            }
          }),
      },
      extra,
    );
    socket.once('close', (code, reason) => {
      clearInterval(ping);
      if (pongWait) clearTimeout(pongWait);
      void closed(code, String(reason));
    });
  });

  return {
    get clients() {
      return wss.clients.size;
    },
    async close() {
      closing = true;
      server.off('upgrade', onUpgrade);
      const sockets = [...wss.clients];
      await Promise.all(
        sockets.map(
          (socket) =>
            new Promise<void>((resolve) => {
              if (socket.readyState === socket.CLOSED) return resolve();
              const timer = setTimeout(() => {
                socket.terminate();
                resolve();
              }, 2_000);
              socket.once('close', () => {
                clearTimeout(timer);
                resolve();
              });
              socket.close(1001, 'Server shutting down');
            }),
        ),
      );
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** `{authorization: "Bearer x"}`, `{Authorization: ...}` or `{token: "x"}` in connection_init. */
function authorizationFrom(params: Record<string, unknown> | undefined): string | undefined {
  if (!params) return undefined;
  const header = params.authorization ?? params.Authorization;
  if (typeof header === 'string') return header;
  if (typeof params.token === 'string') return `Bearer ${params.token}`;
  return undefined;
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** A refused upgrade, with the reason as JSON for clients that read it (curl, ws). */
function refuseWith(socket: Duplex, refusal: Refusal): void {
  const body = JSON.stringify({ error: refusal.message, code: refusal.code });
  const text = refusal.status === 421 ? 'Misdirected Request' : 'Forbidden';
  socket.end(
    `HTTP/1.1 ${refusal.status} ${text}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
