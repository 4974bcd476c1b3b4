import type { IncomingMessage, ServerResponse } from 'node:http';
import { execute, type GraphQLSchema, parse, validate } from 'graphql';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';
import { createLoaders } from '../../schema/context.js';
import type { WebhookRouteContext } from '../../schema/webhook.js';
import type { ServerSettings } from '../config/types.js';
import type { ErrorCode } from '../errors.js';
import type { AppServices } from '../services/app-services.js';
import type { GitProviderRegistry, ResolvedProvider } from '../webhooks/registry.js';
import { describeDelivery } from '../webhooks/verify-delivery.js';
import { clientAddress, compileTrust } from './client-address.js';
import { findFraisierError, HTTP_STATUS } from './errors.js';
import { type Route, sendJson } from './http-server.js';
import type { Metrics } from '../metrics.js';
import { RateLimiter } from './rate-limit.js';
import { declaresTooLarge, readBody } from './read-body.js';

/*
 * POST /webhook, /webhook/:provider, /webhook?provider=: the HTTP side of processWebhook.
 * In order: method, rate limit per source address, provider, body under the cap; then the
 * mutation runs (one code path with GraphQL callers: a document parsed and validated once,
 * executed directly rather than through an HTTP round trip), and its answer becomes a status:
 * 202 queued, 200 duplicate / ping / ignored / refused-but-recorded, 401 signature, 400
 * unreadable body, 413 too large, 429 rate limited, 503 store unavailable. Transient failures
 * are never 4xx: GitLab disables a hook for good after 4xx answers.
 */

const PROCESS_WEBHOOK = /* GraphQL */ `
  mutation ProcessWebhook(
    $provider: WebhookProvider!
    $providerName: String
    $payload: String!
    $signature: String
    $event: String
    $deliveryId: String
  ) {
    processWebhook(
      provider: $provider
      providerName: $providerName
      payload: $payload
      signature: $signature
      event: $event
      deliveryId: $deliveryId
    ) {
      accepted
      duplicate
      message
      event { id outcome reason deliveryId }
      deployments { id fraise environment status gitCommit gitBranch }
    }
  }
`;

export interface WebhookRouteOptions {
  schema: GraphQLSchema;
  services: AppServices;
  registry: GitProviderRegistry;
  settings: ServerSettings;
  metrics: Metrics;
  logger: Logger;
}

interface Refusal {
  status: number;
  code: ErrorCode | 'METHOD_NOT_ALLOWED' | 'INTERNAL_SERVER_ERROR';
  message: string;
  headers?: Record<string, string>;
}

