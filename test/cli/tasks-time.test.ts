// Due windows at their edges (local midnight, ISO week boundaries), UTC storage with local display
// under several time zones, and recurrence (weekly, monthly with month-end clamping, across DST).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';
import { tasks } from '../helpers/tasks.js';

const SHANGHAI = 'Asia/Shanghai'; // UTC+8, no DST
const NEW_YORK = 'America/New_York'; // UTC-4 in summer, UTC-5 in winter

interface ListedTask {
  id: number;
  title: string;
  due_date: string;
  due_at: string | null;
  overdue: boolean;
}

describe('time zones: stored in UTC, shown in local time', () => {
  let box: Sandbox;
  // 2025-06-05 00:30 in Shanghai; still 2025-06-04 12:30 in New York.
  const env = (TZ: string, CRM_NOW = '2025-06-04T16:30:00Z') => ({ TZ, CRM_NOW });

  // Three tasks typed in Shanghai, read by both tests.
  beforeAll(() => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', 'Wang Fang'], { env: env(SHANGHAI) });
    box.ok(['task', 'add', '1', '--title', 'all day', '--due', 'today'], { env: env(SHANGHAI) });
    box.ok(['task', 'add', '1', '--title', 'at nine', '--due', '2025-06-05 09:00'], { env: env(SHANGHAI) });
    box.ok(['task', 'add', '1', '--title', 'iso', '--due', '2025-06-05T09:00:00+02:00'], { env: env(SHANGHAI) });
  });
  afterAll(() => box.cleanup());

  it('reads "today" and local times in the zone of the person typing', () => {
    expect(tasks(box).map((t) => [t.title, t.due_at, t.due_has_time])).toEqual([
      ['all day', '2025-06-05T00:00:00.000Z', 0],
      ['at nine', '2025-06-05T01:00:00.000Z', 1],
      ['iso', '2025-06-05T07:00:00.000Z', 1],
    ]);
  });

  it('shows timed tasks in local time; a date-only task keeps its calendar day everywhere', () => {
    const shanghai = box.ok(['task', 'list'], { env: env(SHANGHAI) });
    expect(shanghai).toContain('2025-06-05 09:00');
    expect(shanghai).toContain('2025-06-05 15:00');
    const newYork = box.ok(['task', 'list'], { env: env(NEW_YORK) });
    expect(newYork).toContain('2025-06-04 21:00');
    expect(newYork).toContain('2025-06-05 03:00');
    expect(newYork).not.toContain('2025-06-05 09:00');
    const json = JSON.parse(box.ok(['task', 'list', '--format', 'json'], { env: env(NEW_YORK) })) as ListedTask[];
    expect(json.map((t) => [t.title, t.due_date, t.due_at])).toEqual([
      ['at nine', '2025-06-04', '2025-06-05T01:00:00Z'],
      ['iso', '2025-06-05', '2025-06-05T07:00:00Z'],
      ['all day', '2025-06-05', null],
    ]);
  });

  it('puts each task in the local day of the reader', () => {
    const titles = (TZ: string, due: string) =>
      (JSON.parse(box.ok(['task', 'list', '--due', due, '--format', 'json'], { env: env(TZ) })) as ListedTask[]).map((t) => t.title);
    expect(titles(SHANGHAI, 'today')).toEqual(['at nine', 'iso', 'all day']);
    expect(titles(NEW_YORK, 'today')).toEqual(['at nine']);
    expect(titles(NEW_YORK, 'tomorrow')).toEqual(['iso', 'all day']);
  });
});

