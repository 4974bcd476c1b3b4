/* Turning API values into short, readable text. Pure functions: no DOM. */

/** A commit SHA shortened to 12 characters (what the server's messages use); other versions as they are. */
export function shortVersion(version) {
  if (!version) return '—';
  return /^[0-9a-f]{13,64}$/i.test(version) ? version.slice(0, 12) : version;
}

/** "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago" (or "in 5 min"). */
export function relativeTime(iso, now = Date.now()) {
  if (!iso) return 'never';
  const seconds = Math.round((now - new Date(iso).getTime()) / 1000);
  const future = seconds < 0;
  const s = Math.abs(seconds);
  let text;
  if (s < 5) return 'just now';
  if (s < 60) text = `${s} s`;
  else if (s < 3600) text = `${Math.floor(s / 60)} min`;
  else if (s < 86400) text = `${Math.floor(s / 3600)} h`;
  else text = `${Math.floor(s / 86400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}

/** The exact time, in the reader's time zone and in UTC. */
export function exactTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  const local = date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  return `${local} (${date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')})`;
}

/** 0.85 → "850 ms", 4.2 → "4.2 s", 72 → "1 min 12 s", 3780 → "1 h 3 min". */
/** A deployment's duration, or what it is doing while it has none yet (queued, waiting, running, paused). */
export function deploymentDuration(d) {
  if (d.durationSeconds !== null && d.durationSeconds !== undefined) return duration(d.durationSeconds);
  return { PENDING: 'queued', WAITING: 'waiting', IN_PROGRESS: 'running', PAUSED: 'paused' }[d.status] ?? '—';
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '—';
  if (seconds < 1) return `${Math.max(0, Math.round(seconds * 1000))} ms`;
  if (seconds < 10) return `${(Math.floor(seconds * 10) / 10).toFixed(1)} s`;
  if (seconds < 60) return `${Math.floor(seconds)} s`;
  if (seconds < 3600) {
    const rest = Math.floor(seconds % 60);
    return `${Math.floor(seconds / 60)} min${rest ? ` ${rest} s` : ''}`;
  }
  const minutes = Math.floor((seconds % 3600) / 60);
  return `${Math.floor(seconds / 3600)} h${minutes ? ` ${minutes} min` : ''}`;
}

/**
 * Log lines and commit messages may carry terminal escapes (colours, cursor moves, titles):
 * drop them, and other control characters, so the text reads as text.
 */
export function plainText(text) {
  if (text === null || text === undefined) return '';
  return String(text)
    .replace(/\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g, '') // OSC (titles, links)
    .replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '') // CSI (colours, cursor)
    .replace(/\u001b[@-Z\\-_]/g, '')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
}

/** The first line of a message, for a table cell. */
export function firstLine(text) {
  return plainText(text).split('\n', 1)[0] ?? '';
}

/** Deployment statuses that will not change any more. */
export const FINAL_STATUSES = new Set(['SUCCESS', 'FAILED', 'ROLLED_BACK', 'CANCELLED', 'SUPERSEDED']);

export const DEPLOYMENT_STATUSES = ['PENDING', 'WAITING', 'IN_PROGRESS', 'PAUSED', 'SUCCESS', 'FAILED', 'ROLLED_BACK', 'CANCELLED', 'SUPERSEDED'];

/** "ROLLED_BACK" → "rolled back" (for sentences; badges keep the enum's spelling). */
export function statusWords(status) {
  return String(status).toLowerCase().replace(/_/g, ' ');
}

/** An error message for a grid cell: its first line, at most `max` characters, cut after a word when it can be ("…" when cut). */
export function shortError(text, max = 80) {
  const line = firstLine(text).trim();
  if (line.length <= max) return line;
  const cut = line.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/**
 * The environment's last attempt when it says something the running version does not: it
 * failed, was rolled back or cancelled, or it deployed another version than the one running.
 * null when it is what runs (or there was none).
 * @param {{ currentVersion: string | null, lastAttempt: { status: string, newVersion: string | null } | null }} env
 */
export function attemptToShow(env) {
  const attempt = env.lastAttempt;
  if (!attempt) return null;
  if (attempt.status === 'SUCCESS' && attempt.newVersion === env.currentVersion) return null;
  return attempt;
}

const GATE_KINDS = { FREEZE: 'Freeze', WINDOW: 'Deploy window', PROMOTION: 'Promotion', APPROVALS: 'Approvals', WAIT_TIMER: 'Wait timer' };

/** "WAIT_TIMER" → "Wait timer": a gate's kind (DeploymentGate.kind) for people. */
export function gateKindWords(kind) {
  return GATE_KINDS[kind] ?? statusWords(kind);
}

/**
 * Is `deployment` waiting on its approvals gate? (WAITING, with an APPROVALS gate not met.) Only
 * those are offered to approvers: one waiting for a window or a freeze has nothing to approve.
 */
export function awaitsApproval(deployment) {
  return deployment.status === 'WAITING' && (deployment.gates ?? []).some((gate) => gate.kind === 'APPROVALS' && !gate.satisfied);
}
