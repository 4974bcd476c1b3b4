import { CliError, EXIT } from '../exit-codes.js';

/* Times as people read them (relative, durations) and as --since takes them. */

/** "just now", "42s ago", "5m ago", "3h ago", "2d ago"; the date beyond 30 days. */
export function relativeTime(iso: string | null | undefined, now: Date = new Date()): string {
  if (!iso) return '-';
  const at = new Date(iso);
  const seconds = Math.round((now.getTime() - at.getTime()) / 1000);
  if (Number.isNaN(seconds)) return iso;
  if (seconds < 0) return `in ${span(-seconds)}`;
  if (seconds < 5) return 'just now';
  if (seconds > 30 * 86_400) return iso.slice(0, 10);
  return `${span(seconds)} ago`;
}

function span(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** 0.4s, 47.3s, 2m05s, 1h02m. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '-';
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const total = Math.round(seconds);
  if (total < 3600) return `${Math.floor(total / 60)}m${String(total % 60).padStart(2, '0')}s`;
  return `${Math.floor(total / 3600)}h${String(Math.floor((total % 3600) / 60)).padStart(2, '0')}m`;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 7 * 86_400 };

/** --since: a span back from now ("30m", "24h", "7d", "2w") or a date ("2026-01-31", ISO time). */
export function parseSince(value: string, now: Date = new Date()): Date {
  const span = /^(\d+)\s*([smhdw])$/i.exec(value.trim());
  if (span) return new Date(now.getTime() - Number(span[1]) * UNITS[span[2]!.toLowerCase()]! * 1000);
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())) {
    const date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value.trim()) ? `${value.trim()}T00:00:00Z` : value.trim());
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new CliError(`--since: expected a span such as 24h or 7d, or a date such as 2026-01-31 (got "${value}")`, EXIT.USAGE);
}
