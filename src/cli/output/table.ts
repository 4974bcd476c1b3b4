/*
 * Plain tables that fit the terminal: columns are as wide as their widest cell; when the row
 * is too long for the terminal, the shrinkable columns (free text, such as messages) give up
 * width first, widest first, and their cells end with "…". Colour is applied after fitting, so
 * it never counts against the width.
 */

export interface Column<Row> {
  header: string;
  value: (row: Row) => string;
  /** May be cut to fit the terminal (free text). */
  shrink?: boolean;
  align?: 'left' | 'right';
  /** Colour for a cell (given the fitted text). */
  style?: (text: string, row: Row) => string;
}

const GAP = 2;
const MIN_SHRUNK = 6;

export function renderTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[], width: number, header: (text: string) => string = (t) => t): string[] {
  const cells = rows.map((row) => columns.map((c) => oneLine(c.value(row))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  fit(widths, columns, width);
  const line = (values: string[], styled: (text: string, index: number) => string) =>
    values
      .map((value, i) => {
        const w = widths[i]!;
        const text = truncate(value, w);
        const padded = columns[i]!.align === 'right' ? text.padStart(w) : i === values.length - 1 ? text : text.padEnd(w);
        return styled(padded, i);
      })
      .join(' '.repeat(GAP))
      .trimEnd();
  const out = [line(columns.map((c) => c.header), (text) => header(text))];
  cells.forEach((values, r) => {
    out.push(line(values, (text, i) => (columns[i]!.style ? columns[i]!.style!(text, rows[r]!) : text)));
  });
  return out;
}

function fit<Row>(widths: number[], columns: readonly Column<Row>[], width: number): void {
  const total = () => widths.reduce((a, b) => a + b, 0) + GAP * (widths.length - 1);
  let excess = total() - width;
  while (excess > 0) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) {
      const floor = Math.max(MIN_SHRUNK, columns[i]!.header.length);
      if (!columns[i]!.shrink || widths[i]! <= floor) continue;
      if (widest < 0 || widths[i]! > widths[widest]!) widest = i;
    }
    if (widest < 0) return; // nothing left to shrink: the terminal wraps
    widths[widest] = widths[widest]! - 1;
    excess--;
  }
}

export function truncate(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return text.slice(0, width);
  return `${text.slice(0, width - 1)}…`;
}

// C0 and C1 control characters: what is shown comes partly from outside (commit messages).
// eslint-disable-next-line no-control-regex
export const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Cells are one line: newlines and tabs become spaces, control characters are dropped. */
export function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ').replace(CONTROL, '');
}
