// `crm task add/list/done/edit/rm` through the built binary: what is stored, what is printed,
// what is audited, and every bad input leaving the database unchanged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCrm, sandbox, type Sandbox } from '../helpers/cli.js';
import { tasks, write } from '../helpers/tasks.js';

// Wednesday 4 June 2025, 09:00 UTC (the suite's TZ is UTC unless a test says otherwise).
const NOW = { CRM_NOW: '2025-06-04T09:00:00Z' };

describe('task add, list, done, edit and rm', () => {
  // Databases built once and only read by the tests; a test that writes works on its own copy.
  let base: Sandbox; // two customers, a deal each
  let box: Sandbox; // + three open tasks: #1 Li Wei tomorrow (deal 1), #2 Anna today 15:30, #3 Li Wei overdue
  let done: Sandbox; // + task #2 done
  const copies: Sandbox[] = [];
  const copyOf = (from: Sandbox) => {
    const copy = from.clone();
    copies.push(copy);
    return copy;
  };
  const ok = (args: string[], env: Record<string, string> = NOW, on = box) => on.ok(args, { env });
  const run = (args: string[], env: Record<string, string> = NOW, on = box) => on.run(args, { env });

  beforeAll(() => {
    base = sandbox();
    ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com'], NOW, base);
    ok(['customer', 'add', '--name', 'Anna Schmidt', '--email', 'anna@example.com'], NOW, base);
    write(base, [
      ['INSERT INTO deals (id, customer_id, title, value_cents, stage, created_at, updated_at) VALUES (1, 1, ?, 100000, ?, ?, ?)', 'Big order', 'proposal', NOW.CRM_NOW, NOW.CRM_NOW],
      ['INSERT INTO deals (id, customer_id, title, value_cents, stage, created_at, updated_at) VALUES (2, 2, ?, 5000, ?, ?, ?)', 'Small', 'lead', NOW.CRM_NOW, NOW.CRM_NOW],
    ]);
    box = base.clone();
    ok(['task', 'add', 'li@example.com', '--title', 'Send the quote', '--due', 'tomorrow', '--deal', '1']);
    ok(['task', 'add', 'Anna Schmidt', '--title', 'Call back', '--due', '2025-06-04 15:30', '--priority', 'HIGH', '--assignee', 'anna']);
    ok(['task', 'add', '1', '--title', 'Overdue already', '--due', '2025-06-01']);
    done = box.clone();
    ok(['task', 'done', '2', '--note', 'She will order in July'], { CRM_NOW: '2025-06-04T10:15:00Z' }, done);
  });
  afterAll(() => {
    for (const sandbox of [base, box, done, ...copies]) sandbox?.cleanup();
  });

  it('adds a date-only task, prints its id and records an audit entry', () => {
    const box = copyOf(base);
    const result = run(['task', 'add', 'li@example.com', '--title', 'Send the quote', '--due', 'tomorrow', '--deal', '1'], NOW, box);
    expect(result).toMatchObject({ code: 0, stdout: '1\n' });
    expect(result.stderr).toBe('added task #1 "Send the quote" for Li Wei, due 2025-06-05\n');
    expect(tasks(box)[0]).toMatchObject({
      id: 1,
      customer_id: 1,
      title: 'Send the quote',
      due_at: '2025-06-05T00:00:00.000Z',
      due_has_time: 0,
      priority: 'normal',
      status: 'open',
      every: null,
    });
    const [entry] = box.query<{ action: string; entity: string; entity_id: number; customer_id: number }>(
      "SELECT action, entity, entity_id, customer_id FROM audit_log WHERE action = 'task.add'",
    );
    expect(entry).toEqual({ action: 'task.add', entity: 'task', entity_id: 1, customer_id: 1 });
    const changes = box.query<{ table_name: string; row_id: number; op: string }>(
      "SELECT table_name, row_id, op FROM audit_change WHERE log_id = (SELECT id FROM audit_log WHERE action = 'task.add')",
    );
    expect(changes).toEqual([{ table_name: 'tasks', row_id: 1, op: 'insert' }]);
  });

  it('adds a timed task with assignee and priority, stored in UTC', () => {
    const box = copyOf(base);
    const out = ok(['task', 'add', 'Anna Schmidt', '--title', 'Call back', '--due', '2025-06-04 15:30', '--priority', 'HIGH', '--assignee', 'anna'], NOW, box);
    expect(out).toBe('1\n');
    expect(tasks(box)[0]).toMatchObject({ due_at: '2025-06-04T15:30:00.000Z', due_has_time: 1, priority: 'high', assignee: 'anna' });
  });

  it('allows a due date in the past, with a warning on stderr', () => {
    const box = copyOf(base);
    const result = run(['task', 'add', '1', '--title', 'Overdue already', '--due', '2025-06-01'], NOW, box);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('1\n');
    expect(result.stderr).toMatch(/^warning: the due date 2025-06-01 is in the past/m);
    expect(tasks(box)).toHaveLength(1);
    // A timed task earlier today is in the past too.
    const timed = run(['task', 'add', '1', '--title', 'Earlier today', '--due', 'today 08:00'], NOW, box);
    expect(timed.code).toBe(0);
    expect(timed.stderr).toMatch(/^warning: .*2025-06-04 08:00 is in the past/m);
  });

  it('links a task to a ticket of the same customer; edit can move or clear links', () => {
    const own = copyOf(box);
    write(own, [
      ["INSERT INTO tickets (id, customer_id, subject, priority, kind, status, opened_at, updated_at) VALUES (1, 2, 'Late parcel', 'high', 'complaint', 'open', ?, ?)", NOW.CRM_NOW, NOW.CRM_NOW],
    ]);
    const id = ok(['task', 'add', '2', '--title', 'Chase the carrier', '--due', '+2d', '--ticket', '1'], NOW, own).trim();
    expect(tasks(own).find((t) => t.id === Number(id))).toMatchObject({ customer_id: 2, due_at: '2025-06-06T00:00:00.000Z' });
    expect(own.query('SELECT ticket_id FROM tasks WHERE id = ?', Number(id))).toEqual([{ ticket_id: 1 }]);
    expect(run(['task', 'edit', id, '--deal', '1'], NOW, own).code).toBe(1); // deal 1 is Li Wei's
    ok(['task', 'edit', id, '--ticket', 'none', '--deal', '2'], NOW, own);
    expect(own.query('SELECT ticket_id, deal_id FROM tasks WHERE id = ?', Number(id))).toEqual([{ ticket_id: null, deal_id: 2 }]);
  });

  it('lists open tasks, earliest due first, as a table and as JSON', () => {
    const table = ok(['task', 'list']);
    const lines = table.split('\n').filter((l) => /^│\s+\d/.test(l));
    expect(lines.map((l) => l.split('│')[1]!.trim())).toEqual(['3', '2', '1']);
    expect(table).toContain('overdue');
    expect(table).not.toContain('\x1b');
    const json = JSON.parse(ok(['task', 'list', '--format', 'json']));
    expect(json.map((t: { id: number }) => t.id)).toEqual([3, 2, 1]);
    expect(json[1]).toMatchObject({
      id: 2,
      customer_id: 2,
      customer: 'Anna Schmidt',
      title: 'Call back',
      due_date: '2025-06-04',
      due_at: '2025-06-04T15:30:00Z',
      priority: 'high',
      assignee: 'anna',
      status: 'open',
      overdue: false,
    });
    expect(json[0]).toMatchObject({ id: 3, due_date: '2025-06-01', due_at: null, overdue: true });
    expect(json[2]).toMatchObject({ id: 1, deal_id: 1 });
  });

  it('filters by due window, assignee, customer and status', () => {
    const ids = (args: string[]) => JSON.parse(ok(['task', 'list', '--format', 'json', ...args])).map((t: { id: number }) => t.id);
    expect(ids(['--due', 'today'])).toEqual([2]);
    expect(ids(['--due', 'overdue'])).toEqual([3]);
    expect(ids(['--due', 'tomorrow'])).toEqual([1]);
    expect(ids(['--due', '2025-06-05'])).toEqual([1]);
    expect(ids(['--due', '+1d'])).toEqual([1]);
    // Task 3 is due Sunday 1 June: the ISO week before this one (Monday 2 to Sunday 8 June).
    expect(ids(['--due', 'this-week'])).toEqual([2, 1]);
    expect(ids(['--assignee', 'ANNA'])).toEqual([2]);
    expect(ids(['--customer', 'li@example.com'])).toEqual([3, 1]);
    expect(ids(['--status', 'done'])).toEqual([]);
    expect(ids(['--status', 'all'])).toEqual([3, 2, 1]);
    expect(run(['task', 'list', '--due', 'someday']).code).toBe(2);
    expect(run(['task', 'list', '--status', 'closed']).code).toBe(2);
    expect(run(['task', 'list', '--customer', 'nobody@example.com']).code).toBe(1);
  });

  it('marks a task done and notes it on the customer timeline', () => {
    const own = copyOf(box);
    const result = run(['task', 'done', '2', '--note', 'She will order in July'], { CRM_NOW: '2025-06-04T10:15:00Z' }, own);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('done: task #2 "Call back"');
    expect(tasks(own)[1]).toMatchObject({ status: 'done', done_at: '2025-06-04T10:15:00.000Z', note: 'She will order in July' });
    const activities = own.query<{ customer_id: number; type: string; at: string; summary: string }>('SELECT customer_id, type, at, summary FROM activities');
    expect(activities).toEqual([
      { customer_id: 2, type: 'note', at: '2025-06-04T10:15:00.000Z', summary: 'Task #2 done: Call back — She will order in July' },
    ]);
    const changes = own.query<{ table_name: string; op: string }>(
      "SELECT table_name, op FROM audit_change WHERE log_id = (SELECT id FROM audit_log WHERE action = 'task.done') ORDER BY id",
    );
    expect(changes).toEqual([
      { table_name: 'tasks', op: 'update' },
      { table_name: 'activities', op: 'insert' },
    ]);
    expect(JSON.parse(ok(['task', 'list', '--status', 'done', '--format', 'json'], NOW, own))).toMatchObject([{ id: 2, status: 'done', done_at: '2025-06-04T10:15:00Z' }]);
  });

  it('refuses to complete a done task (exit 1) and changes nothing', () => {
    const before = done.dump();
    const result = run(['task', 'done', '2'], NOW, done);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: task #2 is already done/m);
    expect(done.dump()).toBe(before);
  });

  it('edits a task and records before and after', () => {
    const own = copyOf(box);
    ok(['task', 'edit', '1', '--title', 'Send the revised quote', '--due', '2025-06-06 11:00', '--assignee', 'bo', '--priority', 'urgent', '--every', '2w'], NOW, own);
    expect(tasks(own)[0]).toMatchObject({
      title: 'Send the revised quote',
      due_at: '2025-06-06T11:00:00.000Z',
      due_has_time: 1,
      assignee: 'bo',
      priority: 'urgent',
      every: '2w',
      status: 'open',
    });
    const [change] = own.query<{ before: string; after: string }>(
      "SELECT before, after FROM audit_change WHERE log_id = (SELECT max(id) FROM audit_log WHERE action = 'task.edit')",
    );
    expect(JSON.parse(change!.before)).toMatchObject({ title: 'Send the quote', every: null });
    expect(JSON.parse(change!.after)).toMatchObject({ title: 'Send the revised quote', every: '2w' });
    ok(['task', 'edit', '1', '--assignee', 'none', '--every', 'none', '--deal', 'none'], NOW, own);
    expect(tasks(own)[0]).toMatchObject({ assignee: null, every: null });
  });

  it('removes a task only with --yes when not at a terminal', () => {
    const own = copyOf(box);
    const before = own.dump();
    const refused = run(['task', 'rm', '3'], NOW, own);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error: remove task #3 .*refusing without --yes/m);
    expect(own.dump()).toBe(before);
    ok(['task', 'rm', '3', '--yes'], NOW, own);
    expect(tasks(own).map((t) => t.id)).toEqual([1, 2]);
    const [change] = own.query<{ op: string; before: string }>(
      "SELECT op, before FROM audit_change WHERE log_id = (SELECT max(id) FROM audit_log WHERE action = 'task.rm')",
    );
    expect(change!.op).toBe('delete');
    expect(JSON.parse(change!.before)).toMatchObject({ id: 3, title: 'Overdue already' });
  });

  describe('bad input: an error line, the contract exit code, nothing changed', () => {
    const cases: Array<[string, string[], number, RegExp]> = [
      ['missing --title without a TTY', ['task', 'add', '1', '--due', 'tomorrow'], 2, /^error: missing required option --title$/m],
      ['missing --title and --due', ['task', 'add', '1'], 2, /^error: missing required options --title, --due$/m],
      ['missing customer', ['task', 'add', '--title', 'x', '--due', 'tomorrow'], 2, /^error: missing required option <customer>$/m],
      ['invalid --every', ['task', 'add', '1', '--title', 'x', '--due', 'tomorrow', '--every', 'fortnightly'], 2, /^error: --every "fortnightly" is not an interval$/m],
      ['zero --every', ['task', 'add', '1', '--title', 'x', '--due', 'tomorrow', '--every', '0w'], 2, /^error: --every "0w" is not an interval$/m],
      ['invalid --every on edit', ['task', 'edit', '1', '--every', '1x'], 2, /^error: --every "1x" is not an interval$/m],
      ['invalid --due', ['task', 'add', '1', '--title', 'x', '--due', '2025-02-30'], 2, /^error: --due "2025-02-30" is not a real calendar day$/m],
      ['invalid time', ['task', 'add', '1', '--title', 'x', '--due', '2025-06-05 25:00'], 2, /^error: --due .* impossible time$/m],
      ['invalid --priority', ['task', 'add', '1', '--title', 'x', '--due', 'tomorrow', '--priority', 'asap'], 2, /^error: --priority "asap" is not one of low, normal, high, urgent$/m],
      ['empty --title', ['task', 'add', '1', '--title', '  ', '--due', 'tomorrow'], 2, /^error: --title must not be empty$/m],
      ['--due with --after-last-contact', ['task', 'add', '1', '--title', 'x', '--due', 'tomorrow', '--after-last-contact', '30d'], 2, /^error: give either --due or --after-last-contact/m],
      ['--segment with --tag', ['task', 'add', '--segment', 'vip', '--tag', 'vip', '--after-last-contact', '30d'], 2, /^error: give either --tag or --segment, not both$/m],
      ['unknown segment', ['task', 'add', '--segment', 'nope', '--title', 'x', '--due', 'tomorrow'], 1, /^error: no segment named "nope"$/m],
      ['unknown customer', ['task', 'add', 'nobody@example.com', '--title', 'x', '--due', 'tomorrow'], 1, /^error: no customer with email nobody@example.com$/m],
      ['unknown deal', ['task', 'add', '1', '--title', 'x', '--due', 'tomorrow', '--deal', '99'], 1, /^error: no deal with id 99$/m],
      ["another customer's deal", ['task', 'add', '1', '--title', 'x', '--due', 'tomorrow', '--deal', '2'], 1, /^error: deal #2 belongs to another customer/m],
      ['unknown ticket', ['task', 'add', '1', '--title', 'x', '--due', 'tomorrow', '--ticket', '5'], 1, /^error: no ticket with id 5$/m],
      ['unknown task id on done', ['task', 'done', '99'], 1, /^error: no task with id 99$/m],
      ['unknown task id on edit', ['task', 'edit', '99', '--title', 'x'], 1, /^error: no task with id 99$/m],
      ['unknown task id on rm', ['task', 'rm', '99', '--yes'], 1, /^error: no task with id 99$/m],
      ['a task id that is not a number', ['task', 'done', 'abc'], 2, /^error: task id "abc" is not a whole number 1 or more$/m],
      ['edit with nothing to change', ['task', 'edit', '1'], 2, /^error: nothing to change$/m],
    ];
    it.each(cases)('%s', (_name, args, code, message) => {
      const before = box.dump();
      const result = run(args);
      expect(result.code).toBe(code);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe('');
      expect(box.dump()).toBe(before);
    });
  });
});

describe('--help', () => {
  it.each(['task add', 'task list', 'task done', 'task edit', 'task rm', 'agenda', 'customer list'])('crm %s has a description and examples', (command) => {
    const result = runCrm([...command.split(' '), '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\nExamples:\n {2}\$ crm /);
  });
});
