import type { ExpressionBuilder, Kysely, Selectable } from 'kysely';
import type { Database, DeploymentHistoryView } from '../../db/database.js';
import { dialectOf } from '../../db/dialect.js';
import { QueryTemplate } from '../../db/query-template.js';
import { isCommitish } from '../git/refs.js';
import type { GateState } from '../gates/types.js';
import { type Deployment, type DeploymentStatus, isQueued, isRunning, QUEUED_STATUSES, RUNNING_STATUSES, type TriggerType } from '../model.js';
import { announceRequest } from './control.repository.js';
import { addDailyStats } from './stats.repository.js';
import type { Db } from './store.js';

/*
 * Deployments: the request (what was asked) and the deployment (what became of it).
 * Reads go through v_deployment_history, newest first by id.
 */

export interface NewDeployment {
  fraise: string;
  environment: string;
  kind: Deployment['kind'];
  trigger: TriggerType;
  requestedBy: string | null;
  requestedAt: string;
  gitBranch?: string | null;
  gitCommit?: string | null;
  toVersion?: string | null;
  job?: string | null;
  force?: boolean;
  webhookEventId?: number | null;
  /** Values from outside (author, message, ...) that commands receive as env vars. */
  context?: Record<string, string> | null;
  /** A scheduled job run's occurrence (`fraise/env/job@ISO`): unique, so it is queued once. */
  runKey?: string | null;
  /** A forced deploy by an admin token (or the open API) through a freeze: who. */
  freezeOverrideBy?: string | null;
  targetProvider: string;
  /** Already free of secrets. */
  targetConfig: Record<string, unknown> | null;
}

/** The tb_deployment_request row of a new deployment (every column, in a fixed order). */
function requestRow(d: NewDeployment) {
  return {
    fraise: d.fraise,
    environment: d.environment,
    kind: d.kind,
    requested_at: d.requestedAt,
    requested_by: d.requestedBy,
    trigger_type: d.trigger,
    git_branch: d.gitBranch ?? null,
    git_commit: d.gitCommit ?? null,
    to_version: d.toVersion ?? null,
    job: d.job ?? null,
    force: d.force ? 1 : 0,
    fk_webhook_event: d.webhookEventId ?? null,
    context: d.context ? JSON.stringify(d.context) : null,
    run_key: d.runKey ?? null,
  };
}

/** The tb_deployment row of a new (PENDING) deployment (every column, in a fixed order). */
function deploymentRow(d: NewDeployment, requestId: number) {
  return {
    fk_request: requestId,
    fraise: d.fraise,
    environment: d.environment,
    job: d.job ?? null,
    requested_at: d.requestedAt,
    git_commit: d.gitCommit ?? null,
    git_branch: d.gitBranch ?? null,
    target_provider: d.targetProvider,
    target_config: d.targetConfig ? JSON.stringify(d.targetConfig) : null,
    freeze_override_by: d.freezeOverrideBy ? d.freezeOverrideBy.slice(0, 200) : null,
  };
}

type RequestRow = ReturnType<typeof requestRow>;
type DeploymentRow = ReturnType<typeof deploymentRow>;

// Run for every queued deployment: built and compiled once (db/query-template.ts).
const insertRequest = new QueryTemplate((db: Kysely<Database>, v: RequestRow) => db.insertInto('tb_deployment_request').values(requestValues(v)).returning('id'));
const insertRequestMysql = new QueryTemplate((db: Kysely<Database>, v: RequestRow) => db.insertInto('tb_deployment_request').values(requestValues(v)));
const insertPending = new QueryTemplate((db: Kysely<Database>, v: DeploymentRow) => db.insertInto('tb_deployment').values(pendingValues(v)).returning('id'));
const insertPendingMysql = new QueryTemplate((db: Kysely<Database>, v: DeploymentRow) => db.insertInto('tb_deployment').values(pendingValues(v)));

