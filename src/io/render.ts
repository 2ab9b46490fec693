// Renders rows in every output format of the contract: table, csv, tsv, json, ndjson, md.
// Rows are plain objects with snake_case keys; columns say how each value is typed, so money
// (integer cents) becomes `1,234.50` in a table, `1234.50` in CSV and `"1234.50"` plus
// `amount_cents` in JSON. Row writers stream, so exports of millions of rows run in constant memory.
import { centsToDecimal, formatMoney } from '../domain/money.js';
import { formatLocalTimestamp, isoSeconds } from '../domain/dates.js';
import { neutraliseCell } from '../domain/spreadsheet.js';
import type { Colour } from './colour.js';
import { escapeControl } from './terminal.js';

export const FORMATS = ['table', 'csv', 'tsv', 'json', 'ndjson', 'md'] as const;
export type Format = (typeof FORMATS)[number];

/**
 * text: as is · int/number: numeric · money: integer cents · date: `YYYY-MM-DD` ·
 * timestamp: ISO instant (tables show local time) · percent: a ratio 0..1 · bool ·
 * bar: a number drawn as a Unicode bar in tables only (left out of every other format).
 */
export type ColumnKind = 'text' | 'int' | 'number' | 'money' | 'date' | 'timestamp' | 'percent' | 'bool' | 'bar';

export interface Column {
  /** snake_case key in the row and in JSON/CSV output. */
  key: string;
  /** Table/Markdown header; defaults to the key in words. */
  header?: string;
  kind?: ColumnKind;
  /** Decimal places for `number` and `percent` in tables (default 1). */
  digits?: number;
}

export type Row = Record<string, unknown>;

export interface RenderOptions {
  colour: Colour;
  /** Width of bar columns in table cells. */
  barWidth?: number;
  /** Rows whose cells should stand out (e.g. overdue tickets), coloured only when colour is on. */
  highlight?: (row: Row) => 'warn' | 'error' | 'dim' | undefined;
  /**
   * Terminal width: a table wider than this shrinks its widest text columns, cutting their cells
   * with `…`, instead of wrapping every line. Unset (pipes, files): tables keep every character.
   */
  maxWidth?: number;
}

export function headerOf(column: Column): string {
  if (column.header) return column.header;
  // `id`, `entity_id` → `ID`, `Entity ID`: every command spells identifiers the same way.
  const words = column.key
    .split('_')
    .map((w) => (w === 'id' ? 'ID' : w))
    .join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** What a table or Markdown list shows when it has no rows. */
export const EMPTY_LIST = '(none)';

function isBlank(value: unknown): boolean {
  return value === null || value === undefined;
}

/** The text a CSV/TSV cell carries (before quoting and neutralising). */
export function plainValue(column: Column, value: unknown): string {
  if (isBlank(value)) return '';
  switch (column.kind) {
    case 'money':
      return centsToDecimal(Number(value));
    case 'timestamp':
      return isoSeconds(String(value));
    case 'bool':
      return value ? 'true' : 'false';
    default:
      return String(value);
  }
}

/** The value a JSON document carries. */
function jsonValue(column: Column, value: unknown): unknown {
  if (isBlank(value)) return null;
  switch (column.kind) {
    case 'money':
      return centsToDecimal(Number(value));
    case 'timestamp':
      return isoSeconds(String(value));
    case 'int':
    case 'number':
    case 'percent':
      return Number(value);
    case 'bool':
      return Boolean(value);
    default:
      return value;
  }
}

/** A row as a JSON object: money gets a decimal string plus an integer `<key>_cents`. */
export function jsonObject(columns: readonly Column[], row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const column of columns) {
    if (column.kind === 'bar') continue;
    const value = row[column.key];
    out[column.key] = jsonValue(column, value);
    if (column.kind === 'money' && !column.key.endsWith('_cents')) {
      out[`${column.key}_cents`] = isBlank(value) ? null : Number(value);
    }
  }
  return out;
}

/** The text a table or Markdown cell shows. */
export function displayValue(column: Column, value: unknown): string {
  if (isBlank(value)) return '';
  switch (column.kind) {
    case 'money':
      return formatMoney(Number(value));
    case 'timestamp':
      return formatLocalTimestamp(String(value));
    case 'percent':
      return `${(Number(value) * 100).toFixed(column.digits ?? 1)}%`;
    case 'number':
      return Number(value).toLocaleString('en-US', {
        minimumFractionDigits: column.digits ?? 1,
        maximumFractionDigits: column.digits ?? 1,
      });
    case 'bool':
      return value ? 'yes' : 'no';
    default:
      return escapeControl(String(value));
  }
}

