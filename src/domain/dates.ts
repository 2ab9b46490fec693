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

/** An ISO 8601 date and time with a zone: `T` or a space between, `Z` or an offset `+08:00`, `+0800`, `+08`. */
const ZONED = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)$/;
/** A date followed by a local time `HH:MM[:SS[.fff]]`. */
const LOCAL_TIME = /^(.*?)[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?$/;

const millisOf = (fraction: string | undefined) => (fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * 1000));

/** The instant a text with a time of day names, or null when the text has no time (a plain date). */
function parseTimed(raw: string, options: ParseDateOptions, label: string): Date | null {
  const zoned = ZONED.exec(raw);
  if (zoned) {
    const [y, m, d, hh, mm, ss] = [1, 2, 3, 4, 5, 6].map((i) => Number(zoned[i] ?? 0)) as [number, number, number, number, number, number];
    if (!isValidDay(y, m, d)) throw new UsageError(`${label} "${raw}" is not a real calendar day`);
    const offsetMinutes = zoned[8] ? 0 : (zoned[9] === '-' ? -1 : 1) * (Number(zoned[10]) * 60 + Number(zoned[11] ?? 0));
    if (hh > 23 || mm > 59 || ss > 59 || Number(zoned[11] ?? 0) > 59 || Math.abs(offsetMinutes) > 18 * 60) throw new UsageError(`${label} "${raw}" has an impossible time`);
    return new Date(Date.UTC(y, m - 1, d, hh, mm, ss, millisOf(zoned[7])) - offsetMinutes * 60_000);
  }
  const timeMatch = LOCAL_TIME.exec(raw);
  if (!timeMatch) return null;
  const day = parseDate(timeMatch[1]!, { ...options, label });
  const [hh, mm, ss] = [Number(timeMatch[2]), Number(timeMatch[3]), Number(timeMatch[4] ?? 0)];
  if (hh > 23 || mm > 59 || ss > 59) throw new UsageError(`${label} "${raw}" has an impossible time`);
  const [y, m, d] = splitDay(day);
  return new Date(y, m - 1, d, hh, mm, ss, millisOf(timeMatch[5]));
}

/**
 * Parses a point in time: a date (see parseDate; it means the start of that local day unless
 * `endOfDay`), optionally followed by `HH:MM[:SS]` local time, or a full ISO timestamp with zone.
 */
export function parseDateTime(input: string, options: ParseDateOptions & { endOfDay?: boolean }): Date {
  const label = options.label ?? 'time';
  const raw = input.trim();
  if (/^now$/i.test(raw)) return new Date(options.now.getTime());
  const timed = parseTimed(raw, options, label);
  if (timed) return timed;
  const day = parseDate(raw, { ...options, label });
  return options.endOfDay ? endOfLocalDay(day) : startOfLocalDay(day);
}

/** A day that may carry a time: the local calendar day, and the instant (ISO UTC) when a time was given. */
export interface DayAndTime {
  day: string;
  /** `Date#toISOString` of the instant; null for a plain date. */
  at: string | null;
}

/**
 * Parses a sale's date: a plain date (see parseDate), or a date with a time — local wall-clock time
 * (`2011-10-06 16:20:00`, `2011-10-06T16:20`) or ISO 8601 with `Z` or an offset. A timed value's day
 * is the local calendar day of its instant, the day reports count it in.
 */
export function parseDayAndTime(input: string, options: ParseDateOptions): DayAndTime {
  const label = options.label ?? 'date';
  const raw = input.trim();
  const timed = parseTimed(raw, options, label);
  if (timed === null) return { day: parseDate(raw, { ...options, label }), at: null };
  if (Number.isNaN(timed.getTime())) throw invalidDate(raw, label);
  return { day: localDay(timed), at: timed.toISOString() };
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