/** Slot by slot (a template's slots are read by name, never spread). */
function requestValues(v: RequestRow): RequestRow {
  return {
    fraise: v.fraise,
    environment: v.environment,
    kind: v.kind,
    requested_at: v.requested_at,
    requested_by: v.requested_by,
    trigger_type: v.trigger_type,
    git_branch: v.git_branch,
    git_commit: v.git_commit,
    to_version: v.to_version,
    job: v.job,
    force: v.force,
    fk_webhook_event: v.fk_webhook_event,
    context: v.context,
    run_key: v.run_key,
  };
}

function pendingValues(v: DeploymentRow) {
  return {
    fk_request: v.fk_request,
    fraise: v.fraise,
    environment: v.environment,
    job: v.job,
    status: 'pending' as const,
    requested_at: v.requested_at,
    git_commit: v.git_commit,
    git_branch: v.git_branch,
    target_provider: v.target_provider,
    target_config: v.target_config,
    freeze_override_by: v.freeze_override_by,
    attempt: 0,
    cancel_requested: 0,
  };
}

/** Records a request and its PENDING deployment; returns the deployment id. */
export async function insertDeployment(db: Db, d: NewDeployment): Promise<number> {
  if (dialectOf(db) === 'mysql') {
    const request = await insertRequestMysql.execute(db, requestRow(d));
    return Number((await insertPendingMysql.execute(db, deploymentRow(d, Number(request.insertId)))).insertId);
  }
  const request = (await insertRequest.execute(db, requestRow(d))).rows[0]!;
  return Number((await insertPending.execute(db, deploymentRow(d, Number(request.id)))).rows[0]!.id);
}

export interface DeploymentFilter {
  fraise?: string;
  environment?: string;
  /** Tokens limited to some fraises / environments see only those. */
  fraiseIn?: readonly string[];
  environmentIn?: readonly string[];
  status?: DeploymentStatus;
  /** Only deployments requested at or after this instant (ISO). */
  since?: string;
  /** Keyset paging: only ids below this one. */
  beforeId?: number;
  limit: number;
}

export async function listDeployments(db: Db, filter: DeploymentFilter): Promise<Deployment[]> {
  let query = db.selectFrom('v_deployment_history').selectAll();
  if (filter.fraise !== undefined) query = query.where('fraise', '=', filter.fraise);
  if (filter.environment !== undefined) query = query.where('environment', '=', filter.environment);
  if (filter.fraiseIn !== undefined) query = query.where('fraise', 'in', filter.fraiseIn.length ? [...filter.fraiseIn] : ['']);
  if (filter.environmentIn !== undefined) {
    query = query.where('environment', 'in', filter.environmentIn.length ? [...filter.environmentIn] : ['']);
  }
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  if (filter.since !== undefined) query = query.where('requested_at', '>=', filter.since);
  if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId);
  const rows = await query.orderBy('id', 'desc').limit(filter.limit).execute();
  return rows.map(toDeployment);
}

export async function findDeployment(db: Db, id: number): Promise<Deployment | undefined> {
  const row = await db.selectFrom('v_deployment_history').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toDeployment(row) : undefined;
}

/** The deployments with these ids (those that exist). */
export async function findDeployments(db: Db, ids: readonly number[]): Promise<Deployment[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('v_deployment_history').selectAll().where('id', 'in', [...new Set(ids)]).execute();
  return rows.map(toDeployment);
}

export function toDeployment(row: Selectable<DeploymentHistoryView>): Deployment {
  return {
    id: String(row.id),
    fraise: row.fraise,
    environment: row.environment,
    job: row.job,
    kind: row.kind as Deployment['kind'],
    status: row.status,
    triggeredBy: row.trigger_type as TriggerType,
    requestedBy: row.requested_by,
    requestedAt: row.requested_at,
    startedAt: row.started_at,
    completedAt: row.completed_at,
    durationSeconds: row.duration_seconds === null ? null : Number(row.duration_seconds),
    oldVersion: row.old_version,
    newVersion: row.new_version,
    gitCommit: row.git_commit,
    gitBranch: row.git_branch,
    target: { provider: row.target_provider, config: row.target_config ? (JSON.parse(row.target_config) as Record<string, unknown>) : null },
    errorMessage: row.error_message,
    webhookEventId: row.fk_webhook_event === null ? null : String(row.fk_webhook_event),
    pausedUntil: row.paused_until,
    pauseMessage: row.pause_message,
    promoted: row.promoted_by !== null,
    gates: row.gates ? (JSON.parse(row.gates) as GateState[]) : null,
    waitingUntil: row.status === 'waiting' ? row.wake_at : null,
  };
}