const RIGHT_ALIGNED: ReadonlySet<ColumnKind> = new Set(['int', 'number', 'money', 'percent']);
const BLOCKS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A bar of `width` cells for value/max, with eighth-block precision. */
export function drawBar(value: number, max: number, width: number): string {
  if (!(max > 0) || !(value > 0)) return '';
  const eighths = Math.round((value / max) * width * 8);
  return '█'.repeat(Math.floor(eighths / 8)) + BLOCKS[eighths % 8];
}

function csvQuote(text: string, delimiter: string): string {
  if (text.includes('"') || text.includes(delimiter) || text.includes('\n') || text.includes('\r')) {
    return `"${text.replace(/"/g, '""')}"`;
  }
  return text;
}

export function csvCell(column: Column, value: unknown, delimiter = ','): string {
  return csvQuote(neutraliseCell(plainValue(column, value)), delimiter);
}

/** Characters that make a CSV/TSV cell need quotes, by delimiter. */
const QUOTE_NEEDED: Record<string, RegExp> = { ',': /[",\n\r]/, '\t': /["\t\n\r]/ };

/**
 * `csvCell` for one column, made once per export: the same text, with one char-code test deciding
 * whether the cell could be a formula and one regex test whether it needs quotes (the hot path of
 * an export of a million rows).
 */
function csvCellWriter(column: Column, delimiter: string): (value: unknown) => string {
  const special = QUOTE_NEEDED[delimiter];
  if (!special) return (value) => csvCell(column, value, delimiter);
  const plain = column.kind === undefined || column.kind === 'text';
  return (value) => {
    if (value === null || value === undefined) return '';
    let text = plain && typeof value === 'string' ? value : plainValue(column, value);
    if (text === '') return text;
    const first = text.charCodeAt(0);
    // = @ TAB CR + -: maybe a formula; ': maybe one already escaped
    if (first === 61 || first === 64 || first === 9 || first === 13 || first === 43 || first === 45 || first === 39) text = neutraliseCell(text);
    return special.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
}

function mdCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|');
}

/** Consumes rows one at a time and emits text chunks; `end` emits whatever is left. */
export interface RowWriter {
  write(row: Row): string;
  end(): string;
}

export function createRowWriter(format: Format, columns: readonly Column[], options: RenderOptions): RowWriter {
  const visible = columns.filter((c) => c.kind !== 'bar');
  switch (format) {
    case 'csv':
    case 'tsv': {
      const delimiter = format === 'csv' ? ',' : '\t';
      const header = visible.map((c) => csvQuote(c.key, delimiter)).join(delimiter) + '\r\n';
      let started = false;
      const ensureHeader = () => {
        if (started) return '';
        started = true;
        return header;
      };
      const keys = visible.map((c) => c.key);
      const cells = visible.map((c) => csvCellWriter(c, delimiter));
      return {
        // One string built per row, with per-column formatters made once: this runs for every row of large exports.
        write: (row) => {
          let line = ensureHeader();
          for (let i = 0; i < keys.length; i++) {
            if (i > 0) line += delimiter;
            line += cells[i]!(row[keys[i]!]);
          }
          return line + '\r\n';
        },
        end: () => ensureHeader(),
      };
    }
    case 'json': {
      let count = 0;
      return {
        write: (row) => `${count++ === 0 ? '[\n  ' : ',\n  '}${JSON.stringify(jsonObject(columns, row))}`,
        end: () => (count === 0 ? '[]\n' : '\n]\n'),
      };
    }
    case 'ndjson':
      return { write: (row) => JSON.stringify(jsonObject(columns, row)) + '\n', end: () => '' };
    case 'md': {
      let started = false;
      const header = () => {
        const names = visible.map((c) => mdCell(headerOf(c)));
        const rule = visible.map((c) => (RIGHT_ALIGNED.has(c.kind ?? 'text') ? '---:' : '---'));
        return `| ${names.join(' | ')} |\n| ${rule.join(' | ')} |\n`;
      };
      return {
        write: (row) => {
          const prefix = started ? '' : header();
          started = true;
          return prefix + `| ${visible.map((c) => mdCell(displayValue(c, row[c.key]))).join(' | ')} |\n`;
        },
        // An empty Markdown table renders as a bare header row; a plain line says it instead.
        end: () => (started ? '' : `${EMPTY_LIST}\n`),
      };
    }
    case 'table': {
      const rows: Row[] = [];
      return {
        write: (row) => {
          rows.push(row);
          return '';
        },
        end: () => renderTable(columns, rows, options),
      };
    }
  }
}

/** Renders a whole list in one go. */
export function renderRows(format: Format, columns: readonly Column[], rows: Iterable<Row>, options: RenderOptions): string {
  const writer = createRowWriter(format, columns, options);
  let text = '';
  for (const row of rows) text += writer.write(row);
  return text + writer.end();
}

