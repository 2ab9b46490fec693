// `customer list --not-contacted`, `task add --after-last-contact` and `crm agenda`, against
// expectations computed here from the test's own data. Tickets, deals and activities are written
// straight into the database (their commands belong to other issues).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';
import { activity, dayDiff, tasks, write } from '../helpers/tasks.js';

const NOW = '2025-06-04T09:00:00Z'; // Wednesday; the suite runs in UTC
const TODAY = '2025-06-04';

interface Person {
  id: number;
  name: string;
  created: string;
  activities: string[];
  vip: boolean;
}

const PEOPLE: Person[] = [
  { id: 1, name: 'Ana', created: '2025-01-01T08:00:00Z', activities: ['2025-03-01T10:00:00Z', '2025-05-05T10:00:00Z'], vip: true },
  { id: 2, name: 'Ben', created: '2025-01-01T08:00:00Z', activities: ['2025-05-04T23:59:00Z'], vip: true },
  { id: 3, name: 'Cai', created: '2025-01-01T08:00:00Z', activities: [], vip: true },
  { id: 4, name: 'Dee', created: '2025-06-01T08:00:00Z', activities: [], vip: true },
  { id: 5, name: 'Eve', created: '2025-01-01T08:00:00Z', activities: ['2025-01-10T10:00:00Z', '2025-06-03T10:00:00Z'], vip: false },
  { id: 6, name: 'Fay', created: '2025-01-01T08:00:00Z', activities: ['2025-02-01T10:00:00Z'], vip: false },
];

function seed(box: Sandbox): void {
  for (const p of PEOPLE) {
    box.ok(['customer', 'add', '--name', p.name, '--email', `${p.name.toLowerCase()}@example.com`, ...(p.vip ? ['--tag', 'vip'] : [])], { env: { CRM_NOW: p.created } });
  }
  write(box, PEOPLE.flatMap((p) => p.activities.map((at) => activity(box, p.id, at))));
}

/** Last contact day: the latest activity, else the day the customer was added. */
const lastContactDay = (p: Person) => ([...p.activities].sort().at(-1) ?? p.created).slice(0, 10);

