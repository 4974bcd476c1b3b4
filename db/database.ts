import type { Generated } from 'kysely';
import type { DeploymentStatus, HealthStatus } from '../src/model.js';

/*
 * Fraisier's own store. Tables are `tb_*` (the write side), views `v_*` (the read side).
 * Timestamps are ISO-8601 UTC strings with milliseconds ("2026-11-21T10:00:00.000Z"): they sort
 * as text and read the same on SQLite, PostgreSQL and MySQL. Booleans are 0/1 integers.
 * Statuses are stored in lower case (`in_progress`); the API shows them upper case.
 */

/** Every ask to deploy: immutable once written. One request creates one deployment. */
export interface DeploymentRequestTable {
  id: Generated<number>;
  fraise: string;
  environment: string;
  /** deploy | rollback | job */
  kind: string;
  requested_at: string;
  requested_by: string | null;
  /** webhook | manual | api | scheduled */
  trigger_type: string;
  git_branch: string | null;
  git_commit: string | null;
  /** rollback: the version asked for (null: the last good one before the current) */
  to_version: string | null;
  /** scheduled and backup fraises: the job this run is for */
  job: string | null;
  force: number;
  fk_webhook_event: number | null;
  /** JSON: values from outside (author, message, sender, ...) handed to commands as env vars */
  context: string | null;
  /**
   * Scheduled job runs: `<fraise>/<env>/<job>@<occurrence ISO>`, unique, so that instances
   * sharing the store queue each occurrence once; null otherwise.
   */
  run_key: string | null;
}

/** A deployment: the state machine a request goes through, from PENDING to an end. */
export interface DeploymentTable {
  id: Generated<number>;
  fk_request: number;
  fraise: string;
  environment: string;
  job: string | null;
  status: DeploymentStatus;
  requested_at: string;
  started_at: string | null;
  completed_at: string | null;
  duration_seconds: number | null;
  old_version: string | null;
  new_version: string | null;
  git_commit: string | null;
  git_branch: string | null;
  /** The deployed commit's committer date (ISO 8601), recorded by the fetch: where lead time starts. */
  commit_time: string | null;
  target_provider: string;
  /** JSON, secrets already removed */
  target_config: string | null;
  error_message: string | null;
  /** JSON: what the pipeline recorded (release path, plan, rollback reason, ...) */
  details: string | null;
  /**
   * `fraise/environment` while the deployment is IN_PROGRESS, else null. A unique index on it is
   * what makes "one deployment at a time per (fraise, environment)" a database guarantee.
   */
  lock_key: string | null;
  /** `host#n` while running: the unique index caps deployments per target host, across instances. */
  host_slot: string | null;
  /** The instance holding the deployment and until when; renewed by its heartbeat. */
  lease_owner: string | null;
  lease_expires_at: string | null;
  heartbeat_at: string | null;
  /** When the pipeline first changed the target (after it, an interrupted run is not retried). */
  touched_at: string | null;
  attempt: number;
  cancel_requested: number;
  /**
   * The generation of the lock key this deployment's current claim took (tb_target_fence): its
   * progress, status and release writes only land while the row still carries it.
   */
  fence: number | null;
  /** While a command of this deployment runs: its process group on the Fraisier machine. */
  process_group: number | null;
  /** Which process that is (`<boot id>:<start time>`), so a reused pid is never signalled. */
  process_identity: string | null;
  /** Who wants it paused at its next step boundary (null: nobody); resume and promote clear it. */
  pause_requested_by: string | null;
  /** Who asked to release the current pause; the instance running it clears it on resuming. */
  resume_requested_by: string | null;
  /** Who promoted it (kept): the remaining steps and pauses of its strategy are skipped. */
  promoted_by: string | null;
  /** While PAUSED by a timed hold: when the hold ends. */
  paused_until: string | null;
  /** While PAUSED: why (the strategy's message, or who paused it). */
  pause_message: string | null;
  /** JSON: the GateState[] of the last verdict recorded (null: unprotected, or not evaluated yet). */
  gates: string | null;
  /** When it first waited on a gate (the approvals timeout counts from it). */
  waiting_since: string | null;
  /** While WAITING: when the verdict may change by time alone (null: only a new fact changes it). */
  wake_at: string | null;
  /** The admin token whose forced deploy goes through a freeze. */
  freeze_override_by: string | null;
  /** Bumped by every verdict and decision recorded: their compare-and-set. */
  gate_version: Generated<number>;
}

/** One approver's decision on a deployment waiting on an approvals gate (one per actor). */
export interface DeploymentApprovalTable {
  id: Generated<number>;
  fk_deployment: number;
  /** The token name that decided. */
  actor: string;
  /** approve | reject */
  decision: string;
  /** The approval's comment, or the rejection's reason. */
  comment: string | null;
  at: string;
}

/** The last generation handed out per lock key: incremented by every claim. */
export interface TargetFenceTable {
  lock_key: string;
  generation: number;
}

/** Every progress event of a deployment, numbered 1, 2, 3, ... without gaps. */
export interface DeploymentProgressTable {
  id: Generated<number>;
  fk_deployment: number;
  sequence: number;
  step: string;
  progress: number;
  message: string | null;
  created_at: string;
  /** JSON: TrafficShare[] on the events where the traffic moved, else null. */
  traffic: string | null;
}

