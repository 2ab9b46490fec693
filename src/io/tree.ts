// Draws rows in depth-first order as an indented tree with box-drawing connectors:
//
//   #41  2025-03-01 09:12  email in   Asks for the autumn price list
//   ├─ #42  …
//   │  └─ #44  …
//   └─ #43  …
//
// Cells are escaped (no terminal control characters) and aligned; the last cell is free text.
import { escapeControl } from './terminal.js';

export interface TreeRow {
  /** 0 for a root; a row's parent is the nearest earlier row one level up. */
  depth: number;
  cells: readonly string[];
}

export function renderTree(rows: readonly TreeRow[]): string {
  const hasNextSibling = rows.map((row, i) => {
    for (let j = i + 1; j < rows.length; j++) {
      if (rows[j]!.depth < row.depth) return false;
      if (rows[j]!.depth === row.depth) return true;
    }
    return false;
  });
  const ancestors: number[] = []; // index of the latest row at each depth
  const lines = rows.map((row, i) => {
    ancestors[row.depth] = i;
    let prefix = '';
    for (let level = 1; level < row.depth; level++) prefix += hasNextSibling[ancestors[level]!] ? '│  ' : '   ';
    if (row.depth > 0) prefix += hasNextSibling[i] ? '├─ ' : '└─ ';
    return row.cells.map((cell, c) => (c === 0 ? prefix : '') + escapeControl(cell));
  });
  const columns = Math.max(0, ...lines.map((l) => l.length));
  const widths = Array.from({ length: columns }, (_, c) => Math.max(0, ...lines.map((l) => [...(l[c] ?? '')].length)));
  return lines
    .map((cells) =>
      cells
        .map((cell, c) => (c === cells.length - 1 ? cell : cell + ' '.repeat(widths[c]! - [...cell].length)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
