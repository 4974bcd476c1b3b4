import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { schema } from '../../schema/index.js';
import { providersWithoutSecret } from '../config/load.js';
import type { Core } from '../core.js';
import type { FraisierYoga } from './yoga.js';
import { createDashboardRoute } from './dashboard/route.js';
import { createHttpServer, sendJson } from './http-server.js';
import { createWebhookRoute } from './webhook-route.js';
import { attachGraphQLWs, type WsHandle } from './ws.js';

export interface ListenOptions {
  host?: string;
  port?: number;
}

export interface ListeningAddress {
  url: string;
  host: string;
  port: number;
}

/**
 * HTTP and WebSocket in front of the core. Nothing is opened before `start`. Stopping comes in
 * two halves so that the core can drain in between: `stopAccepting` refuses new connections,
 * `close` then ends the sockets still open (subscriptions first get their streams' end).
 */
export interface AppServer {
  start(listen?: ListenOptions): Promise<ListeningAddress>;
  stopAccepting(): void;
  close(): Promise<void>;
}

export function createAppServer(core: Core, yoga: FraisierYoga): AppServer {
  const { config, store, services, bus, metrics, logger, gitProviders } = core;
  const settings = config.settings;
  let server: Server | undefined;
  let ws: WsHandle | undefined;
  let closed: Promise<void> = Promise.resolve();

  return {
    async start(listen = {}) {
      let host = listen.host ?? settings.host;
      const port = listen.port ?? settings.port;
      if (settings.tokens.length === 0 && !isLoopback(host)) {
        logger.warn({ requested: host }, 'no API tokens configured: listening on 127.0.0.1 only (configure fraisier.tokens to listen elsewhere)');
        host = '127.0.0.1';
      }
      const http = createHttpServer({
        yoga,
        logger,
        settings,
        headersTimeoutMs: settings.http.headersTimeoutMs,
        requestTimeoutMs: settings.http.requestTimeoutMs,
        routes: {
          health: (_req, res) => sendJson(res, 200, { status: 'ok' }),
          ready: async (_req, res) => {
            const readiness = await store.readiness();
            sendJson(res, readiness.ready ? 200 : 503, readiness.ready ? { status: 'ready' } : { status: 'unavailable', reason: readiness.reason });
          },
          metrics: async (_req, res) => {
            metrics.subscribers.set(bus.listenerCount);
            const body = await metrics.registry.metrics();
            res.writeHead(200, { 'content-type': metrics.registry.contentType });
            res.end(body);
          },
          webhook: createWebhookRoute({ schema, services, registry: gitProviders, settings, metrics, logger }),
          dashboard: createDashboardRoute(),
        },
      });
      server = http;
      ws = attachGraphQLWs({
        server: http,
        yoga,
        settings,
        logger,
        maxBufferedBytes: settings.websocket.maxBufferedBytes,
        stallTimeoutMs: settings.websocket.stallTimeoutMs,
        maxSubscriptionsPerSocket: settings.websocket.maxSubscriptions,
      });
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          resolve();
        });
      });
      const address = http.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      const url = `http://${shownHost}:${address.port}`;
      logger.info({ url, store: store.description, fraises: services.catalog.fraises.length }, `listening on ${url} (GraphiQL at ${url}/graphql)`);
      if (settings.tokens.length === 0) logger.warn('no API tokens configured: the API is open to anyone who can reach 127.0.0.1');
      const refused = providersWithoutSecret(config);
      if (refused.length) logger.warn({ providers: refused }, `webhook deliveries refused for lack of a secret: ${refused.join(', ')}`);
      return { url, host: address.address, port: address.port };
    },

    stopAccepting() {
      if (!server) return;
      const http = server;
      closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeIdleConnections();
    },

    async close() {
      await ws?.close();
      server?.closeIdleConnections();
      // Streams (SSE subscriptions) never end by themselves: give them a moment, then cut.
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 3_000).unref())]);
      server?.closeAllConnections();
      await closed;
    },
  };
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host.startsWith('127.');
}