/**
 * A boxed table. Hand-laid rather than cli-table3, whose layout is quadratic in the row count
 * (a 16,000-row list took minutes); widths come from string-width, so CJK names and colour codes
 * line up. A rule under the header, none between rows: a list reads as a list.
 */
/**
 * Text that is one cell per character: printable ASCII, and the ellipsis, box-drawing and block
 * characters tables draw with (East Asian "ambiguous", one cell as string-width counts them).
 */
const NARROW = /^[\x20-\x7e\u2026\u2500-\u259f]*$/;

/** string-width, once loaded: its Unicode tables cost ~13 ms, which only tables with other text need. */
let stringWidth: ((text: string) => number) | undefined;

/** Thrown by textWidth for wider text before string-width is loaded; withTextWidths() loads it and renders again. */
class WidthsNeeded extends Error {}

/** Loads string-width. */
export async function loadTextWidths(): Promise<void> {
  stringWidth ??= (await import('string-width')).default;
}

/**
 * Runs a render (a pure function of its input). When a table in it holds text beyond NARROW,
 * loads string-width and runs it again, so most tables never load it.
 */
export async function withTextWidths<T>(render: () => T): Promise<T> {
  try {
    return render();
  } catch (error) {
    if (!(error instanceof WidthsNeeded)) throw error;
    await loadTextWidths();
    return render();
  }
}

/** Terminal cells a plain (uncoloured) string takes: its length for NARROW text, else string-width's count. */
export function textWidth(text: string): number {
  if (NARROW.test(text)) return text.length;
  if (!stringWidth) throw new WidthsNeeded('render: string-width is not loaded');
  return stringWidth(text);
}

export function renderTable(allColumns: readonly Column[], rows: readonly Row[], options: RenderOptions): string {
  const { colour } = options;
  if (rows.length === 0) return colour.dim(EMPTY_LIST) + '\n';
  const barWidth = options.barWidth ?? 24;
  const barMax = new Map<string, number>();
  for (const column of allColumns) {
    if (column.kind !== 'bar') continue;
    let max = 0;
    for (const row of rows) max = Math.max(max, Number(row[column.key]) || 0);
    barMax.set(column.key, max);
  }
  // A bar column with nothing to draw (all zero: an empty period) would be an empty box.
  const columns = allColumns.filter((c) => c.kind !== 'bar' || barMax.get(c.key)! > 0);
  const head = columns.map((c) => (c.kind === 'bar' ? '' : headerOf(c)));
  const body = rows.map((row) =>
    columns.map((c) =>
      c.kind === 'bar' ? drawBar(Number(row[c.key]) || 0, barMax.get(c.key) ?? 0, barWidth) : displayValue(c, row[c.key]),
    ),
  );
  // Each cell is measured once; padding reuses the width (measuring is the costly part of a big table).
  const cellWidths = body.map((cells) => cells.map(textWidth));
  const widths = head.map(textWidth);
  for (const row of cellWidths) {
    row.forEach((w, i) => {
      if (w > widths[i]!) widths[i] = w;
    });
  }
  if (options.maxWidth) fitWidths(columns, head, widths, options.maxWidth);
  body.forEach((cells, r) => {
    cells.forEach((cell, i) => {
      if (cellWidths[r]![i]! > widths[i]!) {
        cells[i] = truncate(cell, widths[i]!);
        cellWidths[r]![i] = textWidth(cells[i]!);
      }
    });
  });
  const right = columns.map((c) => RIGHT_ALIGNED.has(c.kind ?? 'text'));
  /** Pads text (possibly coloured) whose visible width is `width` to the column's width. */
  const pad = (text: string, i: number, width: number) => {
    const fill = ' '.repeat(widths[i]! - width);
    return right[i] ? fill + text : text + fill;
  };
  const rule = (left: string, mid: string, end: string) => left + widths.map((w) => '─'.repeat(w + 2)).join(mid) + end;
  const line = (cells: string[]) => `│ ${cells.join(' │ ')} │`;
  const out = [rule('┌', '┬', '┐'), line(head.map((h, i) => {
      const text = truncate(h, widths[i]!);
      return pad(colour.bold(text), i, textWidth(text));
    })), rule('├', '┼', '┤')];
  rows.forEach((row, r) => {
    const tone = options.highlight?.(row);
    const paint = (text: string) =>
      tone === 'error' ? colour.red(text) : tone === 'warn' ? colour.yellow(text) : tone === 'dim' ? colour.dim(text) : text;
    out.push(line(body[r]!.map((cell, i) => pad(columns[i]!.kind === 'bar' ? colour.cyan(cell) : paint(cell), i, cellWidths[r]![i]!))));
  });
  out.push(rule('└', '┴', '┘'));
  return out.join('\n') + '\n';
}

