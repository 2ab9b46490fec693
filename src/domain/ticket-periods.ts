// `--period` for `report tickets`: the contract's forms (today, this-week, this-month, last-month,
// this-quarter, ytd, last-30d, 2025, 2025-Q1, 2025-03) as a half-open range of instants
// [from, to) over local calendar days. Kept small and separate so it can be unified with the sales
// reports' period parser (src/domain/periods.ts) when the branches meet.
import { addDays, formatDay, localDay, splitDay, startOfLocalDay } from './dates.js';
import { UsageError } from './errors.js';

export interface PeriodRange {
  /** The period as typed, normalised (e.g. `2025-Q1`). */
  label: string;
  /** First local day, `YYYY-MM-DD`. */
  firstDay: string;
  /** Last local day (inclusive), `YYYY-MM-DD`. */
  lastDay: string;
  /** Start instant (inclusive). */
  from: Date;
  /** End instant (exclusive): the start of the day after lastDay. */
  to: Date;
}

export const PERIOD_FORMS = ['today', 'this-week', 'this-month', 'last-month', 'this-quarter', 'ytd', 'last-30d', 'YYYY', 'YYYY-Qn', 'YYYY-MM'] as const;

function range(label: string, firstDay: string, lastDay: string): PeriodRange {
  return { label, firstDay, lastDay, from: startOfLocalDay(firstDay), to: startOfLocalDay(addDays(lastDay, 1)) };
}

function monthRange(label: string, y: number, m: number, months = 1): PeriodRange {
  const first = formatDay(y, m, 1);
  const next = new Date(Date.UTC(y, m - 1 + months, 1));
  const last = addDays(formatDay(next.getUTCFullYear(), next.getUTCMonth() + 1, 1), -1);
  return range(label, first, last);
}

/** Parses a `--period` value relative to `now` (local time). Weeks start on Monday. */
export function parsePeriod(input: string, now: Date): PeriodRange {
  const raw = input.trim().toLowerCase();
  const today = localDay(now);
  const [y, m, d] = splitDay(today);
  switch (raw) {
    case 'today':
      return range(raw, today, today);
    case 'this-week': {
      const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7; // Monday = 0
      const monday = addDays(today, -weekday);
      return range(raw, monday, addDays(monday, 6));
    }
    case 'this-month':
      return monthRange(raw, y, m);
    case 'last-month':
      return m === 1 ? monthRange(raw, y - 1, 12) : monthRange(raw, y, m - 1);
    case 'this-quarter':
      return monthRange(raw, y, Math.floor((m - 1) / 3) * 3 + 1, 3);
    case 'ytd':
      return range(raw, formatDay(y, 1, 1), today);
    case 'last-30d':
      return range(raw, addDays(today, -29), today);
  }
  let match = /^(\d{4})/.exec(raw);
  if (match && Number(match[1]) < 1000) throw new UsageError(`--period "${input}" is not a period`, { hint: 'years are written with four digits, e.g. 2025' });
  match = /^(\d{4})$/.exec(raw);
  if (match) return range(match[1]!, formatDay(Number(match[1]), 1, 1), formatDay(Number(match[1]), 12, 31));
  match = /^(\d{4})-q([1-4])$/.exec(raw);
  if (match) return monthRange(`${match[1]}-Q${match[2]}`, Number(match[1]), (Number(match[2]) - 1) * 3 + 1, 3);
  match = /^(\d{4})-(\d{2})$/.exec(raw);
  if (match && Number(match[2]) >= 1 && Number(match[2]) <= 12) return monthRange(raw, Number(match[1]), Number(match[2]));
  throw new UsageError(`--period "${input}" is not a period`, {
    hint: 'use today, this-week, this-month, last-month, this-quarter, ytd, last-30d, 2025, 2025-Q1 or 2025-03',
  });
}
