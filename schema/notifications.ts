import { ATTEMPT_OUTCOMES, NOTIFICATION_RECORD_EVENTS, NOTIFICATION_STATUSES, type NotificationAttemptRecord, type NotificationRecord } from '../src/model.js';
import { MAX_LIST_LIMIT } from '../src/services/queries.js';
import { builder } from './builder.js';
import { DeploymentRef } from './deployment.js';
import { EnvironmentStatusChangeRef } from './health.js';
import { listSize } from './list-size.js';
import { DateTimeScalar } from './scalars.js';

/* Notification, its destination and attempts; query notifications. */

function valuesOf<T extends string>(values: readonly T[]): Record<Uppercase<T>, { value: T }> {
  return Object.fromEntries(values.map((v) => [v.toUpperCase(), { value: v }])) as Record<Uppercase<T>, { value: T }>;
}

export const NotificationStatusEnum = builder.enumType('NotificationStatus', {
  description:
    'PENDING: to be sent (again). DELIVERED. FAILED: refused for good, or given up after notifications.give_up_after. DISABLED: its destination answered that it is gone (a deleted Slack channel, a 410). DROPPED: its destination is no longer configured',
  values: valuesOf(NOTIFICATION_STATUSES),
});

export const NotificationEventEnum = builder.enumType('NotificationEvent', {
  description:
    'What the notification tells: a deployment started, succeeded, failed, was rolled back, or waits for approval (resume or promote); HEALTH: the monitor saw the environment go down or degraded (sent to on_failure), or back to healthy (on_success)',
  values: valuesOf(NOTIFICATION_RECORD_EVENTS),
});

export const NotificationAttemptOutcomeEnum = builder.enumType('NotificationAttemptOutcome', {
  description: 'DELIVERED; RETRY: tried again later; FAILED: refused for good or the last try before giving up; DISABLED: the destination is gone',
  values: valuesOf(ATTEMPT_OUTCOMES),
});

const NotificationDestinationRef = builder.objectRef<NotificationRecord['destination']>('NotificationDestination').implement({
  description: 'Where a notification goes, without its secrets',
  fields: (t) => ({
    type: t.exposeString('type', { description: 'slack, discord, teams, pagerduty, webhook, email, github_issue, gitlab_issue or gitea_issue' }),
    target: t.exposeString('target', { description: 'Masked: a URL\'s origin, a repository, a mail server and its recipients' }),
    path: t.exposeString('path', { description: 'Where it is configured, e.g. notifications.on_failure[0]' }),
  }),
});

const NotificationAttemptRef = builder.objectRef<NotificationAttemptRecord>('NotificationAttempt').implement({
  fields: (t) => ({
    attempt: t.exposeInt('attempt', { description: '1, 2, 3, ...' }),
    at: t.field({ type: DateTimeScalar, resolve: (a) => a.at }),
    outcome: t.field({ type: NotificationAttemptOutcomeEnum, resolve: (a) => a.outcome }),
    statusCode: t.exposeInt('statusCode', { nullable: true, description: 'The HTTP (or SMTP) status of the last answer; null when none came (a timeout, a refused connection)' }),
    error: t.exposeString('error', { nullable: true, description: 'What went wrong, secrets masked' }),
    durationMs: t.exposeInt('durationMs'),
    retryAt: t.field({ type: DateTimeScalar, nullable: true, description: 'RETRY: when the next attempt is due', resolve: (a) => a.retryAt }),
  }),
});

export const NotificationRef = builder.objectRef<NotificationRecord>('Notification').implement({
  description: 'An event for one destination, written with the event itself (it is never lost) and sent until delivered or given up',
  fields: (t) => ({
    id: t.exposeID('id'),
    eventId: t.exposeString('eventId', { description: 'The same for every destination and every attempt (the webhook-id a receiver can deduplicate on)' }),
    event: t.field({ type: NotificationEventEnum, resolve: (n) => n.event }),
    fraise: t.exposeString('fraise'),
    environment: t.exposeString('environment'),
    deployment: t.field({
      type: DeploymentRef,
      nullable: true,
      description: 'The deployment it tells of; null for HEALTH',
      resolve: async (n, _args, ctx) => (n.deploymentId ? ctx.loaders.deployment.load(n.deploymentId) : null),
    }),
    healthChange: t.field({
      type: EnvironmentStatusChangeRef,
      nullable: true,
      description: 'HEALTH: the change of health it tells of, as recorded; null for a deployment\'s events',
      resolve: (n) => n.healthChange,
    }),
    destination: t.field({ type: NotificationDestinationRef, resolve: (n) => n.destination }),
    status: t.field({ type: NotificationStatusEnum, resolve: (n) => n.status }),
    attemptCount: t.exposeInt('attemptCount'),
    attempts: t.field({ type: [NotificationAttemptRef], description: 'Oldest first', resolve: (n) => n.attempts }),
    createdAt: t.field({ type: DateTimeScalar, resolve: (n) => n.createdAt }),
    nextAttemptAt: t.field({ type: DateTimeScalar, nullable: true, resolve: (n) => n.nextAttemptAt }),
    completedAt: t.field({ type: DateTimeScalar, nullable: true, resolve: (n) => n.completedAt }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'Secrets masked' }),
  }),
});

builder.queryField('notifications', (t) =>
  t.field({
    type: [NotificationRef],
    description: 'Newest first, each with its attempts: of one deployment, or of everything the caller may read. `first` is at most 100; page with `before` (the last id seen)',
    args: {
      deploymentId: t.arg.id(),
      status: t.arg({ type: NotificationStatusEnum }),
      first: t.arg.int({ defaultValue: 20 }),
      before: t.arg.id(),
    },
    extensions: listSize({ argument: 'first', max: MAX_LIST_LIMIT }),
    resolve: (_root, args, ctx) =>
      ctx.services.queries.notifications(ctx.principal, {
        deploymentId: args.deploymentId ? String(args.deploymentId) : null,
        status: args.status ?? null,
        first: args.first,
        before: args.before ? String(args.before) : null,
      }),
  }),
);
