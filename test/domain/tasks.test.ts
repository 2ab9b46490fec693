// Intervals, month-end clamping, recurrence and ISO weeks: pure calendar arithmetic. Due dates
// with a time of day depend on TZ and are covered by the CLI tests under several zones.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/domain/errors.js';
import {
  addInterval,
  dateOnlyDue,
  dueTimelineInstant,
  isOverdue,
  isoWeekOf,
  localDayNumber,
  nextOccurrence,
  parseInterval,
  subtractInterval,
} from '../../src/domain/tasks.js';

describe('parseInterval', () => {
  it.each([
    ['1w', { count: 1, unit: 'w' }],
    ['3m', { count: 3, unit: 'm' }],
    ['10d', { count: 10, unit: 'd' }],
    [' 2W ', { count: 2, unit: 'w' }],
    ['1y', { count: 1, unit: 'y' }],
  ])('reads %j', (text, expected) => {
    expect(parseInterval(text)).toEqual(expected);
  });

  it.each(['', 'w', '0w', '1x', '-1w', '1.5m', 'weekly', '1 w x', '99999d'])('rejects %j as a usage error', (text) => {
    expect(() => parseInterval(text)).toThrow(UsageError);
  });
});

describe('addInterval', () => {
  it.each([
    ['2025-01-31', '1m', '2025-02-28'],
    ['2024-01-31', '1m', '2024-02-29'],
    ['2025-03-31', '1m', '2025-04-30'],
    ['2025-08-31', '3m', '2025-11-30'],
    ['2025-11-30', '3m', '2026-02-28'],
    ['2025-12-15', '1m', '2026-01-15'],
    ['2024-02-29', '1y', '2025-02-28'],
    ['2025-06-28', '1w', '2025-07-05'],
    ['2025-12-29', '10d', '2026-01-08'],
  ])('%s + %s = %s', (day, every, expected) => {
    expect(addInterval(day, parseInterval(every))).toBe(expected);
  });

  it('aims for the anchor day of a monthly series instead of drifting to the 28th', () => {
    const monthly = parseInterval('1m');
    expect(addInterval('2025-02-28', monthly, 1, 31)).toBe('2025-03-31');
    expect(addInterval('2025-03-31', monthly, 1, 31)).toBe('2025-04-30');
    expect(addInterval('2025-01-31', monthly, 2, 31)).toBe('2025-03-31');
  });

  it('goes back by an interval for cut-offs', () => {
    expect(subtractInterval('2025-03-31', parseInterval('1m'))).toBe('2025-02-28');
    expect(subtractInterval('2025-06-01', parseInterval('30d'))).toBe('2025-05-02');
  });
});

describe('nextOccurrence (date-only, so independent of TZ)', () => {
  const now = new Date('2025-06-04T12:00:00Z');

  it('is one interval after the due date when that is not yet past', () => {
    expect(nextOccurrence(dateOnlyDue('2025-06-03'), parseInterval('1w'), now)).toEqual(dateOnlyDue('2025-06-10'));
  });

  it('skips occurrences that would already be overdue', () => {
    expect(nextOccurrence(dateOnlyDue('2025-05-01'), parseInterval('1w'), now)).toEqual(dateOnlyDue('2025-06-05'));
  });

  it('clamps monthly occurrences to the month end', () => {
    expect(nextOccurrence(dateOnlyDue('2025-01-31'), parseInterval('1m'), new Date('2025-02-01T00:00:00Z'), 31)).toEqual(dateOnlyDue('2025-02-28'));
  });
});

describe('isOverdue for a date-only task', () => {
  it('is overdue only once its day is over', () => {
    // Local times, so this holds in whatever TZ the suite runs.
    expect(isOverdue(dateOnlyDue('2025-06-03'), new Date(2025, 5, 3, 23, 59, 59))).toBe(false);
    expect(isOverdue(dateOnlyDue('2025-06-03'), new Date(2025, 5, 4, 0, 0, 0))).toBe(true);
  });
});

describe('localDayNumber', () => {
  it('counts local calendar days, so differences match calendar arithmetic in any TZ', () => {
    const a = localDayNumber(new Date(2025, 0, 31, 23, 59));
    expect(localDayNumber(new Date(2025, 1, 1, 0, 0)) - a).toBe(1);
    expect(localDayNumber(new Date(2025, 5, 4, 12, 0)) - a).toBe(124);
    expect(localDayNumber(new Date(2025, 10, 3, 0, 30)) - localDayNumber(new Date(2025, 10, 1, 23, 30))).toBe(2);
  });
});

describe('dueTimelineInstant', () => {
  it('places a date-only task at the start of its local day and a timed one at its time', () => {
    expect(dueTimelineInstant(dateOnlyDue('2025-06-05'))).toBe(new Date(2025, 5, 5).toISOString());
    expect(dueTimelineInstant({ dueAt: '2025-06-05T01:00:00.000Z', hasTime: true })).toBe('2025-06-05T01:00:00.000Z');
  });
});

describe('isoWeekOf', () => {
  it.each([
    ['2025-06-04', '2025-06-02', '2025-06-08', '2025-W23'],
    ['2025-06-02', '2025-06-02', '2025-06-08', '2025-W23'],
    ['2025-06-08', '2025-06-02', '2025-06-08', '2025-W23'],
    ['2025-06-09', '2025-06-09', '2025-06-15', '2025-W24'],
    ['2024-12-30', '2024-12-30', '2025-01-05', '2025-W01'],
    ['2021-01-03', '2020-12-28', '2021-01-03', '2020-W53'],
    ['2026-01-01', '2025-12-29', '2026-01-04', '2026-W01'],
  ])('%s is in the week %s..%s (%s)', (day, monday, sunday, label) => {
    expect(isoWeekOf(day)).toEqual({ monday, sunday, label });
  });
});
