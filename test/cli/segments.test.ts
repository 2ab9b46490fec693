// `crm segment …` end to end: the built binary on a sandbox database filled with generated
// customers; every expected figure is computed here from the generated data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';
import {
  NOW,
  evaluate,
  generateCustomers,
  insertCustomers,
  lastPurchase,
  orders,
  randomExpr,
  render,
  rng,
  totalSpent,
  type RefCustomer,
} from '../helpers/segments-reference.js';

const env = { CRM_NOW: NOW };
const decimal = (cents: number) => `${cents < 0 ? '-' : ''}${Math.floor(Math.abs(cents) / 100)}.${String(Math.abs(cents) % 100).padStart(2, '0')}`;
const csvCell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

function setup(count: number, seed: number): { box: Sandbox; customers: RefCustomer[] } {
  const box = sandbox();
  box.ok(['init']);
  const customers = generateCustomers(count, seed);
  insertCustomers(box, customers);
  return { box, customers };
}

// A describe's database is built once and only read by its tests; a test that writes works on its
// own copy, so each test sees the same data alone, in file order or shuffled.
const copies: Sandbox[] = [];
const copyOf = (from: Sandbox) => {
  const copy = from.clone();
  copies.push(copy);
  return copy;
};
afterAll(() => {
  for (const copy of copies) copy.cleanup();
});

