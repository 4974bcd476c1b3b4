import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ServerSettings } from '../config/types.js';
import { hostRefusal, originRefusal, type Refusal } from './origin.js';
import type { FraisierYoga } from './yoga.js';

/*
 * The one HTTP server: a few plain routes (health, readiness, metrics, webhooks, dashboard)
 * answered without GraphQL machinery, everything under /graphql handed to yoga. Timeouts are
 * set so that slow or silent clients are cut off instead of holding sockets. Before any route,
 * the Host and Origin checks (origin.ts) turn away DNS-rebinding and cross-site requests.
 */

export type Route = (request: IncomingMessage, response: ServerResponse, url: URL) => void | Promise<void>;

export interface HttpRoutes {
  health: Route;
  ready: Route;
  metrics: Route;
  /** POST /webhook, /webhook/:provider */
  webhook?: Route;
  /** GET / and its assets */
  dashboard?: Route;
}

export interface HttpServerOptions {
  yoga: FraisierYoga;
  routes: HttpRoutes;
  logger: Logger;
  /** Tokens, allowed hosts and origins: who the Host and Origin checks let through. */
  settings: Pick<ServerSettings, 'tokens' | 'allowedHosts' | 'allowedOrigins'>;
  /** Time to receive a request's headers (slowloris). */
  headersTimeoutMs?: number;
  /** Time to receive a whole request. */
  requestTimeoutMs?: number;
}

export function createHttpServer(options: HttpServerOptions): Server {
  const { yoga, routes, logger, settings } = options;
  const server = createServer(
    {
      headersTimeout: options.headersTimeoutMs ?? 10_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      // How often Node checks those timeouts (its default, 30s, would let slow clients linger).
      connectionsCheckingInterval: Math.min(1_000, options.headersTimeoutMs ?? 10_000),
      maxHeaderSize: 16 * 1024,
    },
    (request, response) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const path = url.pathname;
      const graphql = path === '/graphql' || path.startsWith('/graphql/');
      const webhook = path === '/webhook' || path.startsWith('/webhook/');
      // /health says nothing worth reading, and probes name the server by whatever address they use.
      const refusal =
        (path === '/health' ? undefined : hostRefusal(request.headers.host, settings)) ??
        (graphql || webhook ? originRefusal(request.headers, settings) : undefined);
      if (refusal) {
        logger.warn({ path, host: request.headers.host, origin: request.headers.origin, status: refusal.status }, 'refused a request: foreign host or origin');
        return sendRefusal(response, refusal, graphql ? 'graphql' : webhook ? 'webhook' : 'plain');
      }
      let route: Route | undefined;
      if (graphql) route = (req, res) => yoga.handle(req, res);
      else if (webhook) route = routes.webhook;
      else if (path === '/health') route = routes.health;
      else if (path === '/ready') route = routes.ready;
      else if (path === '/metrics') route = routes.metrics;
      else route = routes.dashboard ?? (path === '/' ? redirectToGraphiQL : undefined);
      if (!route) return sendJson(response, 404, { error: `no route for ${path}` });
      Promise.resolve(route(request, response, url)).catch((error: unknown) => {
        logger.error({ err: error, path }, 'request failed');
        if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
        else response.destroy();
      });
    },
  );
  // Idle keep-alive sockets must not outlive the headers timeout (Node's own advice).
  server.keepAliveTimeout = 5_000;
  return server;
}

const redirectToGraphiQL: Route = (_request, response) => {
  response.writeHead(302, { location: '/graphql' });
  response.end();
};

/**
 * A refusal in the shape its route's clients read: GraphQL errors on /graphql, a WebhookResult
 * on /webhook, `{error, code}` elsewhere. The body is left unread: the connection closes.
 */
function sendRefusal(response: ServerResponse, refusal: Refusal, shape: 'graphql' | 'webhook' | 'plain'): void {
  const { status, code, message } = refusal;
  const body =
    shape === 'graphql'
      ? { errors: [{ message, extensions: { code } }] }
      : shape === 'webhook'
        ? { accepted: false, message, code }
        : { error: message, code };
  sendJson(response, status, body, { connection: 'close' });
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(text);
}