/** The lock key that the unique index holds while a deployment runs. */
export function lockKeyOf(fraise: string, environment: string, job?: string | null): string {
  return job ? `${fraise}/${environment}/${job}` : `${fraise}/${environment}`;
}

export interface StartValues {
  startedAt: string;
  leaseOwner: string;
  leaseExpiresAt: string;
  oldVersion: string | null;
  lockKey: string;
  hostSlot: string | null;
  /**
   * A deployment of a protected environment: the gate_version its passing verdict was read at.
   * The start is then a compare-and-set: a decision or a verdict recorded meanwhile refuses it
   * (evaluated again at the next tick).
   */
  gateVersion?: number;
}

/**
 * PENDING or WAITING → IN_PROGRESS. False when it was no longer queued (or, with `gateVersion`,
 * its gates changed meanwhile). Throws a unique violation when another deployment of the same
 * (fraise, environment) holds the lock.
 */
export async function startDeployment(db: Db, id: number, values: StartValues): Promise<boolean> {
  const result = await db
    .updateTable('tb_deployment')
    .set((eb) => ({
      status: 'in_progress',
      started_at: values.startedAt,
      lock_key: values.lockKey,
      host_slot: values.hostSlot,
      lease_owner: values.leaseOwner,
      lease_expires_at: values.leaseExpiresAt,
      heartbeat_at: values.startedAt,
      old_version: values.oldVersion,
      attempt: eb('attempt', '+', 1),
      wake_at: null,
      ...(values.gateVersion !== undefined ? { gate_version: eb('gate_version', '+', 1) } : {}),
    }))
    .where('id', '=', id)
    .where('status', 'in', QUEUED_STATUSES)
    .$if(values.gateVersion !== undefined, (qb) => qb.where('gate_version', '=', values.gateVersion!))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * The leases the sweep may act on: expired (or never set), and, at start-up, those still held in
 * the name of this very instance (its previous life: nothing of it runs any more).
 */
export function staleLease(now: string, previousSelf?: string) {
  return (eb: ExpressionBuilder<Database, 'tb_deployment'>) =>
    eb.or([
      eb('lease_expires_at', '<', now),
      eb('lease_expires_at', 'is', null),
      ...(previousSelf !== undefined ? [eb('lease_owner', '=', previousSelf)] : []),
    ]);
}

export interface FinishValues {
  status: Exclude<DeploymentStatus, 'pending' | 'waiting' | 'in_progress' | 'paused'>;
  completedAt: string;
  newVersion?: string | null;
  errorMessage?: string | null;
  details?: Record<string, unknown> | null;
  /** The deployed commit's committer date, when the run learned it. */
  commitTime?: string | null;
  /**
   * Ends it only while it runs (IN_PROGRESS or PAUSED) under this generation (the holder ending
   * its own run): a stale holder's end is refused.
   */
  fence?: number;
  /** Ends it only while its lease is stale (the sweep): a lease renewed meanwhile wins. */
  leaseStale?: { now: string; previousSelf?: string };
}

/**
 * Ends a deployment (from PENDING, WAITING, IN_PROGRESS or PAUSED), releases its lock and lease, and counts it in
 * the daily statistics. Call it inside a transaction. Returns false when it had already ended,
 * or when a condition (`fence`, `leaseStale`) no longer holds.
 */
export async function finishDeployment(db: Db, id: number, values: FinishValues): Promise<boolean> {
  const row = await db
    .selectFrom('tb_deployment')
    .select(['fraise', 'environment', 'status', 'requested_at', 'started_at', 'fence'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row || (!isQueued(row.status) && !isRunning(row.status))) return false;
  if (values.fence !== undefined && (!isRunning(row.status) || Number(row.fence) !== values.fence)) return false;
  const ran = row.started_at !== null;
  const durationSeconds = ran ? Math.max(0, (Date.parse(values.completedAt) - Date.parse(row.started_at!)) / 1000) : null;
  const result = await db
    .updateTable('tb_deployment')
    .set({
      status: values.status,
      completed_at: values.completedAt,
      duration_seconds: durationSeconds,
      ...(values.newVersion !== undefined ? { new_version: values.newVersion } : {}),
      ...(values.errorMessage !== undefined ? { error_message: values.errorMessage } : {}),
      ...(values.details !== undefined ? { details: values.details ? JSON.stringify(values.details) : null } : {}),
      ...(values.commitTime ? { commit_time: values.commitTime } : {}),
      lock_key: null,
      host_slot: null,
      lease_owner: null,
      lease_expires_at: null,
      process_group: null,
      process_identity: null,
      paused_until: null,
      pause_message: null,
      wake_at: null,
    })
    .where('id', '=', id)
    // Paused or not, a running deployment is the same run; waiting or not, a queued one too.
    .where('status', 'in', isRunning(row.status) ? RUNNING_STATUSES : QUEUED_STATUSES)
    .$if(values.fence !== undefined, (qb) => qb.where('fence', '=', values.fence!))
    .$if(values.leaseStale !== undefined, (qb) => qb.where(staleLease(values.leaseStale!.now, values.leaseStale!.previousSelf)))
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) return false;
  if (values.status === 'success' || values.status === 'failed' || values.status === 'rolled_back') {
    await addDailyStats(db, {
      day: (row.started_at ?? row.requested_at).slice(0, 10),
      fraise: row.fraise,
      environment: row.environment,
      total: 1,
      successful: values.status === 'success' ? 1 : 0,
      failed: values.status === 'failed' ? 1 : 0,
      rolledBack: values.status === 'rolled_back' ? 1 : 0,
      durationSum: durationSeconds ?? 0,
      durationCount: durationSeconds === null ? 0 : 1,
    });
  }
  return true;
}

/** Versions successfully deployed to an environment (job runs deploy none). */
function successfulVersions(db: Db, fraise: string, environment: string) {
  return db
    .selectFrom('tb_deployment')
    .select('new_version')
    .where('fraise', '=', fraise)
    .where('environment', '=', environment)
    .where('status', '=', 'success')
    .where('job', 'is', null);
}

/** The recorded version a rollback asks for: exact, or a commit prefix of at least 7 characters. */
export async function findSuccessfulVersion(db: Db, fraise: string, environment: string, wanted: string): Promise<string | undefined> {
  const base = successfulVersions(db, fraise, environment);
  const exact = await base.where('new_version', '=', wanted).orderBy('id', 'desc').limit(1).executeTakeFirst();
  if (exact?.new_version) return exact.new_version;
  if (!isCommitish(wanted)) return undefined;
  const prefixed = await base.where('new_version', 'like', `${wanted.toLowerCase()}%`).orderBy('id', 'desc').limit(1).executeTakeFirst();
  return prefixed?.new_version ?? undefined;
}

/** The last successful version that is not the one running now. */
export async function previousSuccessfulVersion(db: Db, fraise: string, environment: string, current: string | null): Promise<string | undefined> {
  let query = successfulVersions(db, fraise, environment).where('new_version', 'is not', null);
  if (current) query = query.where('new_version', '<>', current);
  const row = await query.orderBy('id', 'desc').limit(1).executeTakeFirst();
  return row?.new_version ?? undefined;
}

/**
 * The newest deployment (not a job run) that ran in an environment and ended, whatever it came
 * to: what the environment last tried, beside what runs there. Walks ix_deployment_pair from the newest.
 */
export async function lastAttempt(db: Db, fraise: string, environment: string): Promise<Deployment | undefined> {
  // On the table: the view shows a deployment that never started as started when requested.
  const row = await db
    .selectFrom('tb_deployment')
    .select('id')
    .where('fraise', '=', fraise)
    .where('environment', '=', environment)
    .where('job', 'is', null)
    .where('started_at', 'is not', null)
    .where('status', 'in', ['success', 'failed', 'rolled_back', 'cancelled'])
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? findDeployment(db, Number(row.id)) : undefined;
}

/** A deployment queued (waiting on a gate or not) or running for a (fraise, environment): what a new push is ordered against. */
export interface ActiveDeployment {
  id: number;
  status: 'pending' | 'waiting' | 'in_progress' | 'paused';
  gitCommit: string | null;
}

/** What an environment is headed to: the version running there and the deployments not yet ended. */
export interface DeploymentHeads {
  /** tb_fraise_state.current_version (null before the first deployment). */
  current: string | null;
  /** Deployments (not job runs) queued (PENDING, WAITING) or running, newest first. */
  active: ActiveDeployment[];
}

const activeDeployments = new QueryTemplate((db: Kysely<Database>, v: { fraise: string; environment: string }) =>
  db
    .selectFrom('tb_deployment')
    .select(['id', 'status', 'git_commit'])
    .where('status', 'in', [...QUEUED_STATUSES, ...RUNNING_STATUSES])
    .where('fraise', '=', v.fraise)
    .where('environment', '=', v.environment)
    .where('job', 'is', null),
);

const currentVersion = new QueryTemplate((db: Kysely<Database>, v: { fraise: string; environment: string }) =>
  db.selectFrom('tb_fraise_state').select('current_version').where('fraise', '=', v.fraise).where('environment', '=', v.environment),
);

export async function deploymentHeads(db: Db, fraise: string, environment: string): Promise<DeploymentHeads> {
  const pair = { fraise, environment };
  // Driven by ix_deployment_pair_status: few rows are ever queued or in progress. Sorted here,
  // not by the query: with ORDER BY id SQLite reads the pair's whole history in id order instead.
  const active = (await activeDeployments.execute(db, pair)).rows.sort((a, b) => Number(b.id) - Number(a.id));
  const state = (await currentVersion.execute(db, pair)).rows[0];
  return {
    current: state?.current_version ?? null,
    active: active.map((row) => ({ id: Number(row.id), status: row.status as ActiveDeployment['status'], gitCommit: row.git_commit })),
  };
}

/** One push recorded for an environment: the branch went from `before` to `commit`. */
export interface RecordedPush {
  commit: string;
  before: string;
}

/**
 * The pushes that queued deployments to an environment (whatever became of them), newest
 * first, at most `limit`: what is known of the order of its commits without asking git.
 */
export async function recentPushes(db: Db, fraise: string, environment: string, limit: number): Promise<RecordedPush[]> {
  let template = recentPushTemplates.get(limit);
  // The limit is written into the statement (see db/pg-prepared.ts): one template per limit.
  if (!template) recentPushTemplates.set(limit, (template = recentPushesTemplate(limit)));
  const { rows } = await template.execute(db, { fraise, environment });
  return rows.flatMap((row) => (row.git_commit && row.before_sha ? [{ commit: row.git_commit, before: row.before_sha }] : []));
}

const recentPushTemplates = new Map<number, ReturnType<typeof recentPushesTemplate>>();

function recentPushesTemplate(limit: number) {
  return new QueryTemplate((db: Kysely<Database>, v: { fraise: string; environment: string }) =>
    db
      .selectFrom('tb_deployment as d')
      .innerJoin('tb_deployment_request as r', 'r.id', 'd.fk_request')
      .innerJoin('tb_webhook_event as e', 'e.id', 'r.fk_webhook_event')
      .select(['d.git_commit', 'e.before_sha'])
      .where('d.fraise', '=', v.fraise)
      .where('d.environment', '=', v.environment)
      .where('d.job', 'is', null)
      .where('r.trigger_type', '=', 'webhook')
      .orderBy('d.id', 'desc')
      .limit(limit),
  );
}

/** Who asked for a deployment, and for a push, where the branch was before it. */
export async function findPushOrigin(db: Db, id: number): Promise<{ trigger: TriggerType; before: string | null } | undefined> {
  const row = await db
    .selectFrom('tb_deployment as d')
    .innerJoin('tb_deployment_request as r', 'r.id', 'd.fk_request')
    .leftJoin('tb_webhook_event as e', 'e.id', 'r.fk_webhook_event')
    .select(['r.trigger_type', 'e.before_sha'])
    .where('d.id', '=', id)
    .executeTakeFirst();
  return row ? { trigger: row.trigger_type as TriggerType, before: row.before_sha ?? null } : undefined;
}

/** The queued (PENDING or WAITING) deployments of a pair older than `newerThan`, ended together as SUPERSEDED. */
export interface SupersedeTarget {
  fraise: string;
  environment: string;
  job: string | null;
  newerThan: number;
  at: string;
  /** The reason recorded on each. */
  errorMessage: string;
}

/**
 * Ends the queued (PENDING or WAITING) deployments of a pair older than `newerThan` as SUPERSEDED, in one statement
 * (they never started: no lock, lease or statistics to release). Returns their ids.
 */
export async function supersedePendingOlder(trx: Db, target: SupersedeTarget): Promise<number[]> {
  if (dialectOf(trx) !== 'mysql') {
    const values = { fraise: target.fraise, environment: target.environment, job: target.job, newerThan: target.newerThan, at: target.at, errorMessage: target.errorMessage };
    const { rows } = await (target.job === null ? supersedePairPending : supersedeJobPending).execute(trx, values);
    return rows.map((r) => Number(r.id));
  }
  // MySQL has no RETURNING: lock the rows, then update them.
  let select = trx
    .selectFrom('tb_deployment')
    .select('id')
    .where('fraise', '=', target.fraise)
    .where('environment', '=', target.environment)
    .where('status', 'in', QUEUED_STATUSES)
    .where('id', '<', target.newerThan);
  select = target.job === null ? select.where('job', 'is', null) : select.where('job', '=', target.job);
  const ids = (await select.forUpdate().execute()).map((r) => Number(r.id));
  if (ids.length) {
    await trx
      .updateTable('tb_deployment')
      .set({ status: 'superseded', completed_at: target.at, error_message: target.errorMessage, wake_at: null })
      .where('id', 'in', ids)
      .where('status', 'in', QUEUED_STATUSES)
      .execute();
  }
  return ids;
}

type SupersedeValues = Omit<SupersedeTarget, 'job'> & { job: string | null };

function supersedePending(db: Kysely<Database>, v: SupersedeValues) {
  return db
    .updateTable('tb_deployment')
    .set({ status: 'superseded', completed_at: v.at, error_message: v.errorMessage, wake_at: null })
    .where('fraise', '=', v.fraise)
    .where('environment', '=', v.environment)
    .where('status', 'in', QUEUED_STATUSES)
    .where('id', '<', v.newerThan);
}

// Deployments and job runs are told apart by `job`: null (is null) or a name (a slot).
const supersedePairPending = new QueryTemplate((db: Kysely<Database>, v: SupersedeValues) => supersedePending(db, v).where('job', 'is', null).returning('id'));
const supersedeJobPending = new QueryTemplate((db: Kysely<Database>, v: SupersedeValues) => supersedePending(db, v).where('job', '=', v.job).returning('id'));

/**
 * Asks the process running a deployment to stop it (it reads the flag at every lease renewal, and
 * at once when told on PostgreSQL); only while it runs.
 */
export async function requestCancel(db: Db, id: number): Promise<void> {
  const result = await db.updateTable('tb_deployment').set({ cancel_requested: 1 }).where('id', '=', id).where('status', 'in', RUNNING_STATUSES).executeTakeFirst();
  if (Number(result.numUpdatedRows) === 1) await announceRequest(db, id);
}