describe('segment create, list, show and rm', () => {
  let base: Sandbox; // 60 customers, no segment
  let box: Sandbox; // + the segment east-spenders
  let customers: RefCustomer[];
  const where = 'city in ("Shanghai", "Hangzhou") and total_spent > 100 and not tag = "churned"';
  const inSegment = (c: RefCustomer) =>
    ['shanghai', 'hangzhou'].includes((c.city ?? '').toLowerCase()) && totalSpent(c) > 10000 && !c.tags.includes('churned');

  beforeAll(() => {
    ({ box: base, customers } = setup(60, 11));
    box = base.clone();
    box.ok(['segment', 'create', 'east-spenders', '--where', where, '--description', 'big spenders in the east'], { env });
  });
  afterAll(() => {
    base?.cleanup();
    box?.cleanup();
  });

  it('creates a segment and says how many customers are in it now', () => {
    const own = copyOf(base);
    const result = own.run(['segment', 'create', 'east-spenders', '--where', where, '--description', 'big spenders in the east'], { env });
    expect(result.code).toBe(0);
    const expected = customers.filter(inSegment).length;
    expect(expected).toBeGreaterThan(2);
    expect(result.stderr).toBe(`created segment "east-spenders": ${expected} customers now\n`);
    expect(result.stdout).toBe('');
    const [row] = own.query<{ name: string; expression: string; description: string }>('SELECT name, expression, description FROM segments');
    expect(row).toEqual({ name: 'east-spenders', expression: where, description: 'big spenders in the east' });
    const audit = own.query<{ action: string; entity: string; summary: string }>("SELECT action, entity, summary FROM audit_log WHERE action = 'segment.create'");
    expect(audit).toEqual([{ action: 'segment.create', entity: 'segment', summary: `east-spenders: ${where}` }]);
  });

  it('shows the members with their spend, as CSV with exact values', () => {
    const members = customers.filter(inSegment);
    const lines = ['id,name,email,phone,city,age,total_spent,orders,last_purchase'];
    for (const c of members) {
      lines.push(
        [String(c.id), c.name, c.email ?? '', c.phone ?? '', c.city ?? '', c.age === null ? '' : String(c.age), decimal(totalSpent(c)), String(orders(c)), lastPurchase(c) ?? '']
          .map(csvCell)
          .join(','),
      );
    }
    const result = box.run(['segment', 'show', 'east-spenders', '--format', 'csv'], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(lines.join('\r\n') + '\r\n');
    expect(result.stderr).toBe(`${members.length} customers in east-spenders (${where})\n`);
  });

  it('shows the members as JSON with money as decimal string and cents', () => {
    const shown = JSON.parse(box.ok(['segment', 'show', 'East-Spenders', '--format', 'json'], { env })) as Array<Record<string, unknown>>;
    const members = customers.filter(inSegment);
    expect(shown.map((r) => r.id)).toEqual(members.map((c) => c.id));
    expect(shown[0]).toEqual({
      id: members[0]!.id,
      name: members[0]!.name,
      email: members[0]!.email,
      phone: members[0]!.phone,
      city: members[0]!.city,
      age: members[0]!.age,
      total_spent: decimal(totalSpent(members[0]!)),
      total_spent_cents: totalSpent(members[0]!),
      orders: orders(members[0]!),
      last_purchase: lastPurchase(members[0]!),
    });
  });

  it('prints a table for people', () => {
    const table = box.ok(['segment', 'show', 'east-spenders'], { env });
    expect(table.split('\n')[1]).toMatch(/│ ID │ Name +│ Email +│ Phone +│ City +│ Age │ Total spent │ Orders │ Last purchase │/);
    expect(table).not.toMatch(/\x1b\[/);
  });

  it('filters customer list with --segment', () => {
    const listed = JSON.parse(box.ok(['customer', 'list', '--segment', 'east-spenders', '--format', 'json'], { env })) as Array<{ id: number }>;
    expect(listed.map((r) => r.id)).toEqual(customers.filter(inSegment).map((c) => c.id));
  });

  it('lists segments with their current size, evaluated when used', () => {
    const own = copyOf(box);
    own.ok(['segment', 'create', 'recent', '--where', 'last_purchase < 90d'], { env });
    const listed = JSON.parse(own.ok(['segment', 'list', '--format', 'json'], { env })) as Array<Record<string, unknown>>;
    const cutoff = new Date(Date.UTC(2025, 5, 1 - 90)).toISOString().slice(0, 10);
    const recent = customers.filter((c) => (lastPurchase(c) ?? '') > cutoff).length;
    expect(listed).toEqual([
      { name: 'east-spenders', customers: customers.filter(inSegment).length, expression: where, description: 'big spenders in the east', created_at: '2025-06-01T09:00:00Z' },
      { name: 'recent', customers: recent, expression: 'last_purchase < 90d', description: null, created_at: '2025-06-01T09:00:00Z' },
    ]);
    // 60 days later, fewer purchases are recent: the segment is re-evaluated, not stored.
    const later = JSON.parse(own.ok(['segment', 'list', '--format', 'json'], { env: { CRM_NOW: '2025-07-31T09:00:00Z' } })) as Array<{ name: string; customers: number }>;
    const laterCutoff = new Date(Date.UTC(2025, 6, 31 - 90)).toISOString().slice(0, 10);
    expect(later[1]).toMatchObject({ name: 'recent', customers: customers.filter((c) => (lastPurchase(c) ?? '') > laterCutoff).length });
  });

  it('treats text inside quotes as data, never as SQL', () => {
    const own = copyOf(base);
    const before = own.query<{ n: number }>('SELECT count(*) AS n FROM customers')[0]!.n;
    const result = own.run(['segment', 'create', 'sneaky', '--where', `name = "x'; DROP TABLE customers; --" or city = "') OR 1=1 --"`], { env });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('created segment "sneaky": 0 customers now\n');
    expect(own.query<{ n: number }>('SELECT count(*) AS n FROM customers')[0]!.n).toBe(before);
  });

  it('removes a segment without touching customers, and records it for undo', () => {
    const own = copyOf(box);
    const customersBefore = own.query('SELECT * FROM customers ORDER BY id');
    const result = own.run(['segment', 'rm', 'east-spenders'], { env });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`removed segment "east-spenders" (it was: ${where})\n`);
    expect(own.query('SELECT name FROM segments')).toEqual([]);
    expect(own.query('SELECT * FROM customers ORDER BY id')).toEqual(customersBefore);
    const [entry] = own.query<{ id: number; action: string }>("SELECT id, action FROM audit_log WHERE action = 'segment.rm'");
    expect(entry).toBeDefined();
    const changes = own.query<{ table_name: string; op: string; before: string }>('SELECT table_name, op, before FROM audit_change WHERE log_id = ?', entry!.id);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ table_name: 'segments', op: 'delete' });
    expect(JSON.parse(changes[0]!.before)).toMatchObject({ name: 'east-spenders', expression: where });
  });

  it('agrees with the reference for random expressions, end to end', () => {
    const own = copyOf(base);
    const random = rng(404);
    for (let i = 0; i < 6; i++) {
      const tree = randomExpr(random, 2);
      const text = render(random, tree);
      const result = own.run(['segment', 'create', `random-${i}`, '--where', text], { env });
      expect(result.code, `${text}\n${result.stderr}`).toBe(0);
      const shown = JSON.parse(own.ok(['segment', 'show', `random-${i}`, '--format', 'json'], { env })) as Array<{ id: number }>;
      expect({ text, ids: shown.map((r) => r.id) }).toEqual({ text, ids: customers.filter((c) => evaluate(c, tree)).map((c) => c.id) });
    }
  });
});

