// `crm activity add/list/thread`: the communication record and its conversation graph.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';

const env = { CRM_NOW: '2025-03-10T12:00:00Z' };

describe('activities and threads', () => {
  let box: Sandbox;
  const ok = (args: string[]) => box.ok(args, { env });
  const run = (args: string[]) => box.run(args, { env });
  const add = (...args: string[]) => Number(ok(['activity', 'add', ...args]).trim());
  const ids: Record<string, number> = {};

  beforeAll(() => {
    box = sandbox();
    ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com']);
    ok(['customer', 'add', '--name', 'Anna Schmidt', '--email', 'anna@example.de']);
    // A conversation: ask → answer → call back → (note replying to the call and following the meeting);
    // the meeting follows the first email. Plus an unrelated record.
    ids.ask = add('li@example.com', '--type', 'email', '--direction', 'in', '--at', '2025-03-01 09:12', '--summary', 'Asks for the autumn price list');
    ids.answer = add('1', '--type', 'email', '--direction', 'out', '--at', '2025-03-01 11:00', '--reply-to', String(ids.ask), '--summary', 'Sent the price list');
    ids.call = add('Li Wei', '--type', 'call', '--direction', 'in', '--at', '2025-03-02T10:00:00Z', '--reply-to', String(ids.answer), '--summary', 'Wants 200 boxes');
    ids.meeting = add('1', '--type', 'meeting', '--at', '2025-03-04 15:00', '--follows', String(ids.ask), '--summary', 'Tasting at the shop');
    ids.note = add('1', '--type', 'note', '--at', '2025-03-04 16:00', '--reply-to', String(ids.call), '--follows', String(ids.meeting), '--summary', 'Agreed: 200 boxes;\n"gift" wrap -- 😀');
    ids.other = add('1', '--type', 'chat', '--direction', 'in', '--summary', 'Unrelated question');
    ids.anna = add('anna@example.de', '--type', 'call', '--direction', 'out', '--at', '2025-03-03', '--summary', 'Intro call');
  });
  afterAll(() => box.cleanup());

  it('add stores the record and its links, prints the id, and audits both', () => {
    expect(ids).toEqual({ ask: 1, answer: 2, call: 3, meeting: 4, note: 5, other: 6, anna: 7 });
    expect(box.query('SELECT id, customer_id, type, direction, at, summary FROM activities WHERE id IN (1, 5, 6) ORDER BY id')).toEqual([
      { id: 1, customer_id: 1, type: 'email', direction: 'in', at: '2025-03-01T09:12:00.000Z', summary: 'Asks for the autumn price list' },
      { id: 5, customer_id: 1, type: 'note', direction: null, at: '2025-03-04T16:00:00.000Z', summary: 'Agreed: 200 boxes;\n"gift" wrap -- 😀' },
      { id: 6, customer_id: 1, type: 'chat', direction: 'in', at: '2025-03-10T12:00:00.000Z', summary: 'Unrelated question' },
    ]);
    expect(box.query('SELECT from_id, to_id, kind FROM activity_links ORDER BY from_id, kind')).toEqual([
      { from_id: 2, to_id: 1, kind: 'reply' },
      { from_id: 3, to_id: 2, kind: 'reply' },
      { from_id: 4, to_id: 1, kind: 'follows' },
      { from_id: 5, to_id: 4, kind: 'follows' },
      { from_id: 5, to_id: 3, kind: 'reply' },
    ]);
    const audited = box.query("SELECT c.table_name, c.op FROM audit_change c JOIN audit_log l ON l.id = c.log_id WHERE l.action = 'activity.add' AND l.entity_id = 5 ORDER BY c.id");
    expect(audited).toEqual([
      { table_name: 'activities', op: 'insert' },
      { table_name: 'activity_links', op: 'insert' },
      { table_name: 'activity_links', op: 'insert' },
    ]);
  });

  it('thread prints the whole conversation from any member as an indented tree', () => {
    const expected =
      'Conversation with #1 Li Wei <li@example.com>: 5 records\n' +
      '#1           2025-03-01 09:12  email in   Asks for the autumn price list\n' +
      '├─ #2        2025-03-01 11:00  email out  Sent the price list\n' +
      '│  └─ #3     2025-03-02 10:00  call in    Wants 200 boxes\n' +
      '│     └─ #5  2025-03-04 16:00  note       Agreed: 200 boxes;\\n"gift" wrap -- 😀 (also follows #4)\n' +
      '└─ #4        2025-03-04 15:00  meeting    Tasting at the shop\n';
    for (const id of [1, 3, 4, 5]) expect(ok(['activity', 'thread', String(id)])).toBe(expected);
    expect(ok(['activity', 'thread', '6'])).toBe('Conversation with #1 Li Wei <li@example.com>: 1 record\n#6  2025-03-10 12:00  chat in  Unrelated question\n');
  });

  it('thread gives depth and parent_id per row in csv and json', () => {
    expect(ok(['activity', 'thread', '2', '--format', 'csv'])).toBe(
      'id,parent_id,depth,link,at,customer_id,type,direction,summary\r\n' +
        '1,,0,,2025-03-01T09:12:00Z,1,email,in,Asks for the autumn price list\r\n' +
        '2,1,1,reply,2025-03-01T11:00:00Z,1,email,out,Sent the price list\r\n' +
        '3,2,2,reply,2025-03-02T10:00:00Z,1,call,in,Wants 200 boxes\r\n' +
        '5,3,3,reply,2025-03-04T16:00:00Z,1,note,,"Agreed: 200 boxes;\n""gift"" wrap -- 😀"\r\n' +
        '4,1,1,follows,2025-03-04T15:00:00Z,1,meeting,,Tasting at the shop\r\n',
    );
    const json = JSON.parse(ok(['activity', 'thread', '5', '--format', 'json']));
    expect(json.map((r: { id: number; depth: number; parent_id: number | null }) => [r.id, r.depth, r.parent_id])).toEqual([
      [1, 0, null],
      [2, 1, 1],
      [3, 2, 2],
      [5, 3, 3],
      [4, 1, 1],
    ]);
    expect(json[3].summary).toBe('Agreed: 200 boxes;\n"gift" wrap -- 😀');
  });

  it('list shows records oldest first, for one customer or all, filtered by type and since', () => {
    const list = (args: string[]) => JSON.parse(ok(['activity', 'list', ...args, '--format', 'json'])).map((r: { id: number }) => r.id);
    expect(list([])).toEqual([1, 2, 3, 7, 4, 5, 6]);
    expect(list(['anna@example.de'])).toEqual([7]);
    expect(list(['1', '--type', 'email'])).toEqual([1, 2]);
    expect(list(['--since', '2025-03-04'])).toEqual([4, 5, 6]);
    expect(list(['--since', '7d-ago'])).toEqual([7, 4, 5, 6]); // 2025-03-03 00:00 onwards
    const row = JSON.parse(ok(['activity', 'list', '1', '--format', 'json']))[4];
    expect(row).toEqual({ id: 5, at: '2025-03-04T16:00:00Z', customer_id: 1, customer: 'Li Wei', type: 'note', direction: null, summary: 'Agreed: 200 boxes;\n"gift" wrap -- 😀', reply_to: 3, follows: 4 });
    const table = ok(['activity', 'list', 'anna@example.de']);
    expect(table).toMatch(/│  7 │ 2025-03-03 00:00 │ Anna Schmidt │ call │ out │ Intro call │/);
  });

  it('shows activities in the customer timeline', () => {
    const doc = JSON.parse(ok(['customer', 'show', '2', '--format', 'json']));
    expect(doc.timeline).toEqual([{ at: '2025-03-03T00:00:00Z', kind: 'activity', id: 7, detail: 'call out', amount: null, amount_cents: null, summary: 'Intro call' }]);
    expect(doc.totals.last_contact).toBe('2025-03-03T00:00:00Z');
  });

  it('rejects bad links and bad values with a clear error and changes nothing', () => {
    const before = box.dump();
    const cases: [string[], number, RegExp][] = [
      [['1', '--type', 'call', '--summary', 'x', '--reply-to', '99'], 1, /^error: --reply-to 99: no activity with that id$/m],
      [['2', '--type', 'call', '--summary', 'x', '--reply-to', '1'], 1, /^error: --reply-to 1: that activity belongs to another customer \(#1 Li Wei <li@example.com>\)$/m],
      [['1', '--type', 'call', '--summary', 'x', '--at', '2025-02-01', '--follows', '1'], 1, /^error: --follows 1: that activity \(2025-03-01T09:12:00Z\) is later than this one \(2025-02-01T00:00:00Z\)$/m],
      [['1', '--type', 'call', '--summary', 'x', '--reply-to', 'abc'], 2, /^error: --reply-to "abc" is not a whole number/m],
      [['1', '--type', 'fax', '--summary', 'x'], 2, /^error: --type "fax" is not one of call, email, meeting, chat, note$/m],
      [['1', '--type', 'call', '--summary', 'x', '--direction', 'up'], 2, /^error: --direction "up" is not one of in, out$/m],
      [['1', '--type', 'note', '--summary', 'x', '--direction', 'in'], 2, /^error: a note has no direction$/m],
      [['1', '--type', 'call', '--summary', 'x', '--at', '2025-02-30'], 2, /^error: --at "2025-02-30" is not a real calendar day$/m],
      [['1', '--summary', 'x'], 2, /^error: missing required option --type$/m],
      [['1'], 2, /^error: missing required options --type, --summary$/m],
      [['99', '--type', 'call', '--summary', 'x'], 1, /^error: no customer with id 99$/m],
    ];
    for (const [args, code, message] of cases) {
      const result = run(['activity', 'add', ...args]);
      expect(result.code, args.join(' ')).toBe(code);
      expect(result.stderr, args.join(' ')).toMatch(message);
      expect(result.stdout).toBe('');
    }
    expect(run(['activity', 'thread', '42']).stderr).toMatch(/^error: no activity with id 42$/m);
    expect(run(['activity', 'list', '--type', 'fax']).code).toBe(2);
    expect(box.dump()).toBe(before);
  });
});
