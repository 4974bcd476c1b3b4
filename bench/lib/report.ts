import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';

/** One line of the results table: a figure, the reference it is compared with, and the bar. */
export interface Row {
  bench: string;
  measure: string;
  value: string;
  reference: string;
  ratio: string;
  bar: string;
  pass: boolean | null;
}

export function machine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpus().length} cores (${cpu}), ${Math.round(totalmem() / 1024 ** 3)} GiB, Node ${process.version}, ${process.platform}`;
}

export function renderTable(rows: readonly Row[]): string {
  const header = ['benchmark', 'measure', 'value', 'reference (same run)', 'ratio', 'bar', 'result'];
  const lines = rows.map((r) => [r.bench, r.measure, r.value, r.reference, r.ratio, r.bar, r.pass === null ? '-' : r.pass ? 'pass' : 'MISS']);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [row(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(row)].join('\n');
}

export function writeResults(path: string, rows: readonly Row[], notes: readonly string[]): string {
  const text = [
    '# Benchmark results',
    '',
    `Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${machine()}.`,
    '',
    renderTable(rows),
    '',
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return text;
}
