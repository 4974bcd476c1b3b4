import { maskSecrets } from '../../config/secrets.js';
import { type EnvironmentConfig, type FraiseConfig, isBuiltinGitProvider, type JobConfig } from '../../config/types.js';
import type { GateState } from '../../gates/types.js';
import type { Deployment, DeploymentProgress, DeploymentResult, DeploymentStats, FraiseState, NotificationRecord, TrafficShare, WebhookEventRecord } from '../../model.js';

/*
 * What the CLI shows and prints with --json: the GraphQL API's shapes and values (upper-case
 * enums, ISO timestamps, masked target settings). The remote client gets them from the API as
 * they are; the local client builds them from the services' records with the functions below,
 * the same way the resolvers do, so both modes print the same thing.
 */

export interface TargetView {
  provider: string;
  config: Record<string, unknown> | null;
}

export interface JobView {
  name: string;
  description: string | null;
  schedule: string | null;
  systemdTimer: string | null;
  dependsOn: string[];
}

export interface EnvironmentView {
  name: string;
  branch: string | null;
  target: TargetView;
  currentVersion: string | null;
  lastDeployedAt: string | null;
  status: string;
  jobs: JobView[];
}

export interface FraiseView {
  name: string;
  type: string;
  description: string | null;
  database: { type: string; name: string | null; strategy: string } | null;
  environments: EnvironmentView[];
}

export interface DeploymentView {
  id: string;
  fraise: string;
  environment: string;
  job: string | null;
  status: string;
  triggeredBy: string;
  requestedBy: string | null;
  requestedAt: string;
  startedAt: string;
  completedAt: string | null;
  durationSeconds: number | null;
  oldVersion: string | null;
  newVersion: string | null;
  gitCommit: string | null;
  gitBranch: string | null;
  target: TargetView;
  errorMessage: string | null;
  /** While PAUSED by a timed hold: when it ends. */
  pausedUntil: string | null;
  /** While PAUSED: why. */
  pauseMessage: string | null;
  promoted: boolean;
  /** Its environment's protection rules as last evaluated; null when it has none (or not yet evaluated). */
  gates: GateView[] | null;
  /** While WAITING: when a gate may open by time alone; else null. */
  waitingUntil: string | null;
}

/** One gate (DeploymentGate): kind and decision upper case, as the API's enums. */
export interface GateView {
  kind: string;
  satisfied: boolean;
  message: string;
  approvals: { by: string; decision: string; at: string; comment: string | null }[];
}

export interface ProgressView {
  deploymentId: string;
  sequence: number;
  step: string;
  progress: number;
  message: string | null;
  timestamp: string;
  /** Where the requests go from this event on, when it moved them (blue-green, canary); else null. */
  traffic?: TrafficShare[] | null;
}

export interface DeploymentResultView {
  success: boolean;
  message: string | null;
  dryRun: boolean;
  plan: string[];
  deployment: DeploymentView | null;
}

export type StatsView = DeploymentStats;

/** A delivery as the API answers it: `provider` the enum, `providerName` the stored name, the deployment inline. */
/** The API's TargetHealth: the health a target reports now. */
export interface TargetHealthView {
  status: string;
  message: string;
}

export function targetHealthView(h: { status: string; message: string }): TargetHealthView {
  return { status: h.status.toUpperCase(), message: h.message };
}

export interface WebhookEventView extends Omit<WebhookEventRecord, 'deploymentId'> {
  providerName: string;
  deployment: { id: string; fraise: string; environment: string; status: string } | null;
}

const iso = (value: string | null): string | null => (value === null ? null : new Date(value).toISOString());

export function targetView(target: { provider: string; config: Record<string, unknown> | null }): TargetView {
  return { provider: target.provider, config: target.config ? maskSecrets(target.config) : null };
}

export function jobView(job: JobConfig): JobView {
  return {
    name: job.name,
    description: job.description ?? null,
    schedule: job.schedule ?? null,
    systemdTimer: job.systemdTimer ?? null,
    dependsOn: [...job.dependsOn],
  };
}

export function environmentView(env: EnvironmentConfig, state: FraiseState | undefined): EnvironmentView {
  return {
    name: env.name,
    branch: env.branch ?? null,
    target: targetView(env.target),
    currentVersion: state?.currentVersion ?? null,
    lastDeployedAt: iso(state?.lastDeployedAt ?? null),
    status: (state?.status ?? 'unknown').toUpperCase(),
    jobs: env.jobs.map(jobView),
  };
}

export function fraiseView(fraise: FraiseConfig, states: Map<string, FraiseState>): FraiseView {
  return {
    name: fraise.name,
    type: fraise.type.toUpperCase(),
    description: fraise.description ?? null,
    database: fraise.database ? { type: fraise.database.type, name: fraise.database.name ?? null, strategy: fraise.database.strategy } : null,
    environments: fraise.environments.map((env) => environmentView(env, states.get(`${fraise.name}/${env.name}`))),
  };
}