describe('due windows at local midnight (Asia/Shanghai)', () => {
  let box: Sandbox;
  const at = (CRM_NOW: string) => ({ TZ: SHANGHAI, CRM_NOW });
  const listed = (CRM_NOW: string, due: string) =>
    (JSON.parse(box.ok(['task', 'list', '--due', due, '--format', 'json'], { env: at(CRM_NOW) })) as ListedTask[]).map((t) => t.title);

  beforeAll(() => {
    box = sandbox();
    const env = at('2025-06-01T00:00:00Z');
    box.ok(['customer', 'add', '--name', 'Zhou Min'], { env });
    box.ok(['task', 'add', '1', '--title', 'day 4', '--due', '2025-06-04'], { env });
    box.ok(['task', 'add', '1', '--title', 'midnight 5', '--due', '2025-06-05 00:00'], { env });
    box.ok(['task', 'add', '1', '--title', 'last minute 4', '--due', '2025-06-04 23:59'], { env });
  });
  afterAll(() => box.cleanup());

  it('a date-only task is due all day and overdue from the next local midnight', () => {
    // 2025-06-04T15:59:59Z is 23:59:59 on the 4th in Shanghai; a second later it is the 5th.
    expect(listed('2025-06-04T15:59:59Z', 'today')).toEqual(['last minute 4', 'day 4']);
    expect(listed('2025-06-04T15:59:59Z', 'overdue')).toEqual(['last minute 4']);
    expect(listed('2025-06-04T16:00:00Z', 'overdue')).toEqual(['last minute 4', 'day 4']);
    expect(listed('2025-06-04T16:00:00Z', 'today')).toEqual(['midnight 5']);
  });

  it('a timed task is overdue the moment its time has passed', () => {
    expect(listed('2025-06-04T15:58:59Z', 'overdue')).toEqual([]);
    expect(listed('2025-06-04T15:59:01Z', 'overdue')).toEqual(['last minute 4']);
  });

  it('local midnight belongs to the day it starts', () => {
    expect(listed('2025-06-01T00:00:00Z', '2025-06-05')).toEqual(['midnight 5']);
    expect(listed('2025-06-01T00:00:00Z', '2025-06-04')).toEqual(['last minute 4', 'day 4']);
    // In New York the same midnight-in-Shanghai instant is noon on the 4th.
    const ny = JSON.parse(box.ok(['task', 'list', '--due', '2025-06-04', '--format', 'json'], { env: { TZ: NEW_YORK, CRM_NOW: '2025-06-01T00:00:00Z' } })) as ListedTask[];
    expect(ny.map((t) => t.title)).toEqual(['last minute 4', 'midnight 5', 'day 4']);
  });
});

describe('this-week is the ISO week, Monday to Sunday, in local time', () => {
  let box: Sandbox;
  // Wednesday 2025-06-04 in Shanghai.
  const env = { TZ: SHANGHAI, CRM_NOW: '2025-06-04T02:00:00Z' };
  const add = (title: string, due: string) => box.ok(['task', 'add', '1', '--title', title, '--due', due], { env });

  beforeAll(() => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', 'Chen Jie'], { env });
    add('out: Sunday before', '2025-06-01');
    add('out: Sunday 23:59 before', '2025-06-01 23:59');
    add('in: Monday', '2025-06-02');
    add('in: Monday 00:00', '2025-06-02 00:00');
    add('in: Sunday', '2025-06-08');
    add('in: Sunday 23:59', '2025-06-08 23:59');
    add('out: Monday after', '2025-06-09');
    add('out: Monday 00:00 after', '2025-06-09 00:00');
  });
  afterAll(() => box.cleanup());

  it('lists exactly the tasks due from Monday 00:00 to Sunday 23:59 local', () => {
    const listed = (JSON.parse(box.ok(['task', 'list', '--due', 'this-week', '--format', 'json'], { env })) as ListedTask[]).map((t) => t.title);
    const expected = tasks(box).filter((t) => t.title.startsWith('in:')).map((t) => t.title);
    expect(listed.sort()).toEqual(expected.sort());
  });

  it('on Sunday evening the week is still the same; on Monday it moves on', () => {
    const listed = (CRM_NOW: string) =>
      (JSON.parse(box.ok(['task', 'list', '--due', 'this-week', '--format', 'json'], { env: { TZ: SHANGHAI, CRM_NOW } })) as ListedTask[]).map((t) => t.title);
    expect(listed('2025-06-08T15:59:00Z').sort()).toEqual(['in: Monday', 'in: Monday 00:00', 'in: Sunday', 'in: Sunday 23:59']);
    expect(listed('2025-06-08T16:00:00Z').sort()).toEqual(['out: Monday 00:00 after', 'out: Monday after']);
  });
});