/**
 * Narrowest a text column is squeezed to when a table does not fit the terminal: short values
 * (names, statuses, kinds) stay whole; only long free text (subjects, summaries, commands) is cut.
 */
const MIN_TEXT_WIDTH = 12;

/**
 * Shrinks free-text columns (never numbers, money, dates or ids) one cell at a time, widest first,
 * until the table fits `maxWidth` or every text column is down to its minimum (a table that still
 * does not fit then wraps, but with shorter lines).
 */
function fitWidths(columns: readonly Column[], head: readonly string[], widths: number[], maxWidth: number): void {
  const total = () => widths.reduce((sum, w) => sum + w + 3, 1);
  const floor = columns.map((c, i) => ((c.kind ?? 'text') === 'text' ? Math.min(widths[i]!, Math.max(MIN_TEXT_WIDTH, textWidth(head[i]!))) : widths[i]!));
  let excess = total() - maxWidth;
  while (excess > 0) {
    let widest = -1;
    widths.forEach((w, i) => {
      if (w > floor[i]! && (widest < 0 || w > widths[widest]!)) widest = i;
    });
    if (widest < 0) return;
    widths[widest]!--;
    excess--;
  }
}

/** Cuts text to `width` terminal cells, ending in `…` when anything was cut. */
export function truncate(text: string, width: number): string {
  if (textWidth(text) <= width) return text;
  let out = '';
  let used = 0;
  for (const ch of text) {
    const w = textWidth(ch);
    if (used + w > width - 1) break;
    out += ch;
    used += w;
  }
  return out + '…';
}

/** One section of a composite document such as `customer show` or `report summary`. */
export interface Section {
  /** JSON key of the section. */
  key: string;
  title: string;
  columns: readonly Column[];
  /** A record is one row shown as `Field  value` lines; a list is a table of rows. */
  record?: Row;
  rows?: readonly Row[];
  /**
   * A figure over the other sections' rows (a report's total): json and the formats for people show
   * it; csv, tsv and ndjson carry the rows only.
   */
  total?: boolean;
}

/** Renders several sections: titled tables, or one JSON object keyed by section. */
export function renderDocument(format: Format, sections: readonly Section[], options: RenderOptions): string {
  const { colour } = options;
  switch (format) {
    case 'json': {
      const doc: Record<string, unknown> = {};
      for (const s of sections) {
        doc[s.key] = s.record ? jsonObject(s.columns, s.record) : (s.rows ?? []).map((r) => jsonObject(s.columns, r));
      }
      return JSON.stringify(doc, null, 2) + '\n';
    }
    case 'ndjson': {
      let text = '';
      for (const s of sections) {
        if (s.total) continue;
        const rows = s.record ? [s.record] : (s.rows ?? []);
        for (const r of rows) text += JSON.stringify({ section: s.key, ...jsonObject(s.columns, r) }) + '\n';
      }
      return text;
    }
    case 'csv':
    case 'tsv':
      return sections
        .filter((s) => !s.total)
        .map((s) => renderRows(format, s.columns, s.record ? [s.record] : (s.rows ?? []), options))
        .join(format === 'csv' ? '\r\n' : '\n');
    case 'md':
      return sections
        .map((s) => `## ${mdCell(s.title)}\n\n` + (s.record ? renderMdRecord(s.columns, s.record) : renderRows('md', s.columns, s.rows ?? [], options)))
        .join('\n');
    case 'table':
      return sections
        .map((s) => colour.bold.underline(s.title) + '\n' + (s.record ? renderRecord(s.columns, s.record, options) : renderTable(s.columns, s.rows ?? [], options)))
        .join('\n');
  }
}

function renderMdRecord(columns: readonly Column[], record: Row): string {
  const lines = ['| Field | Value |', '| --- | --- |'];
  for (const c of columns) {
    if (c.kind === 'bar') continue;
    lines.push(`| ${mdCell(headerOf(c))} | ${mdCell(displayValue(c, record[c.key]))} |`);
  }
  return lines.join('\n') + '\n';
}

/** `Field   value` lines for one record, labels aligned. */
export function renderRecord(columns: readonly Column[], record: Row, options: RenderOptions): string {
  const visible = columns.filter((c) => c.kind !== 'bar');
  const width = Math.max(...visible.map((c) => headerOf(c).length));
  return (
    visible
      .map((c) => `${options.colour.dim(headerOf(c).padEnd(width))}  ${displayValue(c, record[c.key])}`)
      .join('\n') + '\n'
  );
}
