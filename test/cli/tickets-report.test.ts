// `crm report tickets`: every figure checked against values worked out by hand from this file's
// own tickets (times in hours after the opening), never from the code under test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';

const H = 3_600_000;
const plus = (iso: string, hours: number) => new Date(Date.parse(iso) + hours * H).toISOString();
const NOW = '2025-06-03T12:00:00.000Z';

/** The inclusive (PERCENTILE.INC) percentile of a sorted list, spelled out for the expectations. */
function inc(sorted: number[], p: number): number {
  const rank = (sorted.length - 1) * p;
  const below = sorted[Math.floor(rank)]!;
  const above = sorted[Math.ceil(rank)]!;
  return below + (above - below) * (rank - Math.floor(rank));
}

describe('report tickets', () => {
  let box: Sandbox;
  const run = (when: string, args: string[]) => box.ok(args, { env: { CRM_NOW: when } });

  // June tickets, opened on Monday 2 June (UTC):
  //  #1 question normal 00:00 — comment +1h, resolved +6h (due +24h: in time), rated 5
  //  #2 problem  high   02:00 — resolved +10h (first response too; due +8h: breached), rated 4 then 2
  //  #3 complaint urgent 03:00 — pending +2h, resolved +3h (due +4h: in time), closed, rated 3
  //  #4 feedback low    04:00 — untouched, due +72h: not decided yet
  //  #5 question high   05:00 — comment +1h, still pending at NOW (due 13:00 on the 2nd): breached
  // And one May ticket, outside --period 2025-06:
  //  #6 question normal 20 May 10:00 — resolved +1h, rated 1
  const J = '2025-06-02T00:00:00.000Z';
  beforeAll(() => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com']);
    box.ok(['customer', 'add', '--name', 'Anna Schmidt', '--email', 'anna@example.com']);
    run(J, ['ticket', 'open', '--customer', '1', '--subject', 'one']);
    run(plus(J, 2), ['ticket', 'open', '--customer', '1', '--subject', 'two', '--kind', 'problem', '--priority', 'high']);
    run(plus(J, 3), ['ticket', 'open', '--customer', '2', '--subject', 'three', '--kind', 'complaint', '--priority', 'urgent']);
    run(plus(J, 4), ['ticket', 'open', '--customer', '2', '--subject', 'four', '--kind', 'feedback', '--priority', 'low']);
    run(plus(J, 5), ['ticket', 'open', '--customer', '2', '--subject', 'five', '--priority', 'high']);
    run('2025-05-20T10:00:00.000Z', ['ticket', 'open', '--customer', '1', '--subject', 'six', '--opened', '2025-05-20 10:00']);

    run(plus(J, 1), ['ticket', 'update', '1', '--comment', 'looking']);
    run(plus(J, 6), ['ticket', 'resolve', '1', '--solution', 'fixed']);
    run(plus(J, 12), ['ticket', 'resolve', '2', '--solution', 'fixed']);
    run(plus(J, 5), ['ticket', 'update', '3', '--status', 'pending', '--comment', 'asked']);
    run(plus(J, 6), ['ticket', 'resolve', '3', '--solution', 'fixed']);
    run(plus(J, 7), ['ticket', 'update', '3', '--status', 'closed']);
    run(plus(J, 6), ['ticket', 'update', '5', '--status', 'pending', '--comment', 'asked']);
    run('2025-05-20T11:00:00.000Z', ['ticket', 'resolve', '6', '--solution', 'fixed']);

    run(plus(J, 20), ['ticket', 'rate', '1', '--score', '5']);
    run(plus(J, 20), ['ticket', 'rate', '2', '--score', '4']);
    run(plus(J, 21), ['ticket', 'rate', '2', '--score', '2']);
    run(plus(J, 20), ['ticket', 'rate', '3', '--score', '3']);
    run('2025-05-21T10:00:00.000Z', ['ticket', 'rate', '6', '--score', '1']);
  });
  afterAll(() => box.cleanup());

  it('reports the June tickets', () => {
    const doc = JSON.parse(run(NOW, ['report', 'tickets', '--period', '2025-06', '--format', 'json']));
    const firstResponses = [1, 10, 2, 1].sort((a, b) => a - b); // #1, #2, #3, #5
    const resolutions = [6, 10, 3].sort((a, b) => a - b); // #1, #2, #3
    const scores = [5, 2, 3]; // current ratings of #1, #2, #3
    expect(inc(firstResponses, 0.5)).toBe(1.5);
    expect(inc(firstResponses, 0.9)).toBeCloseTo(7.6, 10);
    expect(doc.summary).toEqual({
      period: '2025-06',
      from: '2025-06-01',
      to: '2025-06-30',
      as_of: '2025-06-03T12:00:00Z',
      opened: 5,
      resolved: 3,
      backlog: 2, // #4 open, #5 pending
      overdue: 1, // #5
      first_response_median_hours: 1.5,
      first_response_p90_hours: 7.6,
      resolution_median_hours: 6,
      resolution_p90_hours: 9.2, // 6 + 0.8 × (10 − 6)
      sla_decided: 4, // #1 #2 #3 resolved, #5 past due
      sla_breached: 2, // #2 late, #5 overdue
      sla_breach_rate: 0.5,
      ratings: 3,
      csat: scores.filter((s) => s >= 4).length / scores.length,
      average_score: Math.round((10 / 3) * 100) / 100,
    });
    expect(doc.by_kind).toEqual([
      { kind: 'question', tickets: 2, share: 2 / 5 },
      { kind: 'problem', tickets: 1, share: 1 / 5 },
      { kind: 'complaint', tickets: 1, share: 1 / 5 },
      { kind: 'feedback', tickets: 1, share: 1 / 5 },
    ]);
    expect(doc.by_priority).toEqual([
      { priority: 'low', sla: '72h', tickets: 1, sla_decided: 0, sla_breached: 0, sla_breach_rate: null },
      { priority: 'normal', sla: '24h', tickets: 1, sla_decided: 1, sla_breached: 0, sla_breach_rate: 0 },
      { priority: 'high', sla: '8h', tickets: 2, sla_decided: 2, sla_breached: 2, sla_breach_rate: 1 },
      { priority: 'urgent', sla: '4h', tickets: 1, sla_decided: 1, sla_breached: 0, sla_breach_rate: 0 },
    ]);
  });

  it('without --period covers every ticket', () => {
    const doc = JSON.parse(run(NOW, ['report', 'tickets', '--format', 'json']));
    const scores = [5, 2, 3, 1];
    const firstResponses = [1, 1, 1, 2, 10];
    const resolutions = [1, 3, 6, 10];
    expect(doc.summary).toMatchObject({
      period: 'all',
      from: null,
      to: null,
      opened: 6,
      resolved: 4,
      first_response_median_hours: inc(firstResponses, 0.5),
      first_response_p90_hours: Math.round(inc(firstResponses, 0.9) * 100) / 100,
      resolution_median_hours: inc(resolutions, 0.5),
      resolution_p90_hours: Math.round(inc(resolutions, 0.9) * 100) / 100,
      sla_decided: 5,
      sla_breached: 2,
      sla_breach_rate: 2 / 5,
      ratings: 4,
      csat: 1 / 4,
      average_score: 11 / 4,
    });
  });

  it('a month without tickets has empty figures, not zeros that mean something', () => {
    const doc = JSON.parse(run(NOW, ['report', 'tickets', '--period', '2025-04', '--format', 'json']));
    expect(doc.summary).toMatchObject({ opened: 0, resolved: 0, backlog: 2, first_response_median_hours: null, sla_breach_rate: null, csat: null, average_score: null });
  });

  it('renders a readable table: percentages, hours and the CSAT beside the average', () => {
    const table = run(NOW, ['report', 'tickets', '--period', '2025-06']);
    expect(table).not.toMatch(/\x1b/);
    expect(table).toMatch(/^Tickets \(2025-06\)\n/);
    expect(table).toContain('As of                         2025-06-03 12:00\n');
    expect(table).toContain('SLA breach rate               50.0%\n');
    expect(table).toContain('CSAT (4-5 of 5)               33.3%\nAverage score                 3.33\n');
    expect(table).toContain('First response, 90th pct (h)  7.6\n');
    expect(table).toMatch(/│ high {5}│ 8h  │ +2 │ +2 │ +2 │ +100\.0% │/);
  });

  it('accepts the contract\'s period forms and rejects others with exit 2', () => {
    for (const period of ['today', 'this-week', 'this-month', 'last-month', 'this-quarter', 'ytd', 'last-30d', '2025', '2025-Q2']) {
      expect(box.run(['report', 'tickets', '--period', period, '--format', 'json'], { env: { CRM_NOW: NOW } }).code).toBe(0);
    }
    const ytd = JSON.parse(run(NOW, ['report', 'tickets', '--period', 'this-week', '--format', 'json']));
    // "this-…" periods run up to today (Tuesday 3 June), as in every report.
    expect(ytd.summary).toMatchObject({ from: '2025-06-02', to: '2025-06-03', opened: 5 });
    const bad = box.run(['report', 'tickets', '--period', 'fortnight'], { env: { CRM_NOW: NOW } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --period "fortnight" is not a period\nhint: use one of: today, yesterday, this-week/);
  });
});

