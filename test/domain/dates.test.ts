import { describe, expect, it } from 'vitest';
import { addDays, daysBetween, isoSeconds, parseDate, parseDateTime, parseDuration } from '../../src/domain/dates.js';
import { UsageError } from '../../src/domain/errors.js';

// The test process runs with the machine's TZ; these use a fixed instant and check calendar days.
const now = new Date(2025, 2, 1, 12, 0, 0); // 1 March 2025, local noon

describe('parseDate', () => {
  it.each([
    ['2025-03-01', '2025-03-01'],
    ['2025/3/9', '2025-03-09'],
    ['today', '2025-03-01'],
    ['yesterday', '2025-02-28'],
    ['-7d', '2025-02-22'],
    ['7d-ago', '2025-02-22'],
    ['2024-02-29', '2024-02-29'],
    ['13/02/2021', '2021-02-13'],
    ['02/13/2021', '2021-02-13'],
  ])('reads %s as %s', (input, day) => {
    expect(parseDate(input, { now })).toBe(day);
  });

  it('rejects an ambiguous day/month unless told the format', () => {
    expect(() => parseDate('01/02/2021', { now })).toThrow(/ambiguous/);
    expect(parseDate('01/02/2021', { now, dateFormat: 'dmy' })).toBe('2021-02-01');
    expect(parseDate('01/02/2021', { now, dateFormat: 'mdy' })).toBe('2021-01-02');
  });

  it.each(['2021-02-30', '2023-02-29', '2025-13-01', '2025-00-10', 'soon', '', '20250301'])('rejects %j', (input) => {
    expect(() => parseDate(input, { now })).toThrow(UsageError);
  });
});

describe('parseDateTime', () => {
  it('reads a local date and time', () => {
    const t = parseDateTime('2025-03-05 14:30', { now });
    expect([t.getFullYear(), t.getMonth(), t.getDate(), t.getHours(), t.getMinutes()]).toEqual([2025, 2, 5, 14, 30]);
  });

  it('reads a zoned ISO timestamp exactly', () => {
    expect(parseDateTime('2025-03-05T14:30:00Z', { now }).toISOString()).toBe('2025-03-05T14:30:00.000Z');
  });

  it('rejects impossible times', () => {
    expect(() => parseDateTime('2025-03-05 25:00', { now })).toThrow(UsageError);
  });
});

describe('calendar arithmetic', () => {
  it('crosses month, year and leap-day boundaries', () => {
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2024-02-29', 1)).toBe('2024-03-01');
    expect(addDays('2024-12-31', 1)).toBe('2025-01-01');
    expect(addDays('2025-03-01', -1)).toBe('2025-02-28');
    expect(daysBetween('2024-01-01', '2025-01-01')).toBe(366);
  });

  it('writes timestamps without milliseconds', () => {
    expect(isoSeconds('2025-03-05T14:30:00.123Z')).toBe('2025-03-05T14:30:00Z');
  });
});

describe('parseDuration', () => {
  it.each([
    ['4h', 4 * 3_600_000],
    ['30m', 30 * 60_000],
    ['2d', 2 * 86_400_000],
    ['1w', 7 * 86_400_000],
    ['1.5h', 90 * 60_000],
  ])('reads %s', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(['6x', '', 'h', '-4h', '0h'])('rejects %j', (input) => {
    expect(() => parseDuration(input)).toThrow(UsageError);
  });
});
