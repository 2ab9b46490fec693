// Due dates, recurrence intervals and calendar windows for tasks and the agenda. Pure: the clock
// and the time zone come in (the zone is the process's TZ, through Date's local-time methods).
//
// A task is due either on a calendar day (date-only) or at an instant (timed):
// - timed: `due_at` is the instant in ISO UTC, `due_has_time = 1`; shown in local time.
// - date-only: `due_at` is `YYYY-MM-DDT00:00:00.000Z` carrying the calendar day, `due_has_time = 0`.
//   The day floats: it is the same calendar day in every time zone (like an all-day calendar entry),
//   and the task becomes overdue when that local day has ended.
import { UsageError } from './errors.js';
import {
  addDays,
  daysInMonth,
  endOfLocalDay,
  formatDay,
  formatLocalTimestamp,
  localDay,
  parseDate,
  parseDateTime,
  splitDay,
  startOfLocalDay,
  type DateFormat,
} from './dates.js';

export const TASK_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export type TaskPriority = (typeof TASK_PRIORITIES)[number];

/** A due date as stored: the `due_at` text and whether it carries a time of day. */
export interface Due {
  dueAt: string;
  hasTime: boolean;
}

/** A calendar interval: `10d`, `2w`, `1m`, `3m`, `1y`. */
export interface Interval {
  count: number;
  unit: 'd' | 'w' | 'm' | 'y';
}

const INTERVAL = /^\s*(\d{1,4})\s*(d|w|m|y)\s*$/i;

/** Parses `Nd`, `Nw`, `Nm` or `Ny` (days, weeks, months, years); throws a UsageError (exit 2). */
export function parseInterval(input: string, label = '--every'): Interval {
  const match = INTERVAL.exec(input);
  if (!match || Number(match[1]) < 1) {
    throw new UsageError(`${label} "${input}" is not an interval`, { hint: 'use e.g. 1w, 2w, 1m, 3m or 10d (days, weeks, months, years)' });
  }
  return { count: Number(match[1]), unit: match[2]!.toLowerCase() as Interval['unit'] };
}

export function formatInterval(interval: Interval): string {
  return `${interval.count}${interval.unit}`;
}

/**
 * Moves a calendar day by `steps` intervals. Months and years clamp to the month's end
 * (Jan 31 + 1m = Feb 28, or 29 in a leap year); `anchorDay` is the day of month a monthly series
 * aims for, so Jan 31 → Feb 28 → Mar 31 rather than drifting to the 28th.
 */
export function addInterval(day: string, interval: Interval, steps = 1, anchorDay?: number): string {
  const n = interval.count * steps;
  if (interval.unit === 'd') return addDays(day, n);
  if (interval.unit === 'w') return addDays(day, 7 * n);
  const months = interval.unit === 'y' ? 12 * n : n;
  const [y, m, d] = splitDay(day);
  const index = y * 12 + (m - 1) + months;
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  return formatDay(year, month, Math.min(anchorDay ?? d, daysInMonth(year, month)));
}

/** Moves a calendar day back by one interval (for "not contacted for 1m" cut-offs). */
export function subtractInterval(day: string, interval: Interval): string {
  return addInterval(day, { count: -interval.count, unit: interval.unit });
}

const pad2 = (n: number) => String(n).padStart(2, '0');

export function dateOnlyDue(day: string): Due {
  return { dueAt: `${day}T00:00:00.000Z`, hasTime: false };
}

export function timedDue(instant: Date): Due {
  return { dueAt: instant.toISOString(), hasTime: true };
}

const HAS_TIME = /[ T]\d{1,2}:\d{2}/;
const RELATIVE_FORWARD = /^\+?\s*(\d{1,4})\s*([dwmy])$/i;
const IN_RELATIVE = /^in\s+(\d{1,4})\s*([dwmy])$/i;

/**
 * Parses `--due`: a date (`2025-06-02`, `today`, `tomorrow`, `+3d`, `in 2w`) is date-only; a date
 * with a local time (`2025-06-02 09:30`, `tomorrow 14:00`) or a full ISO timestamp is timed.
 */
export function parseDue(input: string, options: { now: Date; dateFormat?: DateFormat | undefined; label?: string }): Due {
  const label = options.label ?? '--due';
  const raw = input.trim();
  const relative = RELATIVE_FORWARD.exec(raw) ?? IN_RELATIVE.exec(raw);
  if (relative && (raw.startsWith('+') || /^in\s/i.test(raw))) {
    const interval = parseInterval(`${relative[1]}${relative[2]}`, label);
    return dateOnlyDue(addInterval(localDay(options.now), interval));
  }
  if (HAS_TIME.test(raw)) return timedDue(parseDateTime(raw, { now: options.now, dateFormat: options.dateFormat, label }));
  return dateOnlyDue(parseDate(raw, { now: options.now, dateFormat: options.dateFormat, label }));
}

