import { sql } from 'kysely';
import { dialectOf } from '../../db/dialect.js';
import { RUNNING_STATUSES } from '../model.js';
import type { Db } from './store.js';

/*
 * An operator's pause, resume and promote, written on the deployment's row, and the paused state
 * the instance running it records. Requests are wishes on the row (who asked), not a queue: the
 * holder compares them with what it does, so a request read twice acts once and none is lost
 * when a notification is. On PostgreSQL each request is also announced on CONTROL_CHANNEL (after
 * its statement committed) so that the instance running the deployment acts at once; every
 * lease renewal reads them too.
 */

/** LISTEN/NOTIFY channel telling the instance that runs deployment <payload> to read its requests. */
export const CONTROL_CHANNEL = 'fraisier_control';

/** What has been asked of a running deployment. */
export interface ControlRequests {
  cancelRequested: boolean;
  /** Who wants it paused at its next step boundary (null: nobody). */
  pauseBy: string | null;
  /** Who asked to release the current pause (null: nobody). */
  resumeBy: string | null;
  /** Who promoted it (null: not promoted). */
  promotedBy: string | null;
}

export const NO_REQUESTS: ControlRequests = { cancelRequested: false, pauseBy: null, resumeBy: null, promotedBy: null };

const REQUEST_COLUMNS = ['cancel_requested', 'pause_requested_by', 'resume_requested_by', 'promoted_by'] as const;

export function toRequests(row: { cancel_requested: number; pause_requested_by: string | null; resume_requested_by: string | null; promoted_by: string | null }): ControlRequests {
  return {
    cancelRequested: Number(row.cancel_requested) === 1,
    pauseBy: row.pause_requested_by,
    resumeBy: row.resume_requested_by,
    promotedBy: row.promoted_by,
  };
}

/** The requests on a deployment while it runs; undefined once it no longer does. */
export async function readRequests(db: Db, id: number): Promise<ControlRequests | undefined> {
  const row = await db
    .selectFrom('tb_deployment')
    .select(REQUEST_COLUMNS)
    .where('id', '=', id)
    .where('status', 'in', RUNNING_STATUSES)
    .executeTakeFirst();
  return row ? toRequests(row) : undefined;
}

/** Names are cut to the column's width (a token's name, a user's). */
const who = (name: string) => name.slice(0, 200);

/** Asks that it pause at its next step boundary. False when it does not run (any more). */
export async function requestPause(db: Db, id: number, by: string): Promise<boolean> {
  const result = await db
    .updateTable('tb_deployment')
    .set({ pause_requested_by: who(by) })
    .where('id', '=', id)
    .where('status', 'in', RUNNING_STATUSES)
    .executeTakeFirst();
  return announced(db, id, result.numUpdatedRows);
}

/**
 * Asks that its pause end: the current one (PAUSED), or one asked for and not yet taken (then
 * the request is withdrawn). False when it neither is paused nor was asked to pause.
 */
export async function requestResume(db: Db, id: number, by: string): Promise<boolean> {
  const result = await db
    .updateTable('tb_deployment')
    .set({ pause_requested_by: null, resume_requested_by: who(by) })
    .where('id', '=', id)
    .where('status', 'in', RUNNING_STATUSES)
    .where((eb) => eb.or([eb('status', '=', 'paused'), eb('pause_requested_by', 'is not', null)]))
    .executeTakeFirst();
  return announced(db, id, result.numUpdatedRows);
}

/** Promotes it (and withdraws a pause asked for). False when it does not run (any more). */
export async function requestPromote(db: Db, id: number, by: string): Promise<boolean> {
  const result = await db
    .updateTable('tb_deployment')
    .set({ promoted_by: who(by), pause_requested_by: null })
    .where('id', '=', id)
    .where('status', 'in', RUNNING_STATUSES)
    .executeTakeFirst();
  return announced(db, id, result.numUpdatedRows);
}

/** Tells the instance running deployment `id` (PostgreSQL: any instance) to read its requests now. */
export async function announceRequest(db: Db, id: number): Promise<void> {
  if (dialectOf(db) !== 'postgres') return;
  await sql`select pg_notify(${CONTROL_CHANNEL}, ${String(id)})`.execute(db);
}

async function announced(db: Db, id: number, updated: bigint): Promise<boolean> {
  if (Number(updated) !== 1) return false;
  await announceRequest(db, id);
  return true;
}

/**
 * IN_PROGRESS → PAUSED, by the holder (under its generation), with why and until when. A resume
 * asked before this pause began does not release it.
 */
export async function enterPaused(db: Db, id: number, values: { until: string | null; message: string }, fence?: number): Promise<boolean> {
  const result = await db
    .updateTable('tb_deployment')
    .set({ status: 'paused', paused_until: values.until, pause_message: values.message.slice(0, 1000), resume_requested_by: null })
    .where('id', '=', id)
    .where('status', '=', 'in_progress')
    .$if(fence !== undefined, (qb) => qb.where('fence', '=', fence!))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** PAUSED → IN_PROGRESS, by the holder (under its generation); the resume request is consumed. */
export async function leavePaused(db: Db, id: number, fence?: number): Promise<boolean> {
  const result = await db
    .updateTable('tb_deployment')
    .set({ status: 'in_progress', paused_until: null, pause_message: null, resume_requested_by: null })
    .where('id', '=', id)
    .where('status', '=', 'paused')
    .$if(fence !== undefined, (qb) => qb.where('fence', '=', fence!))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
