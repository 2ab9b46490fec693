// `crm customer add/list/show/edit/rm` end to end on a temp database, with the clock pinned.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';

const NOW = { CRM_NOW: '2025-06-01T09:00:00Z' };

interface CustomerDbRow {
  id: number;
  name: string;
  email: string | null;
  phone: string | null;
  phone_digits: string | null;
  age: number | null;
  gender: string | null;
  company: string | null;
  city: string | null;
  source: string | null;
}

describe('customer add, list, show, edit and rm', () => {
  // Four customers, built once and only read; a test that writes works on its own copy.
  let box: Sandbox;
  const copies: Sandbox[] = [];
  const copyOf = (from: Sandbox) => {
    const copy = from.clone();
    copies.push(copy);
    return copy;
  };
  const ok = (args: string[], on = box) => on.ok(args, { env: NOW });
  const run = (args: string[], on = box) => on.run(args, { env: NOW });
  /** Li Wei's history: an activity, three sales (one voided), two tickets and a task; Wang Fang's sale. */
  const addHistory = (on: Sandbox) => {
    ok(['activity', 'add', '1', '--type', 'call', '--direction', 'in', '--at', '2025-05-02 10:00', '--summary', 'Asked about oolong'], on);
    const sale = (customer_id: number, product: string, quantity: number, amount_cents: number, sold_on: string, note: string | null, created_at: string, voided_at: string | null, void_reason: string | null) =>
      ({ customer_id, product, quantity, amount_cents, sold_on, note, created_at, voided_at, void_reason });
    on.insert('sales', [
      sale(1, 'Oolong 250g', 2, 12800, '2025-05-03', null, '2025-05-03T08:00:00Z', null, null),
      sale(1, 'Teapot', 1, 45000, '2025-05-10', 'gift wrap', '2025-05-10T08:00:00Z', null, null),
      sale(1, 'Cups x6', 1, 9900, '2025-05-11', null, '2025-05-11T08:00:00Z', '2025-05-12T08:00:00Z', 'wrong item'),
      sale(2, 'Teapot', 1, 45000, '2025-05-10', null, '2025-05-10T08:00:00Z', null, null),
    ]);
    const ticket = (customer_id: number, subject: string, priority: string, status: string, opened_at: string, updated_at: string) =>
      ({ customer_id, subject, priority, kind: 'problem', status, opened_at, updated_at });
    on.insert('tickets', [
      ticket(1, 'Teapot lid chipped', 'high', 'open', '2025-05-12T09:30:00Z', '2025-05-12T09:30:00Z'),
      ticket(1, 'Invoice address', 'low', 'closed', '2025-05-04T09:30:00Z', '2025-05-05T09:30:00Z'),
    ]);
    on.insert('tasks', [{ customer_id: 1, title: 'Send replacement lid', due_at: '2025-06-03T00:00:00Z', created_at: '2025-05-12T10:00:00Z', updated_at: '2025-05-12T10:00:00Z' }]);
  };

  beforeAll(() => {
    box = sandbox();
    ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li.wei@example.com', '--phone', '+86 138 0013 8000', '--age', '34', '--gender', '男', '--company', 'Tea House', '--city', 'Shanghai', '--source', 'referral', '--tag', 'vip', '--tag', 'b2b', '--field', 'plan=gold']);
    ok(['customer', 'add', '--name', '王芳', '--email', 'wang.fang@example.com', '--city', '杭州', '--tag', 'VIP', '--age', '28', '--gender', 'f']);
    ok(['customer', 'add', '--name', 'Anna Schmidt', '--email', 'anna@example.de', '--city', 'Berlin', '--company', 'Schmidt GmbH']);
    ok(['customer', 'add', '--name', 'Li Wei', '--city', 'shanghai', '--phone', '010-6552 9988']);
  });
  afterAll(() => {
    for (const sandbox of [box, ...copies]) sandbox?.cleanup();
  });

  it('add prints the new id, stores the profile, tags (case-insensitive) and fields, and audits it', () => {
    const own = copyOf(box);
    const out = ok(['customer', 'add', '--name', 'Tom Brown', '--tag', 'vip'], own);
    expect(out).toBe('5\n');
    const [li] = own.query<CustomerDbRow>('SELECT * FROM customers WHERE id = 1');
    expect(li).toMatchObject({ name: 'Li Wei', email: 'li.wei@example.com', phone: '+86 138 0013 8000', phone_digits: '8613800138000', age: 34, gender: 'male', company: 'Tea House', city: 'Shanghai', source: 'referral' });
    expect(own.query('SELECT name FROM tags ORDER BY id')).toEqual([{ name: 'vip' }, { name: 'b2b' }]);
    expect(own.query('SELECT customer_id, tag_id FROM customer_tags WHERE customer_id IN (2, 5) ORDER BY customer_id')).toEqual([
      { customer_id: 2, tag_id: 1 },
      { customer_id: 5, tag_id: 1 },
    ]);
    expect(own.query('SELECT key, value FROM customer_fields WHERE customer_id = 1')).toEqual([{ key: 'plan', value: 'gold' }]);
    const changes = own.query<{ table_name: string; op: string }>(
      "SELECT c.table_name, c.op FROM audit_change c JOIN audit_log l ON l.id = c.log_id WHERE l.action = 'customer.add' AND l.entity_id = 1 ORDER BY c.id",
    );
    expect(changes).toEqual([
      { table_name: 'customers', op: 'insert' },
      { table_name: 'tags', op: 'insert' },
      { table_name: 'tags', op: 'insert' },
      { table_name: 'customer_tags', op: 'insert' },
      { table_name: 'customer_tags', op: 'insert' },
      { table_name: 'customer_fields', op: 'insert' },
    ]);
  });

  it('list prints a table without a TTY and without ANSI codes', () => {
    const out = ok(['customer', 'list']);
    expect(out).not.toMatch(/\x1b\[/);
    const lines = out.trimEnd().split('\n');
    expect(lines[1]).toMatch(/│ ID │ Name\s+│ Email\s+│ Phone\s+│ City\s+│ Company\s+│ Tags\s+│/);
    expect(lines).toHaveLength(4 + 4); // top, header, rule, 4 rows, bottom
    expect(lines[3]).toMatch(/│  1 │ Li Wei\s+│ li\.wei@example\.com\s+│ \+86 138 0013 8000 │ Shanghai │ Tea House\s+│ b2b;vip │/);
    // CJK names take two columns each: the borders still line up.
    const widths = lines.map((l) => [...l].reduce((w, ch) => w + (/[\u4e00-\u9fff]/.test(ch) ? 2 : 1), 0));
    expect(new Set(widths).size).toBe(1);
  });

  it('list filters by tag, city and search, sorts and limits', () => {
    const ids = (args: string[]) =>
      ok(['customer', 'list', '--format', 'csv', ...args])
        .trim()
        .split('\r\n')
        .slice(1)
        .map((line) => Number(line.split(',')[0]));
    expect(ids(['--tag', 'vip'])).toEqual([1, 2]);
    expect(ids(['--tag', 'VIP', '--tag', 'b2b'])).toEqual([1]);
    expect(ids(['--city', 'SHANGHAI'])).toEqual([1, 4]);
    expect(ids(['--search', 'schmidt'])).toEqual([3]);
    expect(ids(['--search', '6552'])).toEqual([4]);
    expect(ids(['--search', '65529988'])).toEqual([4]);
    expect(ids(['--search', '@example.'])).toEqual([1, 2, 3]);
    expect(ids(['--sort', 'name'])).toEqual([3, 1, 4, 2]);
    expect(ids(['--sort', '-age'])).toEqual([1, 2, 3, 4]);
    expect(ids(['--sort', 'age'])).toEqual([2, 1, 3, 4]);
    expect(ids(['--sort', '-id', '--limit', '2'])).toEqual([4, 3]);
    expect(ids(['--tag', 'nobody-has-this'])).toEqual([]);
  });

  it('list rejects a sort field it does not know, and a bad limit, with exit 2', () => {
    const bad = run(['customer', 'list', '--sort', 'salary']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --sort "salary" is not a field to sort by\nhint: use one of id, name, email, city, company, age, created, updated/m);
    expect(bad.stdout).toBe('');
    const limit = run(['customer', 'list', '--limit', 'ten']);
    expect(limit.code).toBe(2);
    expect(limit.stderr).toMatch(/^error: --limit "ten" is not a whole number/m);
  });

  it('list carries every field in csv and json', () => {
    const csv = ok(['customer', 'list', '--format', 'csv', '--limit', '1']);
    expect(csv).toBe(
      'id,name,email,phone,age,gender,company,city,source,external_id,tags,created_at,updated_at\r\n' +
        '1,Li Wei,li.wei@example.com,+86 138 0013 8000,34,male,Tea House,Shanghai,referral,,b2b;vip,2025-06-01T09:00:00Z,2025-06-01T09:00:00Z\r\n',
    );
    const json = JSON.parse(ok(['customer', 'list', '--format', 'json', '--search', '王']));
    expect(json).toEqual([
      { id: 2, name: '王芳', email: 'wang.fang@example.com', phone: null, age: 28, gender: 'female', company: null, city: '杭州', source: null, external_id: null, tags: 'vip', created_at: '2025-06-01T09:00:00Z', updated_at: '2025-06-01T09:00:00Z' },
    ]);
  });

  it('references: id, email in any case, unique name; an ambiguous name lists the candidates', () => {
    expect(JSON.parse(ok(['customer', 'show', 'LI.WEI@EXAMPLE.COM', '--format', 'json'])).customer.id).toBe(1);
    expect(JSON.parse(ok(['customer', 'show', 'anna schmidt', '--format', 'json'])).customer.id).toBe(3);
    const ambiguous = run(['customer', 'show', 'Li Wei']);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toBe('error: "Li Wei" matches 2 customers\n  #1 Li Wei <li.wei@example.com>\n  #4 Li Wei\nhint: use the id or email instead\n');
    const missing = run(['customer', 'show', '999']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: no customer with id 999$/m);
  });

  it('a duplicate email (any case) is exit 1 and changes nothing', () => {
    const before = box.dump();
    const result = run(['customer', 'add', '--name', 'Someone Else', '--email', 'Anna@Example.DE']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: a customer with email Anna@Example.DE already exists: #3 Anna Schmidt <anna@example.de>$/m);
    const edit = run(['customer', 'edit', '4', '--email', 'li.wei@EXAMPLE.com']);
    expect(edit.code).toBe(1);
    expect(edit.stderr).toMatch(/already exists: #1 Li Wei/);
    expect(box.dump()).toBe(before);
  });

  it('a field that fails validation is named, exit 2, nothing changes', () => {
    const before = box.dump();
    const cases: [string[], RegExp][] = [
      [['--email', 'not-an-email'], /^error: --email "not-an-email" is not a valid email address/m],
      [['--phone', '12ab'], /^error: --phone "12ab" is not a valid phone number/m],
      [['--phone', '1234'], /^error: --phone "1234" is not a valid phone number/m],
      [['--age', '151'], /^error: --age "151" is not a whole number from 0 to 150/m],
      [['--age', '3.5'], /^error: --age "3.5" is not a whole number/m],
      [['--gender', 'robot'], /^error: --gender "robot" is not one of female, male, other/m],
      [['--field', 'no equals'], /^error: --field "no equals" is not key=value/m],
    ];
    for (const [flags, message] of cases) {
      const add = run(['customer', 'add', '--name', 'X', ...flags]);
      expect(add.code, flags.join(' ')).toBe(2);
      expect(add.stderr).toMatch(message);
      const edit = run(['customer', 'edit', '3', ...flags]);
      expect(edit.code, flags.join(' ')).toBe(2);
      expect(edit.stderr).toMatch(message);
    }
    expect(box.dump()).toBe(before);
  });

  it('show prints profile, tags, fields, totals and a merged timeline (voided sales marked)', () => {
    const own = copyOf(box);
    addHistory(own);
    const doc = JSON.parse(ok(['customer', 'show', '1', '--format', 'json'], own));
    expect(doc.customer).toMatchObject({ id: 1, name: 'Li Wei', tags: 'b2b;vip', gender: 'male', created_at: '2025-06-01T09:00:00Z' });
    expect(doc.fields).toEqual([{ key: 'plan', value: 'gold' }]);
    expect(doc.totals).toEqual({
      orders: 2,
      total_spent: '578.00',
      total_spent_cents: 57800,
      last_purchase: '2025-05-10',
      open_tickets: 1,
      open_tasks: 1,
      activities: 1,
      last_contact: '2025-05-02T10:00:00Z',
    });
    expect(doc.timeline.map((t: { kind: string; id: number; detail: string }) => `${t.kind} ${t.id} ${t.detail}`)).toEqual([
      'task 1 due',
      'ticket 1 open high',
      'sale 3 voided',
      'sale 2 ',
      'ticket 2 closed low',
      'sale 1 ',
      'activity 1 call in',
    ]);
    expect(doc.timeline[2]).toMatchObject({ amount: '99.00', amount_cents: 9900, summary: 'Cups x6 — voided: wrong item', at: '2025-05-11T00:00:00Z' });
    expect(doc.timeline[5]).toMatchObject({ summary: 'Oolong 250g ×2' });

    const table = ok(['customer', 'show', '1'], own);
    expect(table).toMatch(/^Customer #1\nID {7}1\nName {5}Li Wei\n/);
    expect(table).toMatch(/^Total spent {4}578\.00$/m);
    expect(table).toMatch(/│ 2025-05-11 00:00 │ sale {5}│ {2}3 │ voided +│ +99\.00 │ Cups x6 — voided: wrong item +│/);
    // A customer without custom fields gets no empty own in the table, but a stable JSON key.
    expect(ok(['customer', 'show', '3'], own)).not.toMatch(/Custom fields/);
    expect(JSON.parse(ok(['customer', 'show', '3', '--format', 'json'], own)).fields).toEqual([]);
  });

  it('edit changes the profile, tags and fields, clears with empty values, and audits before/after', () => {
    const own = copyOf(box);
    const result = run(['customer', 'edit', '4', '--name', 'Li Wei (Beijing)', '--city', 'Beijing', '--phone', '', '--tag', 'wholesale', '--field', 'plan=silver', '--field', 'region=north'], own);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('updated customer #4 Li Wei (Beijing): name, phone, city, +tag wholesale, field plan, field region\n');
    expect(own.query('SELECT name, phone, phone_digits, city, updated_at FROM customers WHERE id = 4')).toEqual([
      { name: 'Li Wei (Beijing)', phone: null, phone_digits: null, city: 'Beijing', updated_at: '2025-06-01T09:00:00.000Z' },
    ]);
    const log = own.query<{ id: number; action: string; entity_id: number }>("SELECT id, action, entity_id FROM audit_log WHERE action = 'customer.edit' ORDER BY id DESC LIMIT 1")[0]!;
    expect(log).toMatchObject({ action: 'customer.edit', entity_id: 4 });
    const changes = own.query<{ table_name: string; op: string; before: string | null; after: string | null }>('SELECT table_name, op, before, after FROM audit_change WHERE log_id = ? ORDER BY id', log.id);
    const customerChange = changes.find((c) => c.table_name === 'customers')!;
    expect(customerChange.op).toBe('update');
    expect(JSON.parse(customerChange.before!)).toMatchObject({ name: 'Li Wei', city: 'shanghai', phone: '010-6552 9988' });
    expect(JSON.parse(customerChange.after!)).toMatchObject({ name: 'Li Wei (Beijing)', city: 'Beijing', phone: null });
    expect(changes.filter((c) => c.table_name === 'customer_fields').map((c) => [c.op, JSON.parse(c.after!)])).toEqual([
      ['insert', { customer_id: 4, key: 'plan', value: 'silver' }],
      ['insert', { customer_id: 4, key: 'region', value: 'north' }],
    ]);

    const second = run(['customer', 'edit', '4', '--untag', 'wholesale', '--field', 'plan=', '--field', 'region=south'], own);
    expect(second.stderr).toBe('updated customer #4 Li Wei (Beijing): -tag wholesale, -field plan, field region\n');
    expect(own.query('SELECT key, value FROM customer_fields WHERE customer_id = 4')).toEqual([{ key: 'region', value: 'south' }]);
    expect(own.query('SELECT count(*) AS n FROM customer_tags WHERE customer_id = 4')).toEqual([{ n: 0 }]);

    const before = own.dump();
    const same = run(['customer', 'edit', '4', '--city', 'Beijing', '--untag', 'never-had-it'], own);
    expect(same).toMatchObject({ code: 0, stderr: 'customer #4 Li Wei (Beijing) already had those values; nothing changed\n' });
    expect(own.dump()).toBe(before);
    const nothing = run(['customer', 'edit', '4'], own);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/^error: nothing to change$/m);
    const clash = run(['customer', 'edit', '4', '--tag', 'x', '--untag', 'X'], own);
    expect(clash.code).toBe(2);
    expect(own.dump()).toBe(before);
  });

  it('rm refuses without --yes when not on a TTY, then removes with everything that cascades; sales stay', () => {
    const own = copyOf(box);
    addHistory(own);
    const before = own.dump();
    const refused = run(['customer', 'rm', 'li.wei@example.com'], own);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      'error: remove customer #1 Li Wei <li.wei@example.com> with 1 activity, 2 tickets, 1 task (their 3 sales stay, without a customer): refusing without --yes\n' +
        'hint: add --yes to confirm when not running in a terminal\n',
    );
    expect(own.dump()).toBe(before);

    const removed = run(['customer', 'rm', 'li.wei@example.com', '--yes'], own);
    expect(removed).toMatchObject({ code: 0, stdout: '', stderr: 'removed customer #1 Li Wei <li.wei@example.com>\n' });
    expect(own.query('SELECT id FROM customers ORDER BY id')).toEqual([{ id: 2 }, { id: 3 }, { id: 4 }]);
    for (const table of ['activities', 'tickets', 'tasks', 'customer_tags', 'customer_fields']) {
      expect(own.query(`SELECT count(*) AS n FROM ${table} WHERE customer_id = 1`), table).toEqual([{ n: 0 }]);
    }
    expect(own.query('SELECT id, customer_id FROM sales ORDER BY id')).toEqual([
      { id: 1, customer_id: null },
      { id: 2, customer_id: null },
      { id: 3, customer_id: null },
      { id: 4, customer_id: 2 },
    ]);
    const log = own.query<{ id: number }>("SELECT id FROM audit_log WHERE action = 'customer.rm' ORDER BY id DESC LIMIT 1")[0]!;
    const ops = own.query<{ table_name: string; op: string; n: number }>('SELECT table_name, op, count(*) AS n FROM audit_change WHERE log_id = ? GROUP BY table_name, op ORDER BY table_name', log.id);
    expect(ops).toEqual([
      { table_name: 'activities', op: 'delete', n: 1 },
      { table_name: 'customer_fields', op: 'delete', n: 1 },
      { table_name: 'customer_tags', op: 'delete', n: 2 },
      { table_name: 'customers', op: 'delete', n: 1 },
      { table_name: 'sales', op: 'update', n: 3 },
      { table_name: 'tasks', op: 'delete', n: 1 },
      { table_name: 'tickets', op: 'delete', n: 2 },
    ]);
    const gone = run(['customer', 'rm', '1', '--yes'], own);
    expect(gone.code).toBe(1);
  });
});

describe('text that must round-trip verbatim', () => {
  let box: Sandbox;
  const name = 'O\'Brien "The Boss"; --drop table\nsecond line 😀 \x1b[31mred\x07';
  const company = 'Ünïcödé; "quoted" -- co,\tltd';
  beforeAll(() => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', name, '--company', company, '--city', '上海', '--field', `note=${name}`]);
  });
  afterAll(() => box.cleanup());

  it('is stored exactly', () => {
    expect(box.query('SELECT name, company FROM customers')).toEqual([{ name, company }]);
    expect(box.query('SELECT value FROM customer_fields')).toEqual([{ value: name }]);
  });

  it('comes back exactly in json and ndjson', () => {
    expect(JSON.parse(box.ok(['customer', 'list', '--format', 'json']))[0]).toMatchObject({ name, company });
    expect(JSON.parse(box.ok(['customer', 'list', '--format', 'ndjson']).trim())).toMatchObject({ name, company });
    const doc = JSON.parse(box.ok(['customer', 'show', '1', '--format', 'json']));
    expect(doc.customer.name).toBe(name);
    expect(doc.fields).toEqual([{ key: 'note', value: name }]);
  });

  it('comes back exactly in csv and tsv (RFC 4180 quoting)', () => {
    const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
    const csv = box.ok(['customer', 'list', '--format', 'csv']).split('\r\n')[1]!;
    expect(csv.startsWith(`1,${quote(name)},,,,,${quote(company)},上海,`)).toBe(true);
    const tsv = box.ok(['customer', 'list', '--format', 'tsv']).split('\r\n')[1]!;
    expect(tsv.startsWith(`1\t${quote(name)}\t\t\t\t\t${quote(company)}\t上海\t`)).toBe(true);
  });

  it('shows control characters escaped in tables and markdown, so the terminal is never driven', () => {
    const table = box.ok(['customer', 'list']);
    expect(table).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(table).toContain('O\'Brien "The Boss"; --drop table\\nsecond line 😀 \\x1b[31mred\\x07');
    const md = box.ok(['customer', 'list', '--format', 'md']);
    expect(md).toContain('O\'Brien "The Boss"; --drop table\\\\nsecond line 😀 \\\\x1b[31mred\\\\x07');
    const shown = box.ok(['customer', 'show', '1']);
    expect(shown).not.toMatch(/\x1b/);
    const own = box.clone();
    try {
      const noted = own.run(['customer', 'edit', '1', '--city', 'Beijing']);
      expect(noted.stderr).not.toMatch(/\x1b|\x07/);
      expect(noted.stderr).toContain('\\x1b[31mred\\x07');
    } finally {
      own.cleanup();
    }
  });
});