describe('bad input: the right exit code, a clear error, the database untouched', () => {
  let box: Sandbox;
  beforeAll(() => {
    ({ box } = setup(20, 5));
    box.ok(['segment', 'create', 'vip', '--where', 'tag = "vip"'], { env });
  });
  afterAll(() => box.cleanup());

  const cases: Array<{ args: string[]; code: number; stderr: RegExp }> = [
    {
      args: ['segment', 'create', 'x', '--where', 'name = "x" or 1=1; drop table customers'],
      code: 2,
      stderr: /^error: invalid expression at column 15: unexpected "1"\nname = "x" or 1=1; drop table customers\n {14}\^\nexpected: a field \(name, email, .*field\.KEY\), "not", "\("\n$/,
    },
    { args: ['segment', 'create', 'x', '--where', 'city = "Shanghai'], code: 2, stderr: /^error: invalid expression at column 8: the string starting here has no closing "\ncity = "Shanghai\n {7}\^\nexpected: a closing "\nhint: / },
    { args: ['segment', 'create', 'x', '--where', 'shoe_size > 40'], code: 2, stderr: /^error: invalid expression at column 1: unknown field "shoe_size"\nshoe_size > 40\n\^\nexpected: a field/ },
    { args: ['segment', 'create', 'x', '--where', 'age > "abc"'], code: 2, stderr: /^error: invalid expression at column 7: age compares with a whole number, not text\nage > "abc"\n {6}\^\nexpected: a whole number\n$/ },
    { args: ['segment', 'create', 'x', '--where', 'age between 5'], code: 2, stderr: /^error: invalid expression at column 14: the expression ends too early\nage between 5\n {13}\^\nexpected: "and" followed by the upper bound\nhint: / },
    { args: ['segment', 'create', 'x'], code: 2, stderr: /^error: missing required option --where$/m },
    { args: ['segment', 'create', 'rfm:mine', '--where', 'age > 1'], code: 2, stderr: /^error: segment name "rfm:mine" is not allowed$/m },
    { args: ['segment', 'create', 'VIP', '--where', 'age > 1'], code: 1, stderr: /^error: a segment named "vip" already exists: tag = "vip"\nhint: / },
    { args: ['segment', 'show', 'nope'], code: 1, stderr: /^error: no segment named "nope"\nhint: list segments with `crm segment list`\n$/ },
    { args: ['segment', 'rm', 'nope'], code: 1, stderr: /^error: no segment named "nope"/ },
    { args: ['customer', 'list', '--segment', 'nope'], code: 1, stderr: /^error: no segment named "nope"/ },
    { args: ['segment', 'show', 'rfm:at-risk'], code: 1, stderr: /^error: the RFM groups have not been saved yet\nhint: run `crm segment rfm --save`/ },
    { args: ['segment', 'show', 'rfm:sleepy'], code: 1, stderr: /^error: no RFM group "sleepy"/ },
    { args: ['segment', 'breakdown', '--by', 'age:25,18'], code: 2, stderr: /^error: --by age:25,18: the ages must increase \(25 then 18\)/ },
    { args: ['segment', 'breakdown', '--by', 'age:18,18'], code: 2, stderr: /^error: --by age:18,18: the ages must increase/ },
    { args: ['segment', 'breakdown', '--by', 'age:18,x'], code: 2, stderr: /^error: --by age:18,x: "x" is not a whole number from 0 to 150/ },
    { args: ['segment', 'breakdown', '--by', 'age:18.5'], code: 2, stderr: /^error: --by age:18.5: "18.5" is not a whole number/ },
    { args: ['segment', 'breakdown', '--by', 'age:'], code: 2, stderr: /^error: --by age:: "" is not a whole number/ },
    { args: ['segment', 'breakdown', '--by', 'height'], code: 2, stderr: /^error: --by "height" is not a breakdown/ },
    { args: ['segment', 'breakdown'], code: 2, stderr: /^error: missing required option --by/ },
    { args: ['segment', 'breakdown', '--by', 'city', '--segment', 'nope'], code: 1, stderr: /^error: no segment named "nope"/ },
  ];
  for (const { args, code, stderr } of cases) {
    it(`${args.join(' ')} → exit ${code}`, () => {
      const before = box.dump();
      const result = box.run(args, { env });
      expect(result.stderr).toMatch(stderr);
      expect(result.code).toBe(code);
      expect(result.stdout).toBe('');
      expect(box.dump()).toBe(before);
    });
  }
});

// Quintile score by rank: 1 + floor(5 × (customers with a strictly smaller value) / n).
function scores<T>(items: T[], value: (t: T) => number | string): Map<T, number> {
  const values = items.map(value);
  const out = new Map<T, number>();
  items.forEach((item, i) => {
    const smaller = values.filter((v) => v < values[i]!).length;
    out.set(item, 1 + Math.floor((5 * smaller) / items.length));
  });
  return out;
}

function rfmGroup(r: number, f: number, m: number): string {
  if (r >= 4 && f + m >= 8) return 'champions';
  if (r >= 3 && f + m >= 6) return 'loyal';
  if (r >= 4 && f === 1) return 'new';
  if (r >= 3) return 'potential';
  if (f + m >= 6) return 'at-risk';
  if (r === 2) return 'hibernating';
  return 'lost';
}

describe('segment rfm', () => {
  let box: Sandbox;
  let customers: RefCustomer[];
  let groupOf: Map<RefCustomer, string>;
  beforeAll(() => {
    ({ box, customers } = setup(150, 21));
    const buyers = customers.filter((c) => orders(c) > 0);
    const r = scores(buyers, (c) => lastPurchase(c)!);
    const f = scores(buyers, orders);
    const m = scores(buyers, totalSpent);
    groupOf = new Map(buyers.map((c) => [c, rfmGroup(r.get(c)!, f.get(c)!, m.get(c)!)]));
  });
  afterAll(() => box.cleanup());

  const GROUPS = ['champions', 'loyal', 'new', 'potential', 'at-risk', 'hibernating', 'lost'];

  it('prints each group with its size, share, revenue and average spend', () => {
    const before = box.dump();
    const result = box.run(['segment', 'rfm', '--format', 'json'], { env });
    expect(result.code).toBe(0);
    expect(box.dump()).toBe(before);
    const rows = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    const scored = groupOf.size;
    expect(rows.map((r) => r.group)).toEqual(GROUPS);
    for (const row of rows) {
      const members = [...groupOf].filter(([, g]) => g === row.group).map(([c]) => c);
      const revenue = members.reduce((sum, c) => sum + totalSpent(c), 0);
      expect(row).toMatchObject({
        customers: members.length,
        revenue: decimal(revenue),
        revenue_cents: revenue,
        average_spend_cents: members.length ? Math.round(revenue / members.length) : 0,
      });
      expect(row.share as number).toBeCloseTo(members.length / scored, 10);
    }
    expect(rows.filter((r) => (r.customers as number) > 0).length).toBeGreaterThanOrEqual(5);
    expect(result.stderr).toContain(`scored ${scored} customers with purchases; ${customers.length - scored} without purchases are not scored`);
  });

  it('saves the groups so rfm:GROUP works as a segment', () => {
    const own = copyOf(box);
    const result = own.run(['segment', 'rfm', '--save', '--format', 'csv'], { env });
    expect(result.code).toBe(0);
    for (const group of GROUPS) {
      const expected = [...groupOf].filter(([, g]) => g === group).map(([c]) => c.id).sort((a, b) => a - b);
      const shown = JSON.parse(own.ok(['segment', 'show', `rfm:${group}`, '--format', 'json'], { env })) as Array<{ id: number }>;
      expect(shown.map((r) => r.id)).toEqual(expected);
    }
    const listed = JSON.parse(own.ok(['customer', 'list', '--segment', 'rfm:at-risk', '--format', 'json'], { env })) as Array<{ id: number }>;
    expect(listed.map((r) => r.id)).toEqual([...groupOf].filter(([, g]) => g === 'at-risk').map(([c]) => c.id).sort((a, b) => a - b));
    const segments = JSON.parse(own.ok(['segment', 'list', '--format', 'json'], { env })) as Array<{ name: string; customers: number }>;
    expect(segments.map((s) => s.name)).toEqual(GROUPS.map((g) => `rfm:${g}`));
    const [audit] = own.query<{ id: number; summary: string }>("SELECT id, summary FROM audit_log WHERE action = 'segment.rfm.save'");
    expect(audit!.summary).toBe(`saved RFM groups of ${groupOf.size} customers (replacing 0 stored memberships)`);
    expect(own.query('SELECT table_name, first_id, last_id FROM audit_range WHERE log_id = ?', audit!.id)).toEqual([{ table_name: 'segment_members', first_id: 1, last_id: groupOf.size }]);
    // Saving again replaces the snapshot rather than adding to it.
    own.ok(['segment', 'rfm', '--save'], { env });
    expect(own.query<{ n: number }>('SELECT count(*) AS n FROM segment_members')[0]!.n).toBe(groupOf.size);
  });
});

describe('segment breakdown', () => {
  let box: Sandbox;
  let customers: RefCustomer[];
  beforeAll(() => ({ box, customers } = setup(120, 33)));
  afterAll(() => box.cleanup());

  type Out = { class: string; customers: number; share: number; revenue: string; revenue_cents: number; average_spend: string; average_spend_cents: number };
  const breakdownOf = (on: Sandbox, ...args: string[]) => JSON.parse(on.ok(['segment', 'breakdown', ...args, '--format', 'json'], { env })) as Out[];
  const breakdown = (...args: string[]) => breakdownOf(box, ...args);
  function expectRows(actual: Out[], expected: Array<[string, RefCustomer[]]>, total: number) {
    expect(actual.map((r) => r.class)).toEqual(expected.map(([label]) => label));
    expected.forEach(([label, members], i) => {
      const revenue = members.reduce((sum, c) => sum + totalSpent(c), 0);
      expect(actual[i], label).toMatchObject({ customers: members.length, revenue_cents: revenue, average_spend_cents: members.length ? Math.round(revenue / members.length) : 0 });
      expect(actual[i]!.share).toBeCloseTo(members.length / total, 10);
    });
  }

  it('bands ages half-open with an unknown row, and the counts add up', () => {
    const rows = breakdown('--by', 'age:18,25,35,50');
    const band = (lo: number, hi: number) => customers.filter((c) => c.age !== null && c.age >= lo && c.age < hi);
    expectRows(
      rows,
      [
        ['<18', band(0, 18)],
        ['18–24', band(18, 25)],
        ['25–34', band(25, 35)],
        ['35–49', band(35, 50)],
        ['50+', band(50, 999)],
        ['unknown', customers.filter((c) => c.age === null)],
      ],
      customers.length,
    );
    expect(rows.reduce((sum, r) => sum + r.customers, 0)).toBe(customers.length);
    const table = box.run(['segment', 'breakdown', '--by', 'age:18,25,35,50'], { env });
    expect(table.stdout).toMatch(/│ Age +│ Customers │ Share │ +│ +Revenue │ Avg spend │/);
    expect(table.stdout).toContain('18–24');
    const revenue = customers.reduce((sum, c) => sum + totalSpent(c), 0);
    expect(table.stderr).toBe(`${customers.length} customers, revenue ${decimal(revenue).replace(/\B(?=(\d{3})+(?!\d))/g, ',')}\n`);
  });

  it('breaks down by gender, with unknown for missing values', () => {
    expectRows(
      breakdown('--by', 'gender'),
      (['female', 'male', 'other'] as const).map((g) => [g, customers.filter((c) => c.gender === g)] as [string, RefCustomer[]]).concat([['unknown', customers.filter((c) => c.gender === null)]]),
      customers.length,
    );
  });

  it('groups cities case-insensitively, biggest first, unknown last', () => {
    const groups = new Map<string, RefCustomer[]>();
    for (const c of customers) {
      const key = c.city ? c.city.toLowerCase() : '';
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    const labelled = [...groups].map(([key, members]) => [key === '' ? 'unknown' : members.map((c) => c.city!).sort()[0]!, members] as [string, RefCustomer[]]);
    const known = labelled.filter(([l]) => l !== 'unknown').sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
    expectRows(breakdown('--by', 'city'), [...known, ...labelled.filter(([l]) => l === 'unknown')], customers.length);
  });

  it('counts a customer once per tag and adds an (untagged) row', () => {
    const rows = breakdown('--by', 'tag');
    const perTag = ['vip', 'churned', 'b2b', 'newsletter'].map((t) => [t, customers.filter((c) => c.tags.includes(t))] as [string, RefCustomer[]]);
    perTag.sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
    expectRows(rows, [...perTag, ['(untagged)', customers.filter((c) => c.tags.length === 0)]], customers.length);
    const result = box.run(['segment', 'breakdown', '--by', 'tag'], { env });
    expect(result.stderr).toContain('counted once per tag');
  });

  it('breaks down one segment with --segment', () => {
    const own = copyOf(box);
    own.ok(['segment', 'create', 'buyers', '--where', 'orders >= 1'], { env });
    const buyers = customers.filter((c) => orders(c) >= 1);
    const rows = breakdownOf(own, '--by', 'age:30', '--segment', 'buyers');
    expectRows(
      rows,
      [
        ['<30', buyers.filter((c) => c.age !== null && c.age < 30)],
        ['30+', buyers.filter((c) => c.age !== null && c.age >= 30)],
        ['unknown', buyers.filter((c) => c.age === null)],
      ],
      buyers.length,
    );
  });

  it('uses the pinned clock for relative dates', () => {
    // `last_purchase < 30d` counts back from CRM_NOW, not from the machine's clock (which is years
    // after this data): the same saved segment has other members when CRM_NOW moves on 20 days.
    const own = copyOf(box);
    own.ok(['segment', 'create', 'bought-last-30d', '--where', 'last_purchase < 30d'], { env });
    const members = (now: string) => {
      const cutoff = new Date(Date.parse(now) - 30 * 86_400_000).toISOString().slice(0, 10);
      return customers.filter((c) => (lastPurchase(c) ?? '') > cutoff).map((c) => c.id).sort((a, b) => a - b);
    };
    const shown = (now: string) =>
      (JSON.parse(own.ok(['segment', 'show', 'bought-last-30d', '--format', 'json'], { env: { CRM_NOW: now } })) as Array<{ id: number }>).map((r) => r.id).sort((a, b) => a - b);
    const later = '2025-06-21T09:00:00Z';
    expect(members(NOW).length).toBeGreaterThan(0);
    expect(members(later)).not.toEqual(members(NOW));
    expect(shown(NOW)).toEqual(members(NOW));
    expect(shown(later)).toEqual(members(later));
  });
});
