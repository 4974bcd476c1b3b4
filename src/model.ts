import type { GateState } from './gates/types.js';

/*
 * The records Fraisier works with, as the services and the API see them (not raw rows).
 * Ids are strings: GraphQL IDs, stable for the life of the record.
 */

export const DEPLOYMENT_STATUSES = ['pending', 'waiting', 'in_progress', 'paused', 'success', 'failed', 'rolled_back', 'cancelled', 'superseded'] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

/**
 * A queued deployment: not started, not ended. WAITING is one of them (held by a gate of its
 * environment's protection rules): it keeps its place, a newer one supersedes it, cancelling
 * it ends it at once.
 */
export const QUEUED_STATUSES = ['pending', 'waiting'] as const satisfies readonly DeploymentStatus[];
export type QueuedStatus = (typeof QUEUED_STATUSES)[number];

export function isQueued(status: DeploymentStatus): status is QueuedStatus {
  return status === 'pending' || status === 'waiting';
}

/**
 * A deployment that runs: claimed, holding its lease, its lock key and its target. PAUSED is one
 * of them (held between two steps, by its strategy or an operator): not an end.
 */
export const RUNNING_STATUSES = ['in_progress', 'paused'] as const satisfies readonly DeploymentStatus[];
export type RunningStatus = (typeof RUNNING_STATUSES)[number];

export function isRunning(status: DeploymentStatus): status is RunningStatus {
  return status === 'in_progress' || status === 'paused';
}

export const FINAL_STATUSES: ReadonlySet<DeploymentStatus> = new Set(['success', 'failed', 'rolled_back', 'cancelled', 'superseded']);

export const TRIGGER_TYPES = ['webhook', 'manual', 'scheduled', 'api'] as const;
export type TriggerType = (typeof TRIGGER_TYPES)[number];