describe('recurrence', () => {
  // Each test adds and finishes its own tasks on a fresh copy of a database with one customer.
  let base: Sandbox;
  let box: Sandbox;
  const run = (args: string[], CRM_NOW: string, TZ = 'UTC') => box.run(args, { env: { CRM_NOW, TZ } });

  beforeAll(() => {
    base = sandbox();
    base.ok(['customer', 'add', '--name', 'Liu Yang'], { env: { CRM_NOW: '2024-01-01T00:00:00Z' } });
  });
  beforeEach(() => {
    box = base.clone();
  });
  afterEach(() => box?.cleanup());
  afterAll(() => base?.cleanup());

  const latest = () => tasks(box).at(-1)!;

  it('a weekly task comes back one week after its due date, once', () => {
    run(['task', 'add', '1', '--title', 'Weekly call', '--due', '2025-06-03', '--every', '1w', '--assignee', 'anna', '--priority', 'high'], '2025-06-01T00:00:00Z');
    const first = latest();
    const done = run(['task', 'done', String(first.id)], '2025-06-04T09:00:00Z');
    expect(done.code).toBe(0);
    expect(done.stderr).toContain('next: task #2 "Weekly call" for Liu Yang, due 2025-06-10');
    expect(latest()).toMatchObject({ id: 2, title: 'Weekly call', due_at: '2025-06-10T00:00:00.000Z', due_has_time: 0, every: '1w', assignee: 'anna', priority: 'high', status: 'open', recurred_from: 1 });
    const again = run(['task', 'done', String(first.id)], '2025-06-04T09:05:00Z');
    expect(again.code).toBe(1);
    expect(tasks(box).filter((t) => t.recurred_from === first.id)).toHaveLength(1);
  });

  it('a task finished late comes back at the next occurrence that is not already overdue', () => {
    // Due 2025-06-10, done on 2025-06-25: the 17th and 24th have passed, so the 1st of July.
    const id = Number(run(['task', 'add', '1', '--title', 'Weekly call', '--due', '2025-06-10', '--every', '1w'], '2025-06-01T00:00:00Z').stdout);
    run(['task', 'done', String(id)], '2025-06-25T09:00:00Z');
    expect(latest()).toMatchObject({ recurred_from: id, due_at: '2025-07-01T00:00:00.000Z' });
  });

  it('monthly tasks clamp to the month end and return to the 31st', () => {
    const add = run(['task', 'add', '1', '--title', 'Invoice', '--due', '2025-01-31', '--every', '1m'], '2025-01-20T00:00:00Z');
    let id = Number(add.stdout);
    const dues: string[] = [];
    for (const now of ['2025-01-31T10:00:00Z', '2025-02-28T10:00:00Z', '2025-03-31T10:00:00Z']) {
      expect(run(['task', 'done', String(id)], now).code).toBe(0);
      const next = latest();
      expect(next.recurred_from).toBe(id);
      dues.push(next.due_at.slice(0, 10));
      id = next.id;
    }
    expect(dues).toEqual(['2025-02-28', '2025-03-31', '2025-04-30']);
  });

  it('a leap year gives February 29; quarterly (3m) clamps too', () => {
    const leap = Number(run(['task', 'add', '1', '--title', 'Leap', '--due', '2024-01-31', '--every', '1m'], '2024-01-01T00:00:00Z').stdout);
    run(['task', 'done', String(leap)], '2024-01-31T12:00:00Z');
    expect(latest().due_at).toBe('2024-02-29T00:00:00.000Z');
    const quarterly = Number(run(['task', 'add', '1', '--title', 'Quarterly', '--due', '2025-11-30', '--every', '3m'], '2025-11-01T00:00:00Z').stdout);
    run(['task', 'done', String(quarterly)], '2025-11-30T12:00:00Z');
    expect(latest().due_at).toBe('2026-02-28T00:00:00.000Z');
  });

  it('a timed weekly task keeps its local time across a DST change (America/New_York)', () => {
    // Thursday 30 October 2025 09:00 EDT = 13:00Z; a week later clocks have gone back: 09:00 EST = 14:00Z.
    const id = Number(run(['task', 'add', '1', '--title', 'Standup', '--due', '2025-10-30 09:00', '--every', '1w'], '2025-10-29T12:00:00Z', NEW_YORK).stdout);
    expect(latest().due_at).toBe('2025-10-30T13:00:00.000Z');
    run(['task', 'done', String(id)], '2025-10-30T14:00:00Z', NEW_YORK);
    expect(latest()).toMatchObject({ recurred_from: id, due_at: '2025-11-06T14:00:00.000Z', due_has_time: 1 });
    const shown = box.ok(['task', 'list', '--customer', '1', '--due', '2025-11-06'], { env: { CRM_NOW: '2025-10-30T14:00:00Z', TZ: NEW_YORK } });
    expect(shown).toContain('2025-11-06 09:00');
  });

  it('a task without --every (or with it removed) does not come back', () => {
    const id = Number(run(['task', 'add', '1', '--title', 'Once', '--due', '2025-06-03', '--every', '1w'], '2025-06-01T00:00:00Z').stdout);
    box.ok(['task', 'edit', String(id), '--every', 'none'], { env: { CRM_NOW: '2025-06-01T00:00:00Z' } });
    const count = tasks(box).length;
    expect(run(['task', 'done', String(id)], '2025-06-03T00:00:00Z').code).toBe(0);
    expect(tasks(box)).toHaveLength(count);
  });
});
