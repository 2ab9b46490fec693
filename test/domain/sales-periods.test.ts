// Report periods: month ends, leap days, ISO week 53, quarter boundaries, and typos.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/domain/errors.js';
import { addDays } from '../../src/domain/dates.js';
import { addMonths, isoWeekLabel, isoWeekOf, isoWeeksInYear, parsePeriod, resolvePeriod } from '../../src/domain/periods.js';

const range = (p: { from: string | null; to: string; previous: { from: string; to: string } | null }) => [p.from, p.to, p.previous?.from, p.previous?.to];

describe('ISO weeks', () => {
  it('numbers weeks the ISO way, including week 53', () => {
    expect(isoWeekOf('2021-01-03')).toEqual({ year: 2020, week: 53 });
    expect(isoWeekOf('2021-01-04')).toEqual({ year: 2021, week: 1 });
    expect(isoWeekOf('2024-12-30')).toEqual({ year: 2025, week: 1 });
    expect(isoWeekOf('2026-12-31')).toEqual({ year: 2026, week: 53 });
    expect(isoWeekLabel('2020-12-28')).toBe('2020-W53');
    expect(isoWeekLabel('2025-03-02')).toBe('2025-W09');
    expect([2015, 2020, 2021, 2025, 2026].map(isoWeeksInYear)).toEqual([53, 53, 52, 52, 53]);
  });

  it('parses week periods, week 53 only where it exists', () => {
    expect(range(parsePeriod('2020-W53', '2025-06-01'))).toEqual(['2020-12-28', '2021-01-04', '2020-12-21', '2020-12-28']);
    expect(range(parsePeriod('2026-w53', '2025-06-01'))).toEqual(['2026-12-28', '2027-01-04', '2026-12-21', '2026-12-28']);
    expect(range(parsePeriod('2021-W01', '2025-06-01'))).toEqual(['2021-01-04', '2021-01-11', '2020-12-28', '2021-01-04']);
    expect(() => parsePeriod('2025-W53', '2025-06-01')).toThrow(/2025 has ISO weeks 1 to 52/);
  });

  it('this-week and last-week run Monday to Sunday across a year end', () => {
    // 2021-01-03 is a Sunday in 2020-W53.
    expect(range(parsePeriod('this-week', '2021-01-03'))).toEqual(['2020-12-28', '2021-01-04', '2020-12-21', '2020-12-28']);
    // Wednesday: week to date against Monday–Wednesday of the week before.
    expect(range(parsePeriod('this-week', '2025-03-05'))).toEqual(['2025-03-03', '2025-03-06', '2025-02-24', '2025-02-27']);
    expect(range(parsePeriod('last-week', '2021-01-04'))).toEqual(['2020-12-28', '2021-01-04', '2020-12-21', '2020-12-28']);
  });
});

describe('months and month ends', () => {
  it('shifts months without running past the month end', () => {
    expect(addMonths('2025-03-31', -1)).toBe('2025-02-28');
    expect(addMonths('2024-03-31', -1)).toBe('2024-02-29');
    expect(addMonths('2025-01-31', 1)).toBe('2025-02-28');
    expect(addMonths('2025-12-15', 1)).toBe('2026-01-15');
  });

  it('last-month on the last day of a month', () => {
    expect(range(parsePeriod('last-month', '2025-03-31'))).toEqual(['2025-02-01', '2025-03-01', '2025-01-01', '2025-02-01']);
    expect(range(parsePeriod('last-month', '2025-01-01'))).toEqual(['2024-12-01', '2025-01-01', '2024-11-01', '2024-12-01']);
  });

  it('this-month runs to today, against the same days of last month (all of a shorter February)', () => {
    expect(range(parsePeriod('this-month', '2025-03-31'))).toEqual(['2025-03-01', '2025-04-01', '2025-02-01', '2025-03-01']);
    expect(range(parsePeriod('this-month', '2025-03-30'))).toEqual(['2025-03-01', '2025-03-31', '2025-02-01', '2025-03-01']);
    expect(range(parsePeriod('this-month', '2025-03-27'))).toEqual(['2025-03-01', '2025-03-28', '2025-02-01', '2025-02-28']);
  });

  it('named months, including a leap February', () => {
    expect(range(parsePeriod('2024-02', '2025-06-01'))).toEqual(['2024-02-01', '2024-03-01', '2024-01-01', '2024-02-01']);
    expect(range(parsePeriod('2025-03', '2025-06-01'))).toEqual(['2025-03-01', '2025-04-01', '2025-02-01', '2025-03-01']);
  });
});

