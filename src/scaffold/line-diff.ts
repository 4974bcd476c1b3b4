/*
 * What changed between a live file and the one scaffold would write: the lines removed and
 * added (a longest-common-subsequence diff; these files are a few hundred lines at most).
 */

export interface DiffSummary {
  removed: number;
  added: number;
  /** The first changed lines, "- old" / "+ new". */
  lines: string[];
}

export function diffLines(before: string, after: string, shown = 12): DiffSummary {
  const a = before.split('\n');
  const b = after.split('\n');
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const changes: string[] = [];
  let removed = 0;
  let added = 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (j < b.length && (i === a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      changes.push(`+ ${b[j++]}`);
      added++;
    } else {
      changes.push(`- ${a[i++]}`);
      removed++;
    }
  }
  return { removed, added, lines: changes.slice(0, shown) };
}
