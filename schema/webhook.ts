import { isBuiltinGitProvider } from '../src/config/types.js';
import type { WebhookEventRecord, WebhookResult } from '../src/model.js';
import { MAX_LIST_LIMIT } from '../src/services/queries.js';
import { builder } from './builder.js';
import { type GraphQLContext, streamOptions } from './context.js';
import { DeploymentRef } from './deployment.js';
import { WebhookProviderEnum } from './enums.js';
import { listSize } from './list-size.js';
import { DateTimeScalar } from './scalars.js';

/* WebhookEvent, WebhookResult; query webhookEvents; mutation processWebhook; subscription webhookReceived. */

/**
 * The context POST /webhook executes processWebhook with: the sender's address, the
 * request's headers (lower-cased) and the body's bytes ride along, rather than through
 * variables to coerce.
 */
export interface WebhookRouteContext extends GraphQLContext {
  webhookSourceIp?: string;
  webhookHeaders?: Record<string, string>;
  /** The body as received (the `payload` variable is its text). */
  webhookBody?: Buffer;
}

export const WebhookEventRef = builder.objectRef<WebhookEventRecord>('WebhookEvent').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    receivedAt: t.field({ type: DateTimeScalar, resolve: (e) => e.receivedAt }),
    provider: t.field({
      type: WebhookProviderEnum,
      // Registered providers are stored as custom:<name>.
      resolve: (e) => (isBuiltinGitProvider(e.provider) ? e.provider : 'custom'),
    }),
    providerName: t.exposeString('provider', { description: 'The provider as registered (e.g. "github", "custom:mygit")' }),
    eventType: t.exposeString('eventType'),
    deliveryId: t.exposeString('deliveryId', { nullable: true }),
    repository: t.exposeString('repository', { nullable: true }),
    branch: t.exposeString('branch', { nullable: true }),
    tag: t.exposeString('tag', { nullable: true }),
    commitSha: t.exposeString('commitSha', { nullable: true }),
    sender: t.exposeString('sender', { nullable: true }),
    commitMessage: t.exposeString('commitMessage', { nullable: true, description: 'As pushed: escape it before showing it' }),
    commitAuthor: t.exposeString('commitAuthor', { nullable: true }),
    outcome: t.exposeString('outcome', { description: 'accepted | ignored | refused | failed' }),
    reason: t.exposeString('reason', { nullable: true, description: 'Why it was ignored or refused, or what it deployed' }),
    processed: t.exposeBoolean('processed'),
    deployment: t.field({
      type: DeploymentRef,
      nullable: true,
      description: 'The first deployment this delivery queued',
      resolve: async (e, _args, ctx) => (e.deploymentId ? ctx.loaders.deployment.load(e.deploymentId) : null),
    }),
  }),
});

export const WebhookResultRef = builder.objectRef<WebhookResult>('WebhookResult').implement({
  fields: (t) => ({
    accepted: t.exposeBoolean('accepted'),
    message: t.exposeString('message', { nullable: true }),
    duplicate: t.exposeBoolean('duplicate', { description: 'true when this delivery id was already processed' }),
    event: t.field({ type: WebhookEventRef, nullable: true, resolve: (r) => r.event }),
    deployments: t.field({ type: [DeploymentRef], resolve: (r) => r.deployments }),
  }),
});

builder.queryFields((t) => ({
  webhookEvents: t.field({
    type: [WebhookEventRef],
    description: 'Newest first; `limit` is at most 100, page with `before`',
    args: { limit: t.arg.int({ defaultValue: 20 }), before: t.arg.id() },
    extensions: listSize({ argument: 'limit', max: MAX_LIST_LIMIT }),
    resolve: (_root, args, ctx) =>
      ctx.services.queries.webhookEvents(ctx.principal, { limit: args.limit, before: args.before ? String(args.before) : null }),
  }),
}));

builder.subscriptionFields((t) => ({
  webhookReceived: t.field({
    type: WebhookEventRef,
    description: 'Each webhook delivery once it is recorded, whatever it came to (refused deliveries with a bad signature are not recorded). No replay: read webhookEvents on (re)connection.',
    subscribe: (_root, _args, ctx) => {
      ctx.services.queries.assertCanReadWebhooks(ctx.principal);
      return ctx.services.events.webhooks(streamOptions(ctx));
    },
    resolve: (event) => event,
  }),
}));

builder.mutationFields((t) => ({
  processWebhook: t.field({
    type: WebhookResultRef,
    description: 'What POST /webhook runs. event and deliveryId carry what the HTTP headers said.',
    args: {
      provider: t.arg({ type: WebhookProviderEnum, required: true }),
      payload: t.arg.string({ required: true }),
      signature: t.arg.string(),
      event: t.arg.string(),
      deliveryId: t.arg.string(),
      providerName: t.arg.string({ description: 'For CUSTOM: the registered provider\'s name' }),
      headers: t.arg({ type: 'JSON', description: 'Other delivery headers (e.g. GitLab\'s webhook-id / webhook-timestamp)' }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.webhooks.process(ctx.principal, {
        provider: args.provider === 'custom' ? `custom:${args.providerName ?? ''}` : args.provider,
        payload: args.payload,
        body: (ctx as WebhookRouteContext).webhookBody,
        signature: args.signature ?? null,
        event: args.event ?? null,
        deliveryId: args.deliveryId ?? null,
        headers: args.headers ? toHeaders(args.headers) : ((ctx as WebhookRouteContext).webhookHeaders ?? {}),
        sourceIp: (ctx as WebhookRouteContext).webhookSourceIp ?? null,
      }),
  }),
}));

function toHeaders(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => typeof v === 'string')
      .map(([k, v]) => [k.toLowerCase(), v as string]),
  );
}
