import type { Insertable, Kysely, Selectable } from 'kysely';
import type { Database, NotificationTable } from '../../db/database.js';
import { dialectOf } from '../../db/dialect.js';
import type { AttemptOutcome, EnvironmentStatusChange, NotificationAttemptRecord, NotificationRecord, NotificationStatus } from '../model.js';
import type { Db } from './store.js';

/*
 * The notification outbox: rows written in the transaction of the event they tell about,
 * claimed by a sender under a lease, settled with one attempt recorded each time.
 *
 * Claiming: on PostgreSQL and MySQL the due rows are locked with FOR UPDATE SKIP LOCKED, so two
 * senders never wait on (nor take) the same row; on every dialect the lease update is
 * conditional on the row being free (no lease, or an expired one), and a sender reads back only
 * the rows whose lease carries its own token, so a row has one sender at a time. A sender that
 * died leaves its lease to expire; the next claim after that takes the row again. Settling is
 * conditional on the lease still being the sender's own.
 */

export type NewNotification = Omit<Insertable<NotificationTable>, 'id' | 'attempts' | 'lease_owner' | 'lease_expires_at' | 'completed_at'>;

/** Writes the rows; a row whose (event, destination) is already there is left as it was. */
export async function insertNotifications(db: Db, rows: readonly NewNotification[]): Promise<void> {
  if (rows.length === 0) return;
  const values = rows.map((row) => ({ ...row, attempts: 0 }));
  if (dialectOf(db) === 'mysql') {
    await db.insertInto('tb_notification').values(values).ignore().execute();
    return;
  }
  await db
    .insertInto('tb_notification')
    .values(values)
    .onConflict((oc) => oc.columns(['event_id', 'destination_fingerprint']).doNothing())
    .execute();
}

/** Destinations disabled among `fingerprints`, with when and why. */
export async function disabledDestinations(db: Db, fingerprints: readonly string[]): Promise<Map<string, { at: string; reason: string | null }>> {
  if (fingerprints.length === 0) return new Map();
  const rows = await db
    .selectFrom('tb_notification_destination')
    .select(['fingerprint', 'disabled_at', 'reason'])
    .where('fingerprint', 'in', [...new Set(fingerprints)])
    .execute();
  return new Map(rows.map((r) => [r.fingerprint, { at: r.disabled_at, reason: r.reason }]));
}

export interface ClaimedNotification {
  id: number;
  eventId: string;
  event: string;
  payload: string;
  destinationType: string;
  destinationPath: string;
  destinationFingerprint: string;
  attempts: number;
  createdAt: string;
  /** The lease this claim holds: settling needs it. */
  lease: { owner: string; expiresAt: string };
}

export interface ClaimOptions {
  owner: string;
  now: string;
  /** When the lease ends; also the claim's token (with the owner). */
  leaseUntil: string;
  limit: number;
}

/** Takes up to `limit` due rows (pending, due, not leased by a live sender), oldest due first. */
export async function claimDueNotifications(db: Kysely<Database>, options: ClaimOptions): Promise<ClaimedNotification[]> {
  const { owner, now, leaseUntil, limit } = options;
  return db.transaction().execute(async (trx) => {
    let select = trx
      .selectFrom('tb_notification')
      .select('id')
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]))
      .orderBy('next_attempt_at', 'asc')
      .orderBy('id', 'asc')
      .limit(limit);
    if (dialectOf(trx) !== 'sqlite') select = select.forUpdate().skipLocked();
    const ids = (await select.execute()).map((r) => Number(r.id));
    if (ids.length === 0) return [];
    await trx
      .updateTable('tb_notification')
      .set({ lease_owner: owner, lease_expires_at: leaseUntil })
      .where('id', 'in', ids)
      .where('status', '=', 'pending')
      .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]))
      .execute();
    const rows = await trx
      .selectFrom('tb_notification')
      .select(['id', 'event_id', 'event', 'payload', 'destination_type', 'destination_path', 'destination_fingerprint', 'attempts', 'created_at'])
      .where('id', 'in', ids)
      .where('lease_owner', '=', owner)
      .where('lease_expires_at', '=', leaseUntil)
      .orderBy('id', 'asc')
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      eventId: r.event_id,
      event: r.event,
      payload: r.payload,
      destinationType: r.destination_type,
      destinationPath: r.destination_path,
      destinationFingerprint: r.destination_fingerprint,
      attempts: Number(r.attempts),
      createdAt: r.created_at,
      lease: { owner, expiresAt: leaseUntil },
    }));
  });
}

