// Report periods: a `--period` name or a `--from/--to` pair becomes a half-open range of local
// calendar days [from, to), with the previous period of the same kind for "change vs previous".
// Weeks are ISO 8601 weeks (Monday first; week 1 holds the year's first Thursday; some years have
// a week 53). "this-…" periods and ytd run up to today, and their previous period is the same span
// of the unit before (month-to-date against the same days of last month). Pure: today is passed in.
import { UsageError } from './errors.js';
import { addDays, daysBetween, daysInMonth, formatDay, isValidDay, parseDate, splitDay, startOfLocalDay, type DateFormat } from './dates.js';

/** Local calendar days, `to` exclusive. */
export interface DayRange {
  from: string;
  to: string;
}

export interface Period {
  /** What the user asked for, e.g. `last-month`, `2025-Q1`, `custom`, `all`. */
  label: string;
  /** First day, or null for "from the first record". */
  from: string | null;
  /** Exclusive end. */
  to: string;
  /** The comparable period before, or null when there is none (all time). */
  previous: DayRange | null;
}

/** The accepted `--period` forms, for help texts and hints. */
export const PERIOD_FORMS = [
  'today', 'yesterday', 'this-week', 'last-week', 'this-month', 'last-month', 'this-quarter', 'last-quarter',
  'this-year', 'ytd', 'last-year', 'last-30d', 'last-Nd', 'all', '2025', '2025-Q1', '2025-03', '2025-W09', '2025-03-14',
] as const;

/** 1 = Monday … 7 = Sunday. */
export function isoWeekday(day: string): number {
  const [y, m, d] = splitDay(day);
  const wd = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return wd === 0 ? 7 : wd;
}

/** The Monday that starts the ISO week of `day`. */
export function startOfIsoWeek(day: string): string {
  return addDays(day, 1 - isoWeekday(day));
}

/** ISO week-numbering year and week of a day (2021-01-03 is 2020-W53). */
export function isoWeekOf(day: string): { year: number; week: number } {
  const thursday = addDays(day, 4 - isoWeekday(day));
  const year = splitDay(thursday)[0];
  return { year, week: Math.floor(daysBetween(formatDay(year, 1, 1), thursday) / 7) + 1 };
}

/** `2020-W53`. */
export function isoWeekLabel(day: string): string {
  const { year, week } = isoWeekOf(day);
  return `${String(year).padStart(4, '0')}-W${String(week).padStart(2, '0')}`;
}

/** 52 or 53: 28 December always lies in the year's last ISO week. */
export function isoWeeksInYear(year: number): number {
  return isoWeekOf(formatDay(year, 12, 28)).week;
}

/** The Monday of ISO week `week` of `year`. */
export function isoWeekStart(year: number, week: number): string {
  return addDays(startOfIsoWeek(formatDay(year, 1, 4)), (week - 1) * 7);
}

/** Calendar months later (or earlier), keeping the day but not past the month's end (03-31 − 1 → 02-28). */
export function addMonths(day: string, months: number): string {
  const [y, m, d] = splitDay(day);
  const index = y * 12 + (m - 1) + months;
  const ny = Math.floor(index / 12);
  const nm = (index % 12) + 1;
  return formatDay(ny, nm, Math.min(d, daysInMonth(ny, nm)));
}

export function startOfMonth(day: string): string {
  const [y, m] = splitDay(day);
  return formatDay(y, m, 1);
}

export function startOfQuarter(day: string): string {
  const [y, m] = splitDay(day);
  return formatDay(y, m - ((m - 1) % 3), 1);
}

export function startOfYear(day: string): string {
  return formatDay(splitDay(day)[0], 1, 1);
}

/** The `2025-Q1` label of a day's quarter. */
export function quarterLabel(day: string): string {
  const m = splitDay(day)[1];
  return `${day.slice(0, 4)}-Q${Math.floor((m - 1) / 3) + 1}`;
}

/** A whole unit starting at `from` (`months` long, or 7 days for a week) and the unit before it. */
function wholeMonths(label: string, from: string, months: number): Period {
  return { label, from, to: addMonths(from, months), previous: { from: addMonths(from, -months), to: from } };
}

function wholeDays(label: string, from: string, days: number): Period {
  return { label, from, to: addDays(from, days), previous: { from: addDays(from, -days), to: from } };
}

/** From the start of the unit up to today; previous: the same span of the unit before. */
function toDate(label: string, from: string, today: string, months: number): Period {
  const previousLast = addMonths(today, -months);
  return { label, from, to: addDays(today, 1), previous: { from: addMonths(from, -months), to: addDays(previousLast, 1) } };
}

function invalidPeriod(input: string, why?: string): UsageError {
  return new UsageError(`--period "${input}" is not a period${why ? `: ${why}` : ''}`, {
    hint: `use one of: ${PERIOD_FORMS.join(', ')}`,
  });
}