describe('leap day', () => {
  it('ytd on 29 February compares with the same span of the year before', () => {
    expect(range(parsePeriod('ytd', '2024-02-29'))).toEqual(['2024-01-01', '2024-03-01', '2023-01-01', '2023-03-01']);
    expect(range(parsePeriod('this-year', '2025-03-01'))).toEqual(['2025-01-01', '2025-03-02', '2024-01-01', '2024-03-02']);
  });

  it('a single day and the day before it', () => {
    expect(range(parsePeriod('2024-02-29', '2025-06-01'))).toEqual(['2024-02-29', '2024-03-01', '2024-02-28', '2024-02-29']);
    expect(range(parsePeriod('today', '2024-03-01'))).toEqual(['2024-03-01', '2024-03-02', '2024-02-29', '2024-03-01']);
    expect(range(parsePeriod('yesterday', '2024-03-01'))).toEqual(['2024-02-29', '2024-03-01', '2024-02-28', '2024-02-29']);
  });

  it('last-30d spans 30 days ending today', () => {
    expect(range(parsePeriod('last-30d', '2024-03-01'))).toEqual(['2024-02-01', '2024-03-02', '2024-01-02', '2024-02-01']);
    expect(range(parsePeriod('last-7d', '2025-01-03'))).toEqual(['2024-12-28', '2025-01-04', '2024-12-21', '2024-12-28']);
  });
});

describe('quarters and years', () => {
  it('named quarters and the one before, across year ends', () => {
    expect(range(parsePeriod('2025-Q1', '2025-06-01'))).toEqual(['2025-01-01', '2025-04-01', '2024-10-01', '2025-01-01']);
    expect(range(parsePeriod('2025-q4', '2025-06-01'))).toEqual(['2025-10-01', '2026-01-01', '2025-07-01', '2025-10-01']);
  });

  it('this-quarter and last-quarter at quarter boundaries', () => {
    expect(range(parsePeriod('last-quarter', '2025-04-01'))).toEqual(['2025-01-01', '2025-04-01', '2024-10-01', '2025-01-01']);
    expect(range(parsePeriod('last-quarter', '2025-03-31'))).toEqual(['2024-10-01', '2025-01-01', '2024-07-01', '2024-10-01']);
    expect(range(parsePeriod('this-quarter', '2025-04-01'))).toEqual(['2025-04-01', '2025-04-02', '2025-01-01', '2025-01-02']);
    // 31 May against the quarter before: 31 Jan + 28 Feb days, i.e. up to the end of February.
    expect(range(parsePeriod('this-quarter', '2025-05-31'))).toEqual(['2025-04-01', '2025-06-01', '2025-01-01', '2025-03-01']);
  });

  it('years', () => {
    expect(range(parsePeriod('2025', '2025-06-01'))).toEqual(['2025-01-01', '2026-01-01', '2024-01-01', '2025-01-01']);
    expect(range(parsePeriod('last-year', '2025-01-01'))).toEqual(['2024-01-01', '2025-01-01', '2023-01-01', '2024-01-01']);
    expect(range(parsePeriod('all', '2025-06-01'))).toEqual([null, '2025-06-02', undefined, undefined]);
  });
});

