// The flag parsers of the whole CLI: every day, instant, due time, period, --as-of, amount, limit and
// required text a person types goes through here, so the same input means the same thing in every
// command. Dates honour `crm config set date_format dmy|mdy|ymd`; the setting is read only when a
// slashed date is ambiguous without it, so an ISO date never opens the database early.
import { endOfLocalDay, localDay, parseDate, parseDateTime, parseDayAndTime, type DateFormat, type DayAndTime } from '../domain/dates.js';
import { UsageError } from '../domain/errors.js';
import { parseMoney } from '../domain/money.js';
import { resolvePeriod, type Period, type RangeFlags } from '../domain/periods.js';
import { parseDue, type Due } from '../domain/tasks.js';
import { parseInteger } from '../domain/validation.js';
import type { Context } from './context.js';

/** A day written with the year last (`01/02/2025`): the only form whose reading depends on date_format. */
const YEAR_LAST = /(^|\D)\d{1,2}[-/.]\d{1,2}[-/.]\d{4}(\D|$)/;

const formats = new WeakMap<Context, Promise<DateFormat | undefined>>();

/** The configured reading of slashed dates (`config set date_format`), read once per command. */
export function dateFormatOf(ctx: Context): Promise<DateFormat | undefined> {
  let format = formats.get(ctx);
  if (!format) {
    format = (async () => {
      const { getSetting } = await import('../services/config.js');
      return ((await getSetting(await ctx.db(), 'date_format')) || undefined) as DateFormat | undefined;
    })();
    formats.set(ctx, format);
  }
  return format;
}

async function dateOptions(ctx: Context, value: string, label: string) {
  return { now: ctx.now(), label, dateFormat: YEAR_LAST.test(value) ? await dateFormatOf(ctx) : undefined };
}

/** A day flag (`--date`, `--from`, `--close-date`, `--for`) as a local day `YYYY-MM-DD`. */
export async function parseDayFlag(ctx: Context, value: string, label: string): Promise<string> {
  return parseDate(value, await dateOptions(ctx, value, label));
}

/** A day flag that may carry a time (`sale record --date 2025-03-01 16:20`): the day, and the instant when timed. */
export async function parseDayAndTimeFlag(ctx: Context, value: string, label: string): Promise<DayAndTime> {
  return parseDayAndTime(value, await dateOptions(ctx, value, label));
}

/** A point-in-time flag (`--at`, `--since`, `--opened`): a day (its start), a day with a time, or ISO. */
export async function parseInstantFlag(ctx: Context, value: string, label: string): Promise<Date> {
  return parseDateTime(value, await dateOptions(ctx, value, label));
}

/** A due flag (`task --due`): a day, `+3d`, `in 2w`, or a day with a local time. */
export async function parseDueFlag(ctx: Context, value: string, label = '--due'): Promise<Due> {
  return parseDue(value, await dateOptions(ctx, value, label));
}

/**
 * A `--due` parser for ctx.require, which parses synchronously (a flag, or an answer at a prompt):
 * the date format is read up front when a value will be parsed (`needed`).
 */
export async function dueParser(ctx: Context, needed: boolean, label = '--due'): Promise<(text: string) => Due> {
  const now = ctx.now();
  const dateFormat = needed ? await dateFormatOf(ctx) : undefined;
  return (text) => parseDue(text, { now, dateFormat, label });
}

/** What `--as-of DATE` means to every report. */
export interface AsOfFlag {
  /** The day reports count up to (inclusive) and read relative periods from. */
  today: string;
  /** The end of that day as stored instants (exclusive), or null without --as-of. */
  cutoff: string | null;
  /** The moment the report stands at: the end of that day, or now when that day is today. */
  instant: Date;
  /** `--as-recorded`: what crm had recorded by then, not what had happened by the dates events carry. */
  recorded: boolean;
}

/**
 * `--as-of DATE`: what had happened by the end of that local day, by the dates the events carry
 * (a sale's day, a ticket's or activity's times), however much later they were entered.
 * `--as-recorded` (only with --as-of) reads what crm had recorded by then instead: the audit view.
 * A day after today is a usage error everywhere: nothing has happened there yet.
 */
export async function parseAsOfFlag(ctx: Context, value: string | undefined, asRecorded = false): Promise<AsOfFlag> {
  const now = ctx.now();
  if (value === undefined) {
    if (asRecorded) throw new UsageError('--as-recorded needs --as-of DATE', { hint: 'e.g. --as-of 2025-03-31 --as-recorded: what crm had recorded by the end of that day' });
    return { today: localDay(now), cutoff: null, instant: now, recorded: false };
  }
  const day = await parseDayFlag(ctx, value, '--as-of');
  if (day > localDay(now)) throw new UsageError(`--as-of ${day} is in the future`, { hint: 'give today or an earlier day' });
  const end = endOfLocalDay(day);
  return { today: day, cutoff: end.toISOString(), instant: end.getTime() < now.getTime() ? end : now, recorded: asRecorded };
}

/** The help line of `--as-recorded`, the same on every report that has it. */
export const AS_RECORDED_HELP = 'with --as-of: what crm had recorded by the end of that day (the audit view), not the dates events carry';
/** The help line of `--as-of` on reports and segments. */
export const AS_OF_HELP = 'what had happened by the end of that day, by the dates events carry (however much later they were entered)';

/** Rejects --period with --from/--to before anything else is read, so that mistake is reported first. */
export function rejectPeriodConflict(flags: RangeFlags): void {
  if (flags.period !== undefined && (flags.from !== undefined || flags.to !== undefined)) {
    throw new UsageError('--period cannot be combined with --from/--to', { hint: 'give either --period P or --from D --to D' });
  }
}

/** `--period P` or `--from D --to D` relative to `today` (the as-of day), else `fallback`. */
export async function parsePeriodFlags(ctx: Context, flags: RangeFlags, today: string, fallback: string): Promise<Period> {
  rejectPeriodConflict(flags);
  const typed = [flags.from, flags.to].filter((v): v is string => v !== undefined);
  const dateFormat = typed.some((v) => YEAR_LAST.test(v)) ? await dateFormatOf(ctx) : undefined;
  return resolvePeriod(flags, today, fallback, dateFormat);
}

/** `--from D --to D` of a list (both optional, inclusive days). */
export async function parseDayRangeFlags(ctx: Context, flags: { from?: string | undefined; to?: string | undefined }): Promise<{ from?: string; to?: string }> {
  const from = flags.from !== undefined ? await parseDayFlag(ctx, flags.from, '--from') : undefined;
  const to = flags.to !== undefined ? await parseDayFlag(ctx, flags.to, '--to') : undefined;
  if (from !== undefined && to !== undefined && from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
  return { from, to };
}

/** `--limit N` (and similar counts): a whole number from `min`, or undefined when not given. */
export function parseLimitFlag(value: string | undefined, label = '--limit', min = 1, max?: number): number | undefined {
  return value === undefined ? undefined : parseInteger(value, label, min, max);
}

/** An amount flag (`--amount`, `--value`) in cents. */
export function moneyFlag(label: string): (value: string) => number {
  return (value) => parseMoney(value, { label });
}

/** Required free text (`--summary`, `--subject`, `--customer`): trimmed, never empty. */
export function nonEmpty(label: string): (value: string) => string {
  return (value) => {
    const trimmed = value.trim();
    if (!trimmed) throw new UsageError(`${label} must not be empty`);
    return trimmed;
  };
}