/** The instant before which a last contact counts as "more than `interval` ago", as of `now`'s local day. */
export function notContactedCutoff(interval: Interval, now: Date): string {
  return startOfLocalDay(subtractInterval(localDay(now), interval)).toISOString();
}

/** Days since 1970-01-01 of an instant's local calendar day: cheap whole-day differences for many rows. */
export function localDayNumber(instant: Date): number {
  return Math.floor((instant.getTime() - instant.getTimezoneOffset() * 60_000) / 86_400_000);
}

/** The calendar day a due date falls on, locally. */
export function dueDay(due: Due): string {
  return due.hasTime ? localDay(new Date(due.dueAt)) : due.dueAt.slice(0, 10);
}

/** `2025-06-02` for a date-only task, `2025-06-02 09:30` (local) for a timed one. */
export function formatDue(due: Due): string {
  return due.hasTime ? formatLocalTimestamp(due.dueAt) : due.dueAt.slice(0, 10);
}

/** The instant after which the task is overdue: its time, or the end of its local day. */
export function dueDeadline(due: Due): Date {
  return due.hasTime ? new Date(due.dueAt) : endOfLocalDay(due.dueAt.slice(0, 10));
}

/**
 * The instant to place a task at on a timeline (`customer show`): its time, or the start of its
 * local day for a date-only task (as a sale's day is placed). Never read a date-only `due_at` as an
 * instant: `2025-06-05T00:00:00.000Z` would show as the 4th in New York.
 */
export function dueTimelineInstant(due: Due): string {
  return due.hasTime ? due.dueAt : startOfLocalDay(due.dueAt.slice(0, 10)).toISOString();
}

export function isOverdue(due: Due, now: Date): boolean {
  return due.hasTime ? due.dueAt < now.toISOString() : due.dueAt.slice(0, 10) < localDay(now);
}

/**
 * The next occurrence of a recurring task: the first step of the series (from `due`) that is not
 * already overdue at `now`, so a weekly task finished three weeks late comes back next week rather
 * than three times overdue. Timed tasks keep their local wall-clock time across DST changes.
 */
export function nextOccurrence(due: Due, interval: Interval, now: Date, anchorDay?: number): Due {
  const day = dueDay(due);
  const at = due.hasTime ? new Date(due.dueAt) : undefined;
  for (let steps = 1; steps <= 100_000; steps++) {
    const nextDay = addInterval(day, interval, steps, anchorDay);
    const next = at
      ? timedDue(new Date(...localDayParts(nextDay), at.getHours(), at.getMinutes(), at.getSeconds()))
      : dateOnlyDue(nextDay);
    if (!isOverdue(next, now)) return next;
  }
  throw new UsageError('the recurrence never reaches the present');
}

function localDayParts(day: string): [number, number, number] {
  const [y, m, d] = splitDay(day);
  return [y, m - 1, d];
}

/** Monday..Sunday of the ISO week containing `day`. */
export function isoWeekOf(day: string): { monday: string; sunday: string; label: string } {
  const [y, m, d] = splitDay(day);
  const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
  const monday = addDays(day, -weekday);
  const thursday = addDays(monday, 3);
  const [ty] = splitDay(thursday);
  const week = Math.floor((Date.UTC(...localDayParts(thursday)) - Date.UTC(ty, 0, 1)) / 86_400_000 / 7) + 1;
  return { monday, sunday: addDays(monday, 6), label: `${ty}-W${pad2(week)}` };
}

/**
 * A window of local calendar days [firstDay, lastDay] as the two bounds each kind of task is
 * compared on: date-only tasks by their day text, timed tasks by their UTC instant.
 */
export interface DueBounds {
  dayFrom: string;
  dayTo: string;
  instantFrom: string;
  instantTo: string;
}

export function dueBounds(firstDay: string, lastDay: string): DueBounds {
  return {
    dayFrom: firstDay,
    dayTo: addDays(lastDay, 1),
    instantFrom: startOfLocalDay(firstDay).toISOString(),
    instantTo: endOfLocalDay(lastDay).toISOString(),
  };
}

/** Sort key: the deadline instant (date-only tasks sort at the end of their day). */
export function dueSortKey(due: Due): number {
  return dueDeadline(due).getTime() - (due.hasTime ? 0 : 1);
}

export function priorityRank(priority: string): number {
  return TASK_PRIORITIES.indexOf(priority as TaskPriority);
}
