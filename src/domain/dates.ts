// Calendar days and timestamps. A plain date is a local calendar day stored as `YYYY-MM-DD`;
// a timestamp is an instant stored as ISO 8601 UTC (`Date#toISOString`). Local means the process's
// TZ. Pure: the current time is always passed in.
import { UsageError } from './errors.js';

export type DateFormat = 'ymd' | 'dmy' | 'mdy';
export const DATE_FORMATS: readonly DateFormat[] = ['ymd', 'dmy', 'mdy'];

export interface ParseDateOptions {
  now: Date;
  /** How to read a slashed date whose field order is ambiguous (`01/02/2021`). */
  dateFormat?: DateFormat | undefined;
  /** Name used in error messages, e.g. "--date". */
  label?: string;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** Is y-m-d a real calendar day? */
export function isValidDay(y: number, m: number, d: number): boolean {
  if (!Number.isInteger(y) || !Number.isInteger(m) || !Number.isInteger(d)) return false;
  if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1) return false;
  return d <= daysInMonth(y, m);
}

export function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

export function formatDay(y: number, m: number, d: number): string {
  return `${String(y).padStart(4, '0')}-${pad2(m)}-${pad2(d)}`;
}

/** The local calendar day of an instant. */
export function localDay(instant: Date): string {
  return formatDay(instant.getFullYear(), instant.getMonth() + 1, instant.getDate());
}

/** Splits `YYYY-MM-DD` into numbers (no validation beyond shape). */
export function splitDay(day: string): [number, number, number] {
  const [y, m, d] = day.split('-').map(Number);
  return [y!, m!, d!];
}

/** Calendar arithmetic on `YYYY-MM-DD`, independent of time zones and DST. */
export function addDays(day: string, days: number): string {
  const [y, m, d] = splitDay(day);
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return formatDay(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate());
}

/** Whole days from `a` to `b` (both `YYYY-MM-DD`). */
export function daysBetween(a: string, b: string): number {
  const [ay, am, ad] = splitDay(a);
  const [by, bm, bd] = splitDay(b);
  return Math.round((Date.UTC(by, bm - 1, bd) - Date.UTC(ay, am - 1, ad)) / 86_400_000);
}

/** The instant a local calendar day starts. */
export function startOfLocalDay(day: string): Date {
  const [y, m, d] = splitDay(day);
  return new Date(y, m - 1, d, 0, 0, 0, 0);
}

/** The first instant after a local calendar day (exclusive end), e.g. for `--as-of`. */
export function endOfLocalDay(day: string): Date {
  return startOfLocalDay(addDays(day, 1));
}

/** True for an instant as the database stores them (Date#toISOString): `2025-03-01T08:30:00.000Z`. */
function isStoredInstant(text: string): boolean {
  return text.length === 24 && text.charCodeAt(23) === 90 /* Z */ && text.charCodeAt(19) === 46 /* . */ && text.charCodeAt(10) === 84 /* T */;
}

/** ISO 8601 UTC without milliseconds, the form JSON and CSV use: `2025-03-01T08:30:00Z`. */
export function isoSeconds(instant: Date | string): string {
  if (typeof instant === 'string' && isStoredInstant(instant)) return `${instant.slice(0, 19)}Z`;
  const d = typeof instant === 'string' ? new Date(instant) : instant;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Local time for tables: `2025-03-01 16:30`. */
export function formatLocalTimestamp(instant: Date | string): string {
  const d = typeof instant === 'string' ? new Date(instant) : instant;
  return `${localDay(d)} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

const RELATIVE_DAYS = /^(?:-(\d{1,5})d|(\d{1,5})d-ago)$/i;

function invalidDate(raw: string, label: string): UsageError {
  return new UsageError(`${label} "${raw}" is not a date`, {
    hint: 'use YYYY-MM-DD, YYYY/MM/DD, today, yesterday or 7d-ago',
  });
}

/** Parses a date typed by a user or found in a file into a local calendar day `YYYY-MM-DD`. */
export function parseDate(input: string, options: ParseDateOptions): string {
  const label = options.label ?? 'date';
  const raw = input.trim();
  const lower = raw.toLowerCase();
  const today = localDay(options.now);
  if (lower === 'today') return today;
  if (lower === 'yesterday') return addDays(today, -1);
  if (lower === 'tomorrow') return addDays(today, 1);
  const rel = RELATIVE_DAYS.exec(lower);
  if (rel) return addDays(today, -Number(rel[1] ?? rel[2]));

  let y: number;
  let m: number;
  let d: number;
  let match = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$/.exec(raw);
  if (match) {
    [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  } else if ((match = /^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$/.exec(raw))) {
    const a = Number(match[1]);
    const b = Number(match[2]);
    y = Number(match[3]);
    const format = options.dateFormat;
    if (format === 'dmy') [d, m] = [a, b];
    else if (format === 'mdy') [m, d] = [a, b];
    else if (a > 12 && b <= 12) [d, m] = [a, b];
    else if (b > 12 && a <= 12) [m, d] = [a, b];
    else if (a === b) [d, m] = [a, b];
    else {
      throw new UsageError(`${label} "${raw}" is ambiguous: day/month or month/day?`, {
        // No command but import has a --date-format flag; the setting applies everywhere.
        hint: 'write it as YYYY-MM-DD, or say how slashed dates read: crm config set date_format dmy (or mdy)',
      });
    }
  } else {
    throw invalidDate(raw, label);
  }
  if (!isValidDay(y, m, d)) {
    throw new UsageError(`${label} "${raw}" is not a real calendar day`);
  }
  return formatDay(y, m, d);
}

/**
 * Parses a point in time: a date (see parseDate; it means the start of that local day unless
 * `endOfDay`), optionally followed by `HH:MM[:SS]` local time, or a full ISO timestamp with zone.
 */
export function parseDateTime(input: string, options: ParseDateOptions & { endOfDay?: boolean }): Date {
  const label = options.label ?? 'time';
  const raw = input.trim();
  if (/^now$/i.test(raw)) return new Date(options.now.getTime());
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(raw)) {
    const t = new Date(raw);
    if (Number.isNaN(t.getTime())) throw invalidDate(raw, label);
    const [y, m, d] = raw.slice(0, 10).split('-').map(Number);
    if (!isValidDay(y!, m!, d!)) throw new UsageError(`${label} "${raw}" is not a real calendar day`);
    return t;
  }
  const timeMatch = /^(.*?)[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(raw);
  if (timeMatch) {
    const day = parseDate(timeMatch[1]!, { ...options, label });
    const [hh, mm, ss] = [Number(timeMatch[2]), Number(timeMatch[3]), Number(timeMatch[4] ?? 0)];
    if (hh > 23 || mm > 59 || ss > 59) throw new UsageError(`${label} "${raw}" has an impossible time`);
    const [y, m, d] = splitDay(day);
    return new Date(y, m - 1, d, hh, mm, ss);
  }
  const day = parseDate(raw, { ...options, label });
  return options.endOfDay ? endOfLocalDay(day) : startOfLocalDay(day);
}

/** A duration such as `4h`, `30m`, `90d`, `2w` in milliseconds. */
export function parseDuration(input: string, label = 'duration'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$/i.exec(input);
  if (!match) {
    throw new UsageError(`${label} "${input}" is not a duration`, { hint: 'use e.g. 30m, 4h, 2d or 1w' });
  }
  const n = Number(match[1]);
  const unit = match[2]!.toLowerCase();
  const ms = { m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[unit]!;
  const total = n * ms;
  if (!Number.isFinite(total) || total <= 0) throw new UsageError(`${label} "${input}" must be more than zero`);
  return Math.round(total);
}