describe('typos and ranges', () => {
  for (const typo of ['lsat-month', 'this_month', '2025-13', '2025-Q5', '2025-02-30', 'last-0d', '', 'Q1-2025', '25-03']) {
    it(`rejects --period "${typo}" as a usage error listing the accepted forms`, () => {
      let error: unknown;
      try {
        parsePeriod(typo, '2025-06-01');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).exitCode).toBe(2);
      expect((error as UsageError).hint).toContain('last-month');
      expect((error as UsageError).hint).toContain('2025-Q1');
    });
  }

  it('--from/--to are inclusive days; the previous range is as long and just before', () => {
    expect(range(resolvePeriod({ from: '2025-03-01', to: '2025-03-10' }, '2025-06-01', 'all'))).toEqual(['2025-03-01', '2025-03-11', '2025-02-19', '2025-03-01']);
    expect(range(resolvePeriod({ from: '2025-05-30' }, '2025-06-01', 'all'))).toEqual(['2025-05-30', '2025-06-02', '2025-05-27', '2025-05-30']);
    expect(range(resolvePeriod({ to: '2025-01-31' }, '2025-06-01', 'all'))).toEqual([null, '2025-02-01', undefined, undefined]);
    expect(resolvePeriod({}, '2025-06-01', 'last-month').label).toBe('last-month');
  });

  // [--from, --to] → the previous range, inclusive days as a person reads them.
  const previousOf = (from: string, to: string) => {
    const p = resolvePeriod({ from, to }, '2026-06-01', 'all').previous!;
    return [p.from, addDays(p.to, -1)];
  };

  it('whole years compare with the year before, across a leap day either way', () => {
    expect(previousOf('2025-01-01', '2025-12-31')).toEqual(['2024-01-01', '2024-12-31']);
    expect(previousOf('2024-01-01', '2024-12-31')).toEqual(['2023-01-01', '2023-12-31']);
    expect(previousOf('2023-01-01', '2024-12-31')).toEqual(['2021-01-01', '2022-12-31']);
  });

  it('whole quarters compare with the quarter before', () => {
    expect(previousOf('2025-01-01', '2025-03-31')).toEqual(['2024-10-01', '2024-12-31']);
    expect(previousOf('2024-04-01', '2024-06-30')).toEqual(['2024-01-01', '2024-03-31']);
    expect(previousOf('2025-07-01', '2025-09-30')).toEqual(['2025-04-01', '2025-06-30']);
  });

  it('whole months compare with as many months before: February of a leap year, month ends', () => {
    expect(previousOf('2025-03-01', '2025-03-31')).toEqual(['2025-02-01', '2025-02-28']);
    expect(previousOf('2024-03-01', '2024-03-31')).toEqual(['2024-02-01', '2024-02-29']);
    expect(previousOf('2024-02-01', '2024-02-29')).toEqual(['2024-01-01', '2024-01-31']);
    expect(previousOf('2025-05-01', '2025-05-31')).toEqual(['2025-04-01', '2025-04-30']);
    expect(previousOf('2025-01-01', '2025-01-31')).toEqual(['2024-12-01', '2024-12-31']);
    expect(previousOf('2025-02-01', '2025-03-31')).toEqual(['2024-12-01', '2025-01-31']);
  });

  it('any other range compares with as many days just before it', () => {
    // Not whole months: 2025-01-02..2025-12-31 is 364 days.
    expect(previousOf('2025-01-02', '2025-12-31')).toEqual(['2024-01-04', '2025-01-01']);
    expect(previousOf('2024-03-01', '2024-03-30')).toEqual(['2024-01-31', '2024-02-29']);
    expect(previousOf('2025-03-15', '2025-04-14')).toEqual(['2025-02-12', '2025-03-14']);
    expect(previousOf('2025-06-02', '2025-06-08')).toEqual(['2025-05-26', '2025-06-01']);
  });

  it('rejects --period with --from/--to, --from after --to, and impossible dates', () => {
    expect(() => resolvePeriod({ period: '2025', from: '2025-01-01' }, '2025-06-01', 'all')).toThrow(/cannot be combined/);
    expect(() => resolvePeriod({ from: '2025-03-02', to: '2025-03-01' }, '2025-06-01', 'all')).toThrow(/after/);
    expect(() => resolvePeriod({ from: '2021-02-30' }, '2025-06-01', 'all')).toThrow(UsageError);
  });
});