export function deploymentView(d: Deployment): DeploymentView {
  return {
    id: d.id,
    fraise: d.fraise,
    environment: d.environment,
    job: d.job,
    status: d.status.toUpperCase(),
    triggeredBy: d.triggeredBy.toUpperCase(),
    requestedBy: d.requestedBy,
    requestedAt: iso(d.requestedAt)!,
    startedAt: iso(d.startedAt)!,
    completedAt: iso(d.completedAt),
    durationSeconds: d.durationSeconds,
    oldVersion: d.oldVersion,
    newVersion: d.newVersion,
    gitCommit: d.gitCommit,
    gitBranch: d.gitBranch,
    target: targetView(d.target),
    errorMessage: d.errorMessage,
    pausedUntil: iso(d.pausedUntil),
    pauseMessage: d.pauseMessage,
    promoted: d.promoted,
    gates: d.gates ? d.gates.map(gateView) : null,
    waitingUntil: iso(d.waitingUntil),
  };
}

export function gateView(g: GateState): GateView {
  return {
    kind: g.kind.toUpperCase(),
    satisfied: g.satisfied,
    message: g.message,
    approvals: g.approvals.map((a) => ({ by: a.by, decision: a.decision.toUpperCase(), at: iso(a.at)!, comment: a.comment })),
  };
}

export function progressView(p: DeploymentProgress): ProgressView {
  return { deploymentId: p.deploymentId, sequence: p.sequence, step: p.step, progress: p.progress, message: p.message, timestamp: iso(p.timestamp)!, traffic: p.traffic ?? null };
}

export function resultView(r: DeploymentResult): DeploymentResultView {
  return { success: r.success, message: r.message, dryRun: r.dryRun, plan: [...r.plan], deployment: r.deployment ? deploymentView(r.deployment) : null };
}

export function webhookEventView(e: WebhookEventRecord, deployment: Deployment | undefined): WebhookEventView {
  return {
    id: e.id,
    receivedAt: iso(e.receivedAt)!,
    provider: isBuiltinGitProvider(e.provider) ? e.provider.toUpperCase() : 'CUSTOM',
    providerName: e.provider,
    eventType: e.eventType,
    deliveryId: e.deliveryId,
    repository: e.repository,
    branch: e.branch,
    tag: e.tag,
    commitSha: e.commitSha,
    sender: e.sender,
    commitMessage: e.commitMessage,
    commitAuthor: e.commitAuthor,
    outcome: e.outcome,
    reason: e.reason,
    processed: e.processed,
    deployment: deployment ? { id: deployment.id, fraise: deployment.fraise, environment: deployment.environment, status: deployment.status.toUpperCase() } : null,
  };
}

/** A notification as the API shows it (enums upper case, times ISO). */
export interface NotificationView {
  id: string;
  eventId: string;
  event: string;
  fraise: string;
  environment: string;
  deployment: { id: string } | null;
  /** HEALTH: the change it tells of (statuses upper case). */
  healthChange: { status: string; previous: string; message: string; at: string } | null;
  destination: { type: string; target: string; path: string };
  status: string;
  attemptCount: number;
  createdAt: string;
  nextAttemptAt: string | null;
  completedAt: string | null;
  lastError: string | null;
  attempts: { attempt: number; at: string; outcome: string; statusCode: number | null; error: string | null; durationMs: number; retryAt: string | null }[];
}

export function notificationView(n: NotificationRecord): NotificationView {
  return {
    id: n.id,
    eventId: n.eventId,
    event: n.event.toUpperCase(),
    fraise: n.fraise,
    environment: n.environment,
    deployment: n.deploymentId ? { id: n.deploymentId } : null,
    healthChange: n.healthChange
      ? { status: n.healthChange.status.toUpperCase(), previous: n.healthChange.previous.toUpperCase(), message: n.healthChange.message, at: iso(n.healthChange.at)! }
      : null,
    destination: { ...n.destination },
    status: n.status.toUpperCase(),
    attemptCount: n.attemptCount,
    createdAt: iso(n.createdAt)!,
    nextAttemptAt: iso(n.nextAttemptAt),
    completedAt: iso(n.completedAt),
    lastError: n.lastError,
    attempts: n.attempts.map((a) => ({
      attempt: a.attempt,
      at: iso(a.at)!,
      outcome: a.outcome.toUpperCase(),
      statusCode: a.statusCode,
      error: a.error,
      durationMs: a.durationMs,
      retryAt: iso(a.retryAt),
    })),
  };
}