export const HEALTH_STATUSES = ['healthy', 'degraded', 'down', 'unknown'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

export interface TargetSnapshot {
  provider: string;
  /** Settings as recorded, secrets already removed. */
  config: Record<string, unknown> | null;
}

export interface Deployment {
  id: string;
  fraise: string;
  environment: string;
  job: string | null;
  kind: 'deploy' | 'rollback' | 'job';
  status: DeploymentStatus;
  triggeredBy: TriggerType;
  requestedBy: string | null;
  requestedAt: string;
  /** When it was requested until it really starts; then when it started. */
  startedAt: string;
  completedAt: string | null;
  durationSeconds: number | null;
  oldVersion: string | null;
  newVersion: string | null;
  gitCommit: string | null;
  gitBranch: string | null;
  target: TargetSnapshot;
  errorMessage: string | null;
  webhookEventId: string | null;
  /** While PAUSED: when a timed hold ends (null: until resumed or promoted). */
  pausedUntil: string | null;
  /** While PAUSED: why (the strategy's hold, or who paused it). */
  pauseMessage: string | null;
  /** Promote was asked: the remaining steps and pauses of its strategy are skipped. */
  promoted: boolean;
  /** Its environment's gates as last evaluated (null: unprotected, or not evaluated yet). */
  gates: GateState[] | null;
  /** While WAITING: when a gate may open by time alone (a window, a soak, a timer, a timeout). */
  waitingUntil: string | null;
}

/** Where the requests go at one point of a deployment: a slot, its port, what it runs, its share. */
export interface TrafficShare {
  slot: string;
  port: number;
  /** The commit the slot runs (null: not known). */
  version: string | null;
  /** Share of the requests, 0..100. */
  weight: number;
}

export interface DeploymentProgress {
  deploymentId: string;
  sequence: number;
  step: string;
  /** 0..100 */
  progress: number;
  message: string | null;
  timestamp: string;
  /** Set on the events where the traffic moved (a blue-green switch, a canary step, an abort): where it goes from then on. */
  traffic?: TrafficShare[];
}

export interface FraiseState {
  fraise: string;
  environment: string;
  currentVersion: string | null;
  status: HealthStatus;
  targetProvider: string | null;
  lastDeployedAt: string | null;
  lastDeployedBy: string | null;
  lastDeploymentId: string | null;
  lastDeploymentStatus: DeploymentStatus | null;
}

/** A change of an environment's health seen by the monitor (deploy/health-monitor.ts). */
export interface EnvironmentStatusChange {
  fraise: string;
  environment: string;
  status: HealthStatus;
  previous: HealthStatus;
  /** What the check said (an HTTP status, a connection error). */
  message: string;
  at: string;
}

export interface WebhookEventRecord {
  id: string;
  receivedAt: string;
  provider: string;
  eventType: string;
  deliveryId: string | null;
  repository: string | null;
  branch: string | null;
  tag: string | null;
  commitSha: string | null;
  sender: string | null;
  commitMessage: string | null;
  commitAuthor: string | null;
  /** accepted | ignored | refused | failed */
  outcome: string;
  reason: string | null;
  processed: boolean;
  deploymentId: string | null;
}

/** Finished deployments of a period, from the daily counters. */
export interface DeploymentCounters {
  total: number;
  successful: number;
  failed: number;
  rolledBack: number;
  avgDurationSeconds: number | null;
  /** percent, 0..100 */
  successRate: number;
}

/** DORA's four keys over a window (see stats.repository.ts). */
export interface DoraTotals {
  /** Successful deployments per day over the window. */
  deploymentFrequency: number;
  /** Median time from the commit to its deployment's SUCCESS, in seconds; null without one. */
  leadTimeSeconds: number | null;
  /** FAILED or ROLLED_BACK ÷ deployments that ran to an outcome, percent 0..100; null without any. */
  changeFailureRate: number | null;
  /** Median time from a failure to the next SUCCESS of its fraise and environment, in seconds; null without one. */
  timeToRestoreSeconds: number | null;
}

/** DORA's four keys for one fraise and environment. */
export interface DoraFigures extends DoraTotals {
  fraise: string;
  environment: string;
}

/** A period's statistics, whole: its counters and DORA's keys. */
export type DeploymentStats = DeploymentCounters & DoraTotals;

/**
 * The counters of a period, and its DORA figures read only when asked for: they read every
 * finished deployment of the period, where the counters read a few rows of daily totals.
 */
export interface StatsReading extends DeploymentCounters {
  dora(): Promise<DoraTotals>;
}

/** What deploy / rollback answer. */
export interface DeploymentResult {
  success: boolean;
  message: string | null;
  dryRun: boolean;
  /** The steps that will run (or would, for a dry run), in order. */
  plan: string[];
  /** The queued deployment; null for a dry run or a refusal. */
  deployment: Deployment | null;
}

/** What a webhook delivery became. */
export interface WebhookResult {
  accepted: boolean;
  message: string | null;
  /** This delivery id had already been processed. */
  duplicate: boolean;
  event: WebhookEventRecord | null;
  deployments: Deployment[];
}

/** pending: to send (again); delivered; failed: refused for good or given up; disabled: its destination is gone; dropped: its destination is no longer configured. */
export const NOTIFICATION_STATUSES = ['pending', 'delivered', 'failed', 'disabled', 'dropped'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

/**
 * What a notification tells: a deployment started, succeeded, failed, was rolled back or waits
 * for approval (config/types.ts NOTIFICATION_EVENTS, the lists' events), or the health monitor
 * saw an environment's health change.
 */
export const NOTIFICATION_RECORD_EVENTS = ['started', 'success', 'failure', 'rollback', 'approval', 'health'] as const;
export type NotificationRecordEvent = (typeof NOTIFICATION_RECORD_EVENTS)[number];

/** What one attempt came to: delivered, to try again, refused for good, or the destination gone. */
export const ATTEMPT_OUTCOMES = ['delivered', 'retry', 'failed', 'disabled'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

export interface NotificationAttemptRecord {
  attempt: number;
  at: string;
  outcome: AttemptOutcome;
  statusCode: number | null;
  /** Secrets masked. */
  error: string | null;
  durationMs: number;
  /** retry: when the next attempt is due. */
  retryAt: string | null;
}

/** One notification: an event for one destination, and what became of it. */
export interface NotificationRecord {
  id: string;
  eventId: string;
  event: NotificationRecordEvent;
  fraise: string;
  environment: string;
  /** The deployment it tells of; null for a change of health. */
  deploymentId: string | null;
  /** health: the change it tells of. */
  healthChange: EnvironmentStatusChange | null;
  destination: { type: string; target: string; path: string };
  status: NotificationStatus;
  attemptCount: number;
  createdAt: string;
  nextAttemptAt: string | null;
  completedAt: string | null;
  lastError: string | null;
  attempts: NotificationAttemptRecord[];
}