describe('report tickets --as-of', () => {
  let box: Sandbox;
  const day = (d: number, hour: number) => `2025-06-${String(d).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00.000Z`;
  const run = (when: string, args: string[]) => box.ok(args, { env: { CRM_NOW: when } });
  const asOf = (date: string) => JSON.parse(run(day(20, 12), ['report', 'tickets', '--as-of', date, '--format', 'json'])).summary;

  // #1 normal, opened 10 June 10:00 (due 11 June 10:00): pending 11:00, resolved 12 June 10:00 (late),
  //    rated 5 on the 12th, re-rated 2 on the 13th, reopened on the 13th, resolved again 14 June 10:00.
  // #2 low, opened 11 June 09:00, untouched (due 14 June 09:00).
  beforeAll(() => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com']);
    run(day(10, 10), ['ticket', 'open', '--customer', '1', '--subject', 'one']);
    run(day(10, 11), ['ticket', 'update', '1', '--status', 'pending', '--comment', 'asked']);
    run(day(11, 9), ['ticket', 'open', '--customer', '1', '--subject', 'two', '--priority', 'low']);
    run(day(12, 10), ['ticket', 'resolve', '1', '--solution', 'fixed']);
    run(day(12, 12), ['ticket', 'rate', '1', '--score', '5']);
    run(day(13, 9), ['ticket', 'rate', '1', '--score', '2']);
    run(day(13, 10), ['ticket', 'update', '1', '--status', 'open', '--comment', 'broken again']);
    run(day(14, 10), ['ticket', 'resolve', '1', '--solution', 'fixed properly']);
  });
  afterAll(() => box.cleanup());

  it('rebuilds each day from the history', () => {
    expect(asOf('2025-06-10')).toMatchObject({
      as_of: '2025-06-11T00:00:00Z',
      opened: 1, resolved: 0, backlog: 1, overdue: 0,
      first_response_median_hours: 1, resolution_median_hours: null,
      sla_decided: 0, ratings: 0,
    });
    expect(asOf('2025-06-11')).toMatchObject({ opened: 2, resolved: 0, backlog: 2, overdue: 1, sla_decided: 1, sla_breached: 1 });
    expect(asOf('2025-06-12')).toMatchObject({
      opened: 2, resolved: 1, backlog: 1, overdue: 0,
      resolution_median_hours: 48, sla_decided: 1, sla_breached: 1,
      ratings: 1, csat: 1, average_score: 5,
    });
    // Reopened on the 13th; the re-rating (2) replaced the 5; #2 is not due until the 14th.
    expect(asOf('2025-06-13')).toMatchObject({ opened: 2, resolved: 0, backlog: 2, overdue: 1, resolution_median_hours: null, ratings: 1, csat: 0, average_score: 2 });
    // Today's figures: #1 resolved 96 h after opening, #2 overdue since the 14th.
    const today = JSON.parse(run(day(20, 12), ['report', 'tickets', '--format', 'json'])).summary;
    expect(today).toMatchObject({ as_of: '2025-06-20T12:00:00Z', opened: 2, resolved: 1, backlog: 1, overdue: 1, resolution_median_hours: 96, sla_decided: 2, sla_breached: 2 });
    // End of the 14th: #1 resolved again; #2 became overdue at 09:00.
    expect(asOf('2025-06-14')).toMatchObject({ resolved: 1, resolution_median_hours: 96, backlog: 1, overdue: 1 });
  });

  it('reads --period relative to the as-of day; today means now; a future day is refused', () => {
    const june = JSON.parse(run('2025-07-03T08:00:00.000Z', ['report', 'tickets', '--period', 'last-month', '--as-of', '2025-07-03', '--format', 'json'])).summary;
    expect(june).toMatchObject({ period: 'last-month', from: '2025-06-01', to: '2025-06-30', as_of: '2025-07-03T08:00:00Z', opened: 2 });
    const future = box.run(['report', 'tickets', '--as-of', '2025-07-04'], { env: { CRM_NOW: '2025-07-03T08:00:00.000Z' } });
    expect(future.code).toBe(2);
    expect(future.stderr).toBe('error: --as-of 2025-07-04 is in the future\nhint: give today or an earlier day\n');
    const week = JSON.parse(run(day(20, 12), ['report', 'tickets', '--period', 'this-week', '--as-of', '2025-06-11', '--format', 'json'])).summary;
    expect(week).toMatchObject({ from: '2025-06-09', to: '2025-06-11', as_of: '2025-06-12T00:00:00Z', opened: 2 });
    const bad = box.run(['report', 'tickets', '--as-of', '2025-02-30']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --as-of "2025-02-30" is not a real calendar day$/m);
  });
});
