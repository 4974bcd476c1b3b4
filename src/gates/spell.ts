/*
 * How gate messages write spans and commits: as fraises.yaml writes them ("30m", "24h"), so a
 * message reads against the rule that produced it.
 */

/** 45s, 12m, 1h30m, 24h, 2m30s (whole seconds, rounded down). */
export function spellSeconds(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return m > 0 ? `${h}h${m}m` : `${h}h`;
  if (m > 0) return s > 0 && m < 10 ? `${m}m${s}s` : `${m}m`;
  return `${s}s`;
}

/** The first 7 characters of a commit (what people read and type). */
export function shortCommit(commit: string): string {
  return commit.slice(0, 7);
}

export function iso(instant: number): string {
  return new Date(instant).toISOString();
}