export function createWebhookRoute(options: WebhookRouteOptions): Route {
  const { schema, services, registry, settings, metrics, logger } = options;
  const document = parse(PROCESS_WEBHOOK);
  const problems = validate(schema, document);
  if (problems.length) throw new Error(`the processWebhook document does not match the schema: ${problems.map((p) => p.message).join('; ')}`);
  const limiter = new RateLimiter(settings.webhook.rateLimit);
  const cap = settings.webhook.payloadLimitBytes;
  const trust = compileTrust(settings.webhook.trustProxy);

  return async (request, response, url) => {
    const started = performance.now();
    let label = 'unknown';
    const refuse = (refusal: Refusal, outcome?: string) => {
      if (outcome) metrics.webhookDeliveries.inc({ provider: label, outcome });
      answer(response, refusal.status, { accepted: false, message: refusal.message, code: refusal.code }, refusal.headers);
    };
    try {
      if (request.method !== 'POST') {
        return refuse({ status: 405, code: 'METHOD_NOT_ALLOWED', message: 'deliveries are POSTed to /webhook', headers: { allow: 'POST', connection: 'close' } });
      }
      const sourceIp = clientAddress(request, trust);
      const rate = limiter.take(sourceIp);
      if (!rate.allowed) {
        return refuse(
          {
            status: 429,
            code: 'RATE_LIMITED',
            message: `too many deliveries from ${sourceIp}: at most ${settings.webhook.rateLimit.requests} per ${settings.webhook.rateLimit.windowSeconds} s`,
            headers: { 'retry-after': String(rate.retryAfterSeconds), connection: 'close' },
          },
          'rate_limited',
        );
      }
      const headers = lowerCaseHeaders(request);
      const found = findProvider(registry, url, headers);
      if ('refusal' in found) return refuse({ ...found.refusal, headers: { connection: 'close' } }, 'bad_request');
      const resolved = found.resolved;
      label = resolved.storedName;
      if (declaresTooLarge(request, cap)) return refuse(tooLarge(cap), 'too_large');
      const read = await readBody(request, cap);
      if (!read.ok) {
        if (read.reason === 'aborted') return;
        refuse(tooLarge(cap), 'too_large');
        // Stop the sender: nothing more of this body is read, whatever it still has to send.
        response.once('finish', () => request.socket.destroy());
        return;
      }

      const described = describeDelivery(resolved, headers);
      const principal: Principal = { kind: 'webhook', provider: resolved.provider.name };
      const context: WebhookRouteContext = {
        principal,
        services,
        loaders: createLoaders(services, principal),
        webhookSourceIp: sourceIp,
        webhookHeaders: headers,
        webhookBody: read.body,
      };
      const result = await execute({
        schema,
        document,
        contextValue: context,
        variableValues: {
          provider: resolved.custom ? 'CUSTOM' : resolved.storedName.toUpperCase(),
          providerName: resolved.custom ? resolved.provider.name : null,
          payload: read.body.toString('utf8'),
          signature: described.signature ?? null,
          event: described.event ?? null,
          deliveryId: described.deliveryId ?? null,
        },
      });
      const error = result.errors?.[0];
      if (error) {
        const expected = findFraisierError(error);
        if (!expected) {
          logger.error({ err: error.originalError ?? error, provider: label }, 'webhook delivery failed');
          return refuse({ status: 500, code: 'INTERNAL_SERVER_ERROR', message: 'internal error: the delivery was not processed; retry it' });
        }
        // The provider retries a 503; whoever runs Fraisier wants to know why it had to.
        if (expected.code === 'STORE_UNAVAILABLE') logger.warn({ provider: label, reason: expected.message }, 'webhook delivery not recorded: the store is unavailable');
        return refuse({ status: HTTP_STATUS[expected.code], code: expected.code, message: expected.message });
      }
      const body = (result.data as { processWebhook: { duplicate: boolean; deployments: { status: string }[] } }).processWebhook;
      // 202 when something waits in the queue; a push older than what is deployed is recorded SUPERSEDED: 200.
      answer(response, !body.duplicate && body.deployments.some((d) => d.status === 'PENDING') ? 202 : 200, body);
    } finally {
      metrics.webhookLatency.observe((performance.now() - started) / 1000);
    }
  };
}

/** The provider the URL names (`/webhook/gitlab`, `?provider=gitlab`), else the one the headers reveal. */
function findProvider(
  registry: GitProviderRegistry,
  url: URL,
  headers: Record<string, string>,
): { resolved: ResolvedProvider } | { refusal: Omit<Refusal, 'headers'> } {
  const segments = url.pathname.split('/').filter(Boolean);
  if (segments.length > 2) return { refusal: { status: 404, code: 'NOT_FOUND', message: `no route for ${url.pathname}: use /webhook or /webhook/<provider>` } };
  const named = segments[1] ?? url.searchParams.get('provider') ?? undefined;
  if (named !== undefined) {
    const resolved = registry.resolve(decodeSegment(named));
    if (resolved) return { resolved };
    return {
      refusal: { status: 404, code: 'NOT_FOUND', message: `unknown webhook provider "${decodeSegment(named).slice(0, 40)}" (known: ${registry.names().join(', ')})` },
    };
  }
  const detected = registry.detect(headers);
  if (detected) return { resolved: detected };
  return {
    refusal: {
      status: 400,
      code: 'BAD_USER_INPUT',
      message: 'cannot tell which Git provider sent this (no X-GitHub-Event, X-Gitlab-Event, X-Gitea-Event or X-Event-Key header): use /webhook/<provider>',
    },
  };
}

function tooLarge(cap: number): Refusal {
  return {
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    message: `the body is larger than ${cap} bytes (fraisier.webhook.payload_limit)`,
    headers: { connection: 'close' },
  };
}

function lowerCaseHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function answer(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (response.headersSent) return;
  sendJson(response, status, body, headers);
}