/**
 * When a pending row may next be claimed (undefined: none is pending): the earliest due row
 * that no live sender holds, or the earliest lease to run out.
 */
export async function nextNotificationDue(db: Db, now: string): Promise<string | undefined> {
  const free = await db
    .selectFrom('tb_notification')
    .select((eb) => eb.fn.min('next_attempt_at').as('due'))
    .where('status', '=', 'pending')
    .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]))
    .executeTakeFirst();
  const leased = await db
    .selectFrom('tb_notification')
    .select((eb) => eb.fn.min('lease_expires_at').as('due'))
    .where('status', '=', 'pending')
    .where('lease_expires_at', '>=', now)
    .executeTakeFirst();
  const candidates = [free?.due, leased?.due].filter((d): d is string => typeof d === 'string');
  return candidates.sort()[0];
}

export interface AttemptValues {
  attempt: number;
  startedAt: string;
  durationMs: number;
  outcome: AttemptOutcome;
  statusCode: number | null;
  error: string | null;
  retryAt: string | null;
  instance: string;
}

export interface Settlement {
  status: NotificationStatus;
  /** pending: when to try again. */
  nextAttemptAt?: string | null;
  completedAt?: string | null;
  lastError?: string | null;
}

/**
 * Records an attempt and what it leaves the row as, in one transaction. The attempt is a fact
 * and is always recorded; the row changes only while the claim's lease is still the sender's
 * (false otherwise: another sender took it over meanwhile).
 */
export async function settleNotification(
  db: Kysely<Database>,
  id: number,
  lease: { owner: string; expiresAt: string },
  attempt: AttemptValues,
  settlement: Settlement,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto('tb_notification_attempt')
      .values({
        fk_notification: id,
        attempt: attempt.attempt,
        started_at: attempt.startedAt,
        duration_ms: Math.max(0, Math.round(attempt.durationMs)),
        outcome: attempt.outcome,
        status_code: attempt.statusCode,
        error: attempt.error,
        retry_at: attempt.retryAt,
        instance: attempt.instance.slice(0, 128),
      })
      .execute();
    const result = await trx
      .updateTable('tb_notification')
      .set((eb) => ({
        status: settlement.status,
        attempts: eb('attempts', '+', 1),
        next_attempt_at: settlement.status === 'pending' ? (settlement.nextAttemptAt ?? null) : null,
        completed_at: settlement.completedAt ?? null,
        last_error: settlement.lastError ?? null,
        lease_owner: null,
        lease_expires_at: null,
      }))
      .where('id', '=', id)
      .where('lease_owner', '=', lease.owner)
      .where('lease_expires_at', '=', lease.expiresAt)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  });
}

/**
 * Settles a row without an attempt (its destination is no longer configured, or was disabled
 * before it was sent). Only under the claim's lease.
 */
export async function settleUnsent(db: Db, id: number, lease: { owner: string; expiresAt: string }, status: NotificationStatus, reason: string, at: string): Promise<boolean> {
  const result = await db
    .updateTable('tb_notification')
    .set({ status, next_attempt_at: null, completed_at: at, last_error: reason, lease_owner: null, lease_expires_at: null })
    .where('id', '=', id)
    .where('lease_owner', '=', lease.owner)
    .where('lease_expires_at', '=', lease.expiresAt)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Gives a claim up without an attempt (shutting down before sending): due again at once. */
export async function releaseNotification(db: Db, id: number, lease: { owner: string; expiresAt: string }): Promise<void> {
  await db
    .updateTable('tb_notification')
    .set({ lease_owner: null, lease_expires_at: null })
    .where('id', '=', id)
    .where('lease_owner', '=', lease.owner)
    .where('lease_expires_at', '=', lease.expiresAt)
    .execute();
}

/**
 * Disables a destination (it answered "gone"): recorded once, and its other pending rows end
 * `disabled` too. A row leased by a sender right now is left to that sender.
 */
export async function disableDestination(
  db: Kysely<Database>,
  destination: { fingerprint: string; type: string; target: string },
  at: string,
  reason: string,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const known = await trx.selectFrom('tb_notification_destination').select('fingerprint').where('fingerprint', '=', destination.fingerprint).executeTakeFirst();
    if (!known) {
      await trx
        .insertInto('tb_notification_destination')
        .values({ fingerprint: destination.fingerprint, destination_type: destination.type, destination_target: destination.target.slice(0, 512), disabled_at: at, reason })
        .execute();
    }
    await trx
      .updateTable('tb_notification')
      .set({ status: 'disabled', next_attempt_at: null, completed_at: at, last_error: `destination disabled: ${reason}` })
      .where('destination_fingerprint', '=', destination.fingerprint)
      .where('status', '=', 'pending')
      .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', at)]))
      .execute();
  });
}

