// `--period` for `report tickets`, as a range of instants: the same forms and meaning as every other
// report (src/domain/periods.ts), expressed as [from, to) over local calendar days because ticket
// times are instants rather than calendar days.
import { addDays, localDay, startOfLocalDay } from './dates.js';
import { parsePeriod as parseReportPeriod } from './periods.js';

export interface PeriodRange {
  /** The period as typed, normalised (e.g. `2025-Q1`). */
  label: string;
  /** First local day, `YYYY-MM-DD` (`1970-01-01` for `all`). */
  firstDay: string;
  /** Last local day (inclusive), `YYYY-MM-DD`. */
  lastDay: string;
  /** Start instant (inclusive). */
  from: Date;
  /** End instant (exclusive): the start of the day after lastDay. */
  to: Date;
}

/** Parses a `--period` value relative to `now` (local time). Weeks are ISO weeks, Monday first. */
export function parsePeriod(input: string, now: Date): PeriodRange {
  const period = parseReportPeriod(input, localDay(now));
  const firstDay = period.from ?? '1970-01-01';
  return {
    label: period.label,
    firstDay,
    lastDay: addDays(period.to, -1),
    from: startOfLocalDay(firstDay),
    to: startOfLocalDay(period.to),
  };
}
