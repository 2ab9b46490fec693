// The pure ticket rules: scores, ids, lifecycle transitions, overdue, CSAT and percentiles, periods.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/domain/errors.js';
import { parsePeriod } from '../../src/domain/ticket-periods.js';
import {
  csatOf,
  dueAt,
  formatDuration,
  isOverdue,
  parseScore,
  parseTicketId,
  percentile,
  transitionProblem,
} from '../../src/domain/tickets.js';

describe('parseScore', () => {
  it.each(['1', '2', '3', '4', '5', ' 4 '])('accepts %j', (s) => {
    expect(parseScore(s)).toBe(Number(s.trim()));
  });
  it.each(['0', '6', '3.5', 'abc', '', '-1', '05', '4e0', '+4'])('rejects %j as a usage error', (s) => {
    expect(() => parseScore(s)).toThrow(UsageError);
  });
});

describe('parseTicketId', () => {
  it('accepts 12 and #12', () => {
    expect(parseTicketId('12')).toBe(12);
    expect(parseTicketId('#12')).toBe(12);
  });
  it.each(['abc', '0', '-3', '1.5', ''])('rejects %j', (s) => {
    expect(() => parseTicketId(s)).toThrow(UsageError);
  });
});

describe('transitionProblem', () => {
  const allowed: Array<[string, string, boolean]> = [
    ['open', 'pending', false],
    ['pending', 'open', false],
    ['resolved', 'closed', false],
    ['resolved', 'open', true],
    ['resolved', 'pending', true],
    ['closed', 'open', true],
    ['closed', 'pending', true],
  ];
  it.each(allowed)('%s → %s (comment: %s) is allowed', (from, to, comment) => {
    expect(transitionProblem(from as never, to as never, comment)).toBeNull();
  });
  const refused: Array<[string, string, boolean, RegExp]> = [
    ['resolved', 'open', false, /needs a comment/],
    ['closed', 'pending', false, /needs a comment/],
    ['open', 'closed', true, /only a resolved ticket can be closed/],
    ['pending', 'closed', false, /only a resolved ticket can be closed/],
    ['open', 'resolved', true, /solution/],
    ['open', 'open', true, /already open/],
  ];
  it.each(refused)('%s → %s (comment: %s) is refused', (from, to, comment, message) => {
    expect(transitionProblem(from as never, to as never, comment)?.message).toMatch(message);
  });
});

describe('due and overdue', () => {
  const opened = new Date('2025-06-01T09:00:00Z');
  const due = dueAt(opened, 8 * 3_600_000);
  it('is opened plus the allowance', () => {
    expect(due.toISOString()).toBe('2025-06-01T17:00:00.000Z');
  });
  it('is overdue only after the due time, and only while open or pending', () => {
    const t = { status: 'open', due_at: due.toISOString() };
    expect(isOverdue(t, new Date('2025-06-01T16:59:59Z'))).toBe(false);
    expect(isOverdue(t, new Date('2025-06-01T17:00:00Z'))).toBe(false);
    expect(isOverdue(t, new Date('2025-06-01T17:00:01Z'))).toBe(true);
    expect(isOverdue({ ...t, status: 'pending' }, new Date('2025-06-01T17:00:01Z'))).toBe(true);
    expect(isOverdue({ ...t, status: 'resolved' }, new Date('2025-06-02T00:00:00Z'))).toBe(false);
    expect(isOverdue({ ...t, status: 'closed' }, new Date('2025-06-02T00:00:00Z'))).toBe(false);
  });
});

describe('CSAT and percentiles', () => {
  it('CSAT is the share of 4 and 5 among the scores, with the average', () => {
    // 4, 5, 5 satisfied out of 6 → 50 %; sum 1+2+4+5+5+3 = 20 → 20/6.
    const figures = csatOf([1, 2, 4, 5, 5, 3]);
    expect(figures).toEqual({ ratings: 6, satisfied: 3, csat: 0.5, averageScore: 20 / 6 });
    expect(csatOf([])).toEqual({ ratings: 0, satisfied: 0, csat: null, averageScore: null });
  });
  it('percentiles interpolate between closest ranks (PERCENTILE.INC)', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([7], 0.9)).toBe(7);
    expect(percentile([10, 1, 3], 0.5)).toBe(3);
    expect(percentile([4, 1, 2, 3], 0.5)).toBe(2.5);
    // sorted 1 1 2 10: rank (4-1)*0.9 = 2.7 → 2 + 0.7 × (10 - 2) = 7.6
    expect(percentile([10, 1, 2, 1], 0.9)).toBeCloseTo(7.6, 10);
    // 1..10: rank 8.1 → 9 + 0.1 × 1 = 9.1
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBeCloseTo(9.1, 10);
  });
  it('formats durations for messages', () => {
    expect(formatDuration(45 * 60_000)).toBe('45m');
    expect(formatDuration(7.5 * 3_600_000)).toBe('7h 30m');
    expect(formatDuration(3 * 86_400_000 + 4 * 3_600_000)).toBe('3d 4h');
    expect(formatDuration(2 * 86_400_000)).toBe('2d');
  });
});

describe('parsePeriod', () => {
  // Wednesday 4 June 2025, midday UTC: the same local day in any zone within ±11 h.
  const now = new Date('2025-06-04T12:00:00Z');
  const days = (p: string, at = now) => {
    const r = parsePeriod(p, at);
    return [r.firstDay, r.lastDay];
  };
  it.each([
    ['today', '2025-06-04', '2025-06-04'],
    ['this-week', '2025-06-02', '2025-06-04'],
    ['this-month', '2025-06-01', '2025-06-04'],
    ['last-month', '2025-05-01', '2025-05-31'],
    ['this-quarter', '2025-04-01', '2025-06-04'],
    ['yesterday', '2025-06-03', '2025-06-03'],
    ['last-week', '2025-05-26', '2025-06-01'],
    ['ytd', '2025-01-01', '2025-06-04'],
    ['last-30d', '2025-05-06', '2025-06-04'],
    ['2024', '2024-01-01', '2024-12-31'],
    ['2025-Q1', '2025-01-01', '2025-03-31'],
    ['2025-q4', '2025-10-01', '2025-12-31'],
    ['2024-02', '2024-02-01', '2024-02-29'],
    ['2025-12', '2025-12-01', '2025-12-31'],
  ])('%s is %s to %s', (p, first, last) => {
    expect(days(p)).toEqual([first, last]);
  });
  // "this-…" periods run up to today, as in every report.
  it('last-month in January is December of the year before; this-week on a Sunday starts the Monday before', () => {
    expect(days('last-month', new Date('2025-01-15T12:00:00Z'))).toEqual(['2024-12-01', '2024-12-31']);
    expect(days('this-week', new Date('2025-06-08T12:00:00Z'))).toEqual(['2025-06-02', '2025-06-08']);
  });
  it('is a half-open range of local instants', () => {
    const r = parsePeriod('2025-03', now);
    expect(r.from.getTime()).toBe(new Date(2025, 2, 1).getTime());
    expect(r.to.getTime()).toBe(new Date(2025, 3, 1).getTime());
    expect(r.label).toBe('2025-03');
  });
  it.each(['2025-13', '2025-Q5', '25', 'last-weak', ''])('rejects %j', (p) => {
    expect(() => parsePeriod(p, now)).toThrow(UsageError);
  });
});