/** Parses a `--period` value relative to `today` (a local day, `YYYY-MM-DD`). */
export function parsePeriod(input: string, today: string): Period {
  const raw = input.trim().toLowerCase();
  switch (raw) {
    case 'today':
      return wholeDays(raw, today, 1);
    case 'yesterday':
      return wholeDays(raw, addDays(today, -1), 1);
    case 'this-week': {
      const from = startOfIsoWeek(today);
      const days = daysBetween(from, today) + 1;
      return { label: raw, from, to: addDays(today, 1), previous: { from: addDays(from, -7), to: addDays(from, days - 7) } };
    }
    case 'last-week':
      return wholeDays(raw, addDays(startOfIsoWeek(today), -7), 7);
    case 'this-month':
      return toDate(raw, startOfMonth(today), today, 1);
    case 'last-month':
      return wholeMonths(raw, addMonths(startOfMonth(today), -1), 1);
    case 'this-quarter':
      return toDate(raw, startOfQuarter(today), today, 3);
    case 'last-quarter':
      return wholeMonths(raw, addMonths(startOfQuarter(today), -3), 3);
    case 'this-year':
    case 'ytd':
      return toDate(raw, startOfYear(today), today, 12);
    case 'last-year':
      return wholeMonths(raw, addMonths(startOfYear(today), -12), 12);
    case 'all':
      return { label: raw, from: null, to: addDays(today, 1), previous: null };
  }
  let match: RegExpExecArray | null;
  if ((match = /^last-(\d{1,5})d$/.exec(raw))) {
    const days = Number(match[1]);
    if (days < 1) throw invalidPeriod(input, 'the number of days must be 1 or more');
    return wholeDays(raw, addDays(today, 1 - days), days);
  }
  if ((match = /^(\d{4})$/.exec(raw))) {
    const year = Number(match[1]);
    if (year < 1) throw invalidPeriod(input);
    return wholeMonths(raw, formatDay(year, 1, 1), 12);
  }
  if ((match = /^(\d{4})-q(\d)$/.exec(raw))) {
    const [year, quarter] = [Number(match[1]), Number(match[2])];
    if (year < 1 || quarter < 1 || quarter > 4) throw invalidPeriod(input, 'quarters are Q1 to Q4');
    return wholeMonths(`${match[1]}-Q${quarter}`, formatDay(year, quarter * 3 - 2, 1), 3);
  }
  if ((match = /^(\d{4})-w(\d{1,2})$/.exec(raw))) {
    const [year, week] = [Number(match[1]), Number(match[2])];
    const weeks = year >= 1 ? isoWeeksInYear(year) : 0;
    if (week < 1 || week > weeks) throw invalidPeriod(input, `${match[1]} has ISO weeks 1 to ${weeks}`);
    return wholeDays(`${match[1]}-W${String(week).padStart(2, '0')}`, isoWeekStart(year, week), 7);
  }
  if ((match = /^(\d{4})-(\d{1,2})$/.exec(raw))) {
    const [year, month] = [Number(match[1]), Number(match[2])];
    if (year < 1 || month < 1 || month > 12) throw invalidPeriod(input, 'months are 01 to 12');
    return wholeMonths(formatDay(year, month, 1).slice(0, 7), formatDay(year, month, 1), 1);
  }
  if ((match = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(raw))) {
    const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
    if (!isValidDay(year, month, day)) throw invalidPeriod(input, 'not a real calendar day');
    const from = formatDay(year, month, day);
    return wholeDays(from, from, 1);
  }
  throw invalidPeriod(input);
}

export interface RangeFlags {
  period?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

/**
 * The period a report covers: `--period`, or `--from`/`--to` (both inclusive days; either may be
 * left out), or `fallback` when none is given. Combining --period with --from/--to is rejected.
 */
export function resolvePeriod(flags: RangeFlags, today: string, fallback: string, dateFormat?: DateFormat): Period {
  if (flags.period !== undefined && (flags.from !== undefined || flags.to !== undefined)) {
    throw new UsageError('--period cannot be combined with --from/--to', { hint: 'give either --period P or --from D --to D' });
  }
  if (flags.from === undefined && flags.to === undefined) return parsePeriod(flags.period ?? fallback, today);
  const now = startOfLocalDay(today);
  const from = flags.from !== undefined ? parseDate(flags.from, { now, dateFormat, label: '--from' }) : null;
  const last = flags.to !== undefined ? parseDate(flags.to, { now, dateFormat, label: '--to' }) : today;
  if (from !== null && from > last) {
    throw new UsageError(`--from ${from} is after --to ${last}`);
  }
  const to = addDays(last, 1);
  return { label: 'custom', from, to, previous: from === null ? null : previousRange(from, to) };
}

/**
 * The range a custom range is compared with. Whole calendar months (a month, a quarter, a year, or
 * any run of whole months) compare with as many months just before, so a year compares with the
 * year before across a leap day and March with all of February; any other range with as many days
 * just before it.
 */
export function previousRange(from: string, to: string): DayRange {
  const [fy, fm, fd] = splitDay(from);
  const [ty, tm, td] = splitDay(to);
  if (fd === 1 && td === 1) {
    const months = (ty - fy) * 12 + (tm - fm);
    return { from: addMonths(from, -months), to: from };
  }
  return { from: addDays(from, -daysBetween(from, to)), to: from };
}