function addDaysTo(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

describe('customer list --not-contacted', () => {
  let box: Sandbox;
  const list = (age: string, now = NOW) =>
    (JSON.parse(box.ok(['customer', 'list', '--not-contacted', age, '--format', 'json'], { env: { CRM_NOW: now } })) as Array<{ id: number; days_since: number; last_contact: string | null }>);

  // The seeded shop is only read; a test that writes works on its own copy. `followedUp` has the
  // vip follow-up tasks added.
  let followedUp: Sandbox;
  const copies: Sandbox[] = [];
  const copyOf = (from: Sandbox) => {
    const copy = from.clone();
    copies.push(copy);
    return copy;
  };
  const followUpVips = (on: Sandbox) => on.run(['task', 'add', '--tag', 'vip', '--after-last-contact', '30d', '--assignee', 'anna'], { env: { CRM_NOW: NOW } });

  beforeAll(() => {
    box = sandbox();
    seed(box);
    followedUp = box.clone();
    expect(followUpVips(followedUp).code).toBe(0);
  });
  afterAll(() => {
    for (const sandbox of [box, followedUp, ...copies]) sandbox?.cleanup();
  });

  it.each([30, 60, 1, 200])('lists customers last contacted more than %i days ago (never contacted: counted from when they were added)', (days) => {
    const expected = PEOPLE.filter((p) => dayDiff(lastContactDay(p), TODAY) > days).map((p) => p.id);
    const rows = list(`${days}d`);
    expect(rows.map((r) => r.id)).toEqual(expected);
    for (const row of rows) {
      const person = PEOPLE.find((p) => p.id === row.id)!;
      expect(row.days_since).toBe(dayDiff(lastContactDay(person), TODAY));
      expect(row.last_contact).toBe(person.activities.length ? [...person.activities].sort().at(-1)!.replace('.000', '') : null);
    }
  });

  it('30 days is the boundary: 30 days ago is not "more than 30 days"', () => {
    const ids = list('30d').map((r) => r.id);
    expect(ids).toContain(2); // 2025-05-04, 31 days before
    expect(ids).not.toContain(1); // 2025-05-05, 30 days before
    expect(ids).toContain(3); // never contacted, added in January
    expect(ids).not.toContain(4); // never contacted, but added 3 days ago
  });

  it('counts local calendar days: in Shanghai Ben\'s last call (23:59 UTC on 4 May) was on 5 May, 30 days ago', () => {
    const shanghai = (JSON.parse(box.ok(['customer', 'list', '--not-contacted', '30d', '--format', 'json'], { env: { CRM_NOW: NOW, TZ: 'Asia/Shanghai' } })) as Array<{ id: number; days_since: number }>);
    expect(shanghai.map((r) => r.id)).not.toContain(2);
    expect(list('30d').find((r) => r.id === 2)?.days_since).toBe(31);
  });

  it('takes weeks and months too (a month before 4 June is 4 May)', () => {
    const expected = PEOPLE.filter((p) => lastContactDay(p) < '2025-05-04').map((p) => p.id).sort();
    expect(list('1m').map((r) => r.id).sort()).toEqual(expected);
    expect(list('4w').map((r) => r.id).sort()).toEqual(PEOPLE.filter((p) => dayDiff(lastContactDay(p), TODAY) > 28).map((p) => p.id).sort());
  });

  it('rejects an age that is not an interval (exit 2)', () => {
    const result = box.run(['customer', 'list', '--not-contacted', 'a while']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: --not-contacted "a while" is not an interval$/m);
  });

  describe('task add --after-last-contact', () => {
    it('creates a task for each customer with the tag, due that long after their last contact', () => {
      const own = copyOf(box);
      const result = followUpVips(own);
      expect(result.code).toBe(0);
      const vips = PEOPLE.filter((p) => p.vip);
      const expected = vips.map((p) => [p.id, `${addDaysTo(lastContactDay(p), 30)}T00:00:00.000Z`]);
      expect(tasks(own).map((t) => [t.customer_id, t.due_at])).toEqual(expected);
      expect(tasks(own).every((t) => t.title === 'Follow up (30d after last contact)' && t.assignee === 'anna' && t.due_has_time === 0)).toBe(true);
      expect(result.stdout).toBe(tasks(own).map((t) => `${t.id}\n`).join(''));
      const late = vips.filter((p) => addDaysTo(lastContactDay(p), 30) < TODAY).length;
      expect(result.stderr).toContain(`added ${vips.length} tasks for customers tagged vip`);
      expect(result.stderr).toMatch(new RegExp(`^warning: ${late} of them are due in the past`, 'm'));
      const [entry] = own.query<{ action: string; n: number }>(
        "SELECT l.action, count(c.id) AS n FROM audit_log l JOIN audit_change c ON c.log_id = l.id WHERE l.action = 'task.add' GROUP BY l.id",
      );
      expect(entry).toEqual({ action: 'task.add', n: vips.length });
    });

    it('running it again adds nothing for customers who already have that open task', () => {
      const box = followedUp;
      const before = tasks(box).length;
      const dump = box.dump();
      const again = box.run(['task', 'add', '--tag', 'VIP', '--after-last-contact', '30d'], { env: { CRM_NOW: NOW } });
      expect(again.code).toBe(0);
      expect(again.stdout).toBe('');
      expect(again.stderr).toContain('added 0 tasks for customers tagged VIP (skipped 4 already having an open');
      expect(tasks(box)).toHaveLength(before);
      expect(box.dump()).toBe(dump);
    });

    it('works for one customer, and with a fixed --due for a whole tag', () => {
      const own = copyOf(box);
      const fay = PEOPLE.find((p) => p.name === 'Fay')!;
      const out = own.ok(['task', 'add', 'Fay', '--after-last-contact', '2w', '--title', 'Win back'], { env: { CRM_NOW: NOW } });
      expect(tasks(own).find((t) => t.id === Number(out))).toMatchObject({ customer_id: fay.id, due_at: `${addDaysTo(lastContactDay(fay), 14)}T00:00:00.000Z` });
      const ids = own.ok(['task', 'add', '--tag', 'vip', '--title', 'Christmas card', '--due', '2025-12-15'], { env: { CRM_NOW: NOW } }).trim().split('\n');
      expect(ids).toHaveLength(PEOPLE.filter((p) => p.vip).length);
    });

    it.each([
      ['an unknown tag', ['task', 'add', '--tag', 'nope', '--after-last-contact', '30d'], 1, /^error: no tag named "nope"$/m],
      ['a customer and --tag', ['task', 'add', '1', '--tag', 'vip', '--after-last-contact', '30d'], 2, /^error: give either a customer or --tag/m],
      ['a bad interval', ['task', 'add', '--tag', 'vip', '--after-last-contact', 'soon'], 2, /^error: --after-last-contact "soon" is not an interval$/m],
      ['--deal with --tag', ['task', 'add', '--tag', 'vip', '--after-last-contact', '30d', '--deal', '1'], 2, /^error: --deal and --ticket need a single customer/m],
      ['a tag with neither --due nor --after-last-contact', ['task', 'add', '--tag', 'vip', '--title', 'x'], 2, /^error: missing required option --due$/m],
    ])('rejects %s and changes nothing', (_name, args, code, message) => {
      const before = box.dump();
      const result = box.run(args, { env: { CRM_NOW: NOW } });
      expect(result.code).toBe(code);
      expect(result.stderr).toMatch(message);
      expect(box.dump()).toBe(before);
    });
  });
});

describe('crm agenda', () => {
  let box: Sandbox;
  const agenda = (args: string[] = [], env: Record<string, string> = {}, on = box) => JSON.parse(on.ok(['agenda', '--format', 'json', ...args], { env: { CRM_NOW: NOW, ...env } }));
  const ids = (rows: Array<{ id: number }>) => rows.map((r) => r.id);
  const titles = (rows: Array<{ title: string }>) => rows.map((r) => r.title);
  const quietAsOf = (day: string, days: number) =>
    PEOPLE.filter((p) => p.activities.length && dayDiff(lastContactDay(p), day) > days)
      .sort((a, b) => lastContactDay(b).localeCompare(lastContactDay(a)))
      .map((p) => p.id);

  beforeAll(() => {
    box = sandbox();
    seed(box);
    const add = (customer: number, title: string, due: string, ...extra: string[]) =>
      box.ok(['task', 'add', String(customer), '--title', title, '--due', due, ...extra], { env: { CRM_NOW: '2025-06-01T00:00:00Z' } });
    add(1, 'overdue call', '2025-06-03', '--assignee', 'anna');
    add(2, 'today all day', '2025-06-04');
    add(3, 'today 17:00', '2025-06-04 17:00', '--assignee', 'anna', '--priority', 'urgent');
    add(4, 'tomorrow', '2025-06-05');
    const done = add(5, 'done yesterday', '2025-06-03');
    box.ok(['task', 'done', done.trim()], { env: { CRM_NOW: NOW } });
    add(6, 'early today', '2025-06-04 07:00');
    const ticket = (id: number, customer: number, subject: string, priority: string, status: string, due: string | null, assignee: string | null = null): [string, ...unknown[]] => [
      'INSERT INTO tickets (id, customer_id, subject, priority, kind, status, assignee, opened_at, due_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      id, customer, subject, priority, 'problem', status, assignee, '2025-05-01T00:00:00Z', due, '2025-05-01T00:00:00Z',
    ];
    const deal = (id: number, customer: number, title: string, stage: string, close: string | null, cents: number): [string, ...unknown[]] => [
      'INSERT INTO deals (id, customer_id, title, value_cents, stage, probability, close_date, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      id, customer, title, cents, stage, 50, close, '2025-05-01T00:00:00Z', '2025-05-01T00:00:00Z',
    ];
    write(box, [
      ticket(1, 1, 'Broken', 'normal', 'open', '2025-06-04T08:00:00Z', 'anna'),
      ticket(2, 2, 'Outage', 'urgent', 'open', '2025-06-05T12:00:00Z'),
      ticket(3, 3, 'Question', 'high', 'pending', '2025-06-05T00:00:00Z'),
      ticket(4, 1, 'Old', 'urgent', 'resolved', '2025-06-01T00:00:00Z'),
      ticket(5, 2, 'No SLA', 'low', 'open', null),
      ticket(6, 3, 'Waiting', 'normal', 'pending', '2025-06-02T00:00:00Z', 'bo'),
      deal(1, 1, 'Monday deal', 'proposal', '2025-06-02', 100_000),
      deal(2, 2, 'Sunday deal', 'negotiation', '2025-06-08', 250_050),
      deal(3, 3, 'Next Monday', 'lead', '2025-06-09', 1_000),
      deal(4, 4, 'Won already', 'won', '2025-06-05', 1_000),
      deal(5, 5, 'Last Sunday', 'qualified', '2025-06-01', 1_000),
      deal(6, 6, 'Undated', 'lead', null, 1_000),
    ]);
  });
  afterAll(() => box.cleanup());

  it('shows the day: overdue and due tasks, overdue or urgent tickets, deals closing this week, customers going quiet', () => {
    const doc = agenda();
    expect(Object.keys(doc)).toEqual(['agenda', 'overdue_tasks', 'tasks_due', 'tickets', 'deals_closing', 'going_quiet', 'at_risk']);
    expect(titles(doc.overdue_tasks)).toEqual(['overdue call']);
    expect(doc.overdue_tasks[0]).toMatchObject({ due_date: '2025-06-03', days_late: 1, assignee: 'anna' });
    expect(titles(doc.tasks_due)).toEqual(['early today', 'today 17:00', 'today all day']);
    expect(ids(doc.tickets)).toEqual([6, 1, 2]);
    expect(doc.tickets.map((t: { overdue: boolean }) => t.overdue)).toEqual([true, true, false]);
    expect(doc.tickets[2]).toMatchObject({ subject: 'Outage', priority: 'urgent', due_at: '2025-06-05T12:00:00Z' });
    expect(ids(doc.deals_closing)).toEqual([1, 2]);
    expect(doc.deals_closing[1]).toMatchObject({ title: 'Sunday deal', stage: 'negotiation', value: '2500.50', value_cents: 250_050, close_date: '2025-06-08' });
    expect(ids(doc.going_quiet)).toEqual(quietAsOf(TODAY, 30));
    expect(doc.agenda).toEqual({
      day: TODAY,
      weekday: 'Wednesday',
      week: '2025-W23 (2025-06-02 to 2025-06-08)',
      assignee: 'everyone',
      overdue_tasks: 1,
      tasks_due: 3,
      tickets: 3,
      deals_closing: 2,
      going_quiet: quietAsOf(TODAY, 30).length,
      // No churn-risk scores were saved in this shop.
      at_risk: 0,
    });
  });

  it('--assignee keeps only that person\'s tasks and tickets', () => {
    const doc = agenda(['--assignee', 'anna']);
    expect(titles(doc.overdue_tasks)).toEqual(['overdue call']);
    expect(titles(doc.tasks_due)).toEqual(['today 17:00']);
    expect(ids(doc.tickets)).toEqual([1]);
    expect(ids(doc.deals_closing)).toEqual([1, 2]);
    expect(doc.agenda.assignee).toBe('anna');
  });

  it('--for another day: what is due then, and everything still open before it is overdue', () => {
    const doc = agenda(['--for', '2025-06-05']);
    expect(titles(doc.overdue_tasks)).toEqual(['overdue call', 'early today', 'today 17:00', 'today all day']);
    expect(titles(doc.tasks_due)).toEqual(['tomorrow']);
    expect(ids(doc.tickets)).toEqual([6, 1, 3, 2]);
    expect(ids(doc.going_quiet)).toEqual(quietAsOf('2025-06-05', 30));
    expect(ids(agenda(['--for', '2025-06-09']).deals_closing)).toEqual([3]);
    expect(ids(agenda(['--for', '2025-06-01']).deals_closing)).toEqual([5]);
  });

  it('follows config quiet_days', () => {
    const own = box.clone();
    try {
      own.ok(['config', 'set', 'quiet_days', '100']);
      expect(ids(agenda([], {}, own).going_quiet)).toEqual(quietAsOf(TODAY, 100));
    } finally {
      own.cleanup();
    }
  });

  it('uses the local day of the reader (Asia/Shanghai is already on the 5th)', () => {
    const doc = agenda([], { TZ: 'Asia/Shanghai', CRM_NOW: '2025-06-04T16:30:00Z' });
    expect(doc.agenda.day).toBe('2025-06-05');
    // "today 17:00" was entered in UTC: 17:00Z is 01:00 on the 5th in Shanghai.
    expect(titles(doc.tasks_due)).toEqual(['today 17:00', 'tomorrow']);
  });

  it('writes Markdown to a file for cron, atomically, with nothing on stdout', () => {
    const result = box.run(['agenda', '--format', 'md', '--output', 'today.md'], { env: { CRM_NOW: NOW } });
    expect(result).toMatchObject({ code: 0, stdout: '' });
    const text = readFileSync(join(box.dir, 'today.md'), 'utf8');
    expect(text.startsWith('## Agenda for Wednesday 2025-06-04\n')).toBe(true);
    for (const heading of ['## Overdue tasks (due before 2025-06-04)', '## Due today', '## Tickets overdue or urgent', '## Deals closing in 2025-W23', '## Going quiet']) {
      expect(text).toContain(`\n${heading}`);
    }
    expect(text).toContain('| overdue call |');
    expect(text).toContain('| Sunday deal | negotiation | 2,500.50 |');
    expect(existsSync(join(box.dir, 'today.md'))).toBe(true);
  });

  it('is a plain-text body without a TTY (no ANSI codes), e.g. for `| mail`', () => {
    const text = box.ok(['agenda'], { env: { CRM_NOW: NOW } });
    expect(text).not.toContain('\x1b');
    expect(text.split('\n')[0]).toBe('Agenda for Wednesday 2025-06-04');
    expect(text).toContain('Due today');
    expect(text).toContain('today 17:00');
  });

  it('rejects a bad --for (exit 2)', () => {
    const result = box.run(['agenda', '--for', 'someday']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: --for "someday" is not a date$/m);
  });
});