/** What runs where: one row per (fraise, environment). */
export interface FraiseStateTable {
  id: Generated<number>;
  fraise: string;
  environment: string;
  current_version: string | null;
  last_deployed_at: string | null;
  last_deployed_by: string | null;
  status: HealthStatus;
  target_provider: string | null;
  fk_last_deployment: number | null;
  updated_at: string;
}

/** Every webhook delivery that could be recorded, with what became of it. */
export interface WebhookEventTable {
  id: Generated<number>;
  received_at: string;
  /** github | gitlab | gitea | bitbucket | custom:<name> */
  provider: string;
  event_type: string;
  delivery_id: string | null;
  repository: string | null;
  ref: string | null;
  branch: string | null;
  tag: string | null;
  commit_sha: string | null;
  before_sha: string | null;
  sender: string | null;
  commit_message: string | null;
  commit_author: string | null;
  /** accepted | ignored | refused | failed */
  outcome: string;
  reason: string | null;
  processed: number;
  source_ip: string | null;
  payload: string | null;
  /** the first deployment this delivery queued (the others link back via their request) */
  fk_deployment: number | null;
}

/**
 * Finished deployments counted per day (of their start), fraise and environment, kept in the
 * same transaction that ends a deployment, so `stats` reads a few rows instead of a million.
 */
export interface DeploymentDailyStatsTable {
  day: string;
  fraise: string;
  environment: string;
  total: number;
  successful: number;
  failed: number;
  rolled_back: number;
  duration_sum: number;
  duration_count: number;
}

/** One notification: an event for one destination (see migrations/0007_notification_outbox.ts). */
export interface NotificationTable {
  id: Generated<number>;
  /** Stable id of the event, the same for every destination: e.g. d42.failure */
  event_id: string;
  fk_deployment: number | null;
  fraise: string;
  environment: string;
  /** started | success | failure | rollback | approval */
  event: string;
  /** JSON: the event as it was when recorded (NotificationPayload) */
  payload: string;
  destination_type: string;
  /** Where it sends, nothing secret in it */
  destination_target: string;
  /** Where it is configured (notifications.on_failure[0]) */
  destination_path: string;
  destination_fingerprint: string;
  /** pending | delivered | failed | disabled | dropped */
  status: string;
  attempts: number;
  created_at: string;
  /** pending: not before this instant */
  next_attempt_at: string | null;
  /** The sender sending it now, and until when (a sender that died: another takes it after). */
  lease_owner: string | null;
  lease_expires_at: string | null;
  completed_at: string | null;
  last_error: string | null;
}

export interface NotificationAttemptTable {
  id: Generated<number>;
  fk_notification: number;
  attempt: number;
  started_at: string;
  duration_ms: number;
  /** delivered | retry | failed | disabled */
  outcome: string;
  status_code: number | null;
  /** Secrets masked */
  error: string | null;
  retry_at: string | null;
  instance: string | null;
}

/** A destination that answered "gone": disabled until its settings (its URL) change. */
export interface NotificationDestinationTable {
  fingerprint: string;
  destination_type: string;
  destination_target: string;
  disabled_at: string;
  reason: string | null;
}

export interface DeploymentHistoryView {
  id: number;
  fraise: string;
  environment: string;
  job: string | null;
  status: DeploymentStatus;
  trigger_type: string;
  requested_by: string | null;
  kind: string;
  fk_webhook_event: number | null;
  requested_at: string;
  started_at: string;
  completed_at: string | null;
  duration_seconds: number | null;
  old_version: string | null;
  new_version: string | null;
  git_commit: string | null;
  git_branch: string | null;
  target_provider: string;
  target_config: string | null;
  error_message: string | null;
  paused_until: string | null;
  pause_message: string | null;
  promoted_by: string | null;
  gates: string | null;
  wake_at: string | null;
}

export interface FraiseStatusView {
  fraise: string;
  environment: string;
  current_version: string | null;
  status: HealthStatus;
  target_provider: string | null;
  last_deployed_at: string | null;
  last_deployed_by: string | null;
  last_deployment_id: number | null;
  last_deployment_status: DeploymentStatus | null;
  last_deploy_duration: number | null;
  last_git_commit: string | null;
}

export interface DeploymentStatsView {
  day: string;
  fraise: string;
  environment: string;
  total: number;
  successful: number;
  failed: number;
  rolled_back: number;
  duration_sum: number;
  duration_count: number;
}

export interface RecentWebhooksView {
  id: number;
  received_at: string;
  provider: string;
  event_type: string;
  delivery_id: string | null;
  repository: string | null;
  branch: string | null;
  tag: string | null;
  commit_sha: string | null;
  sender: string | null;
  commit_message: string | null;
  commit_author: string | null;
  outcome: string;
  reason: string | null;
  processed: number;
  deployment_id: number | null;
}

export interface Database {
  tb_deployment_request: DeploymentRequestTable;
  tb_deployment: DeploymentTable;
  tb_deployment_progress: DeploymentProgressTable;
  tb_deployment_approval: DeploymentApprovalTable;
  tb_fraise_state: FraiseStateTable;
  tb_webhook_event: WebhookEventTable;
  tb_deployment_daily_stats: DeploymentDailyStatsTable;
  tb_target_fence: TargetFenceTable;
  tb_notification: NotificationTable;
  tb_notification_attempt: NotificationAttemptTable;
  tb_notification_destination: NotificationDestinationTable;
  v_deployment_history: DeploymentHistoryView;
  v_fraise_status: FraiseStatusView;
  v_deployment_stats: DeploymentStatsView;
  v_recent_webhooks: RecentWebhooksView;
}