export interface NotificationFilter {
  deploymentId?: number;
  status?: NotificationStatus;
  /** Tokens limited to some fraises / environments see only those. */
  fraiseIn?: readonly string[];
  environmentIn?: readonly string[];
  /** Keyset paging: only ids below this one. */
  beforeId?: number;
  limit: number;
}

/** Notifications, newest first, each with its attempts (oldest first). */
export async function listNotifications(db: Db, filter: NotificationFilter): Promise<NotificationRecord[]> {
  let query = db.selectFrom('tb_notification').selectAll();
  if (filter.deploymentId !== undefined) query = query.where('fk_deployment', '=', filter.deploymentId);
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  if (filter.fraiseIn !== undefined) query = query.where('fraise', 'in', filter.fraiseIn.length ? [...filter.fraiseIn] : ['']);
  if (filter.environmentIn !== undefined) query = query.where('environment', 'in', filter.environmentIn.length ? [...filter.environmentIn] : ['']);
  if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId);
  const rows = await query.orderBy('id', 'desc').limit(filter.limit).execute();
  if (rows.length === 0) return [];
  const attempts = await db
    .selectFrom('tb_notification_attempt')
    .select(['fk_notification', 'attempt', 'started_at', 'duration_ms', 'outcome', 'status_code', 'error', 'retry_at'])
    .where('fk_notification', 'in', rows.map((r) => Number(r.id)))
    .orderBy('fk_notification')
    .orderBy('attempt')
    .orderBy('id')
    .execute();
  const byRow = new Map<number, NotificationAttemptRecord[]>();
  for (const a of attempts) {
    const list = byRow.get(Number(a.fk_notification)) ?? [];
    list.push({
      attempt: Number(a.attempt),
      at: a.started_at,
      outcome: a.outcome as AttemptOutcome,
      statusCode: a.status_code === null ? null : Number(a.status_code),
      error: a.error,
      durationMs: Number(a.duration_ms),
      retryAt: a.retry_at,
    });
    byRow.set(Number(a.fk_notification), list);
  }
  return rows.map((row) => toRecord(row, byRow.get(Number(row.id)) ?? []));
}

function toRecord(row: Selectable<NotificationTable>, attempts: NotificationAttemptRecord[]): NotificationRecord {
  return {
    id: String(row.id),
    eventId: row.event_id,
    event: row.event as NotificationRecord['event'],
    fraise: row.fraise,
    environment: row.environment,
    deploymentId: row.fk_deployment === null ? null : String(row.fk_deployment),
    healthChange: row.event === 'health' ? healthChangeOf(row.payload) : null,
    destination: { type: row.destination_type, target: row.destination_target, path: row.destination_path },
    status: row.status as NotificationStatus,
    attemptCount: Number(row.attempts),
    createdAt: row.created_at,
    nextAttemptAt: row.next_attempt_at,
    completedAt: row.completed_at,
    lastError: row.last_error,
    attempts,
  };
}

/** The change a health notification tells of, from the snapshot written with it (notifications/types.ts HealthPayload). */
function healthChangeOf(payload: string): EnvironmentStatusChange | null {
  try {
    const p = JSON.parse(payload) as { fraise: string; environment: string; status: EnvironmentStatusChange['status']; previous: EnvironmentStatusChange['status']; message: string; timestamp: string };
    return { fraise: p.fraise, environment: p.environment, status: p.status, previous: p.previous, message: p.message, at: p.timestamp };
  } catch {
    return null;
  }
}
