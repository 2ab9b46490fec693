// Saved segments wired into `report sales` (--by segment, --segment NAME) and `task add --segment`,
// and date-only tasks on their own local day in `customer show`. Expected figures are computed here
// from this test's own data (inserted straight into a migrated database), never by the code under test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';
import { rng } from '../helpers/random.js';

const NOW = { CRM_NOW: '2025-07-15T09:00:00Z' };

interface Customer {
  id: number;
  name: string;
  city: string | null;
  tags: string[];
}
interface Sale {
  customer_id: number | null;
  product: string;
  amount_cents: number;
  sold_on: string;
  created_at: string;
  voided_at: string | null;
}

const CUSTOMERS: Customer[] = [
  { id: 1, name: 'Li Wei', city: 'Shanghai', tags: ['vip'] },
  { id: 2, name: 'Wang Fang', city: 'shanghai', tags: [] },
  { id: 3, name: 'Anna Schmidt', city: 'Berlin', tags: ['vip'] },
  { id: 4, name: 'James Brown', city: 'London', tags: ['wholesale'] },
  { id: 5, name: 'Marie Martin', city: null, tags: [] },
  { id: 6, name: 'Chen Jie', city: 'Shanghai', tags: ['vip', 'wholesale'] },
];
const PRODUCTS = ['Tea set', 'Teapot', 'Oolong 250g'];

const random = rng;

const day = (offset: number) => new Date(Date.UTC(2025, 0, 1) + offset * 86_400_000).toISOString().slice(0, 10);

function makeSales(): Sale[] {
  const r = random(11);
  const sales: Sale[] = [];
  for (let i = 0; i < 120; i++) {
    const soldOn = day(Math.floor(r() * 196)); // 2025-01-01 … 2025-07-15
    sales.push({
      customer_id: 1 + Math.floor(r() * 6),
      product: PRODUCTS[Math.floor(r() * PRODUCTS.length)]!,
      amount_cents: 100 + Math.floor(r() * 50_000),
      sold_on: soldOn,
      created_at: `${soldOn}T12:00:00.000Z`,
      voided_at: i % 13 === 0 ? `${soldOn}T15:00:00.000Z` : null,
    });
  }
  // A sale of a forgotten customer: in the total, in no segment.
  sales.push({ customer_id: null, product: 'Teapot', amount_cents: 12_345, sold_on: '2025-05-05', created_at: '2025-05-05T12:00:00.000Z', voided_at: null });
  // Recorded late, and voided later: both matter for --as-of.
  sales.push({ customer_id: 1, product: 'Teapot', amount_cents: 77_700, sold_on: '2025-04-10', created_at: '2025-06-20T10:00:00.000Z', voided_at: null });
  sales.push({ customer_id: 6, product: 'Tea set', amount_cents: 55_500, sold_on: '2025-04-12', created_at: '2025-04-12T10:00:00.000Z', voided_at: '2025-06-25T10:00:00.000Z' });
  return sales;
}

const SALES = makeSales();
const live = (s: Sale, cutoff?: string) => (cutoff ? s.created_at < cutoff && (s.voided_at === null || s.voided_at >= cutoff) : s.voided_at === null);
function sum(filter: (s: Sale) => boolean, cutoff?: string) {
  const chosen = SALES.filter((s) => live(s, cutoff) && filter(s));
  return { count: chosen.length, revenue: chosen.reduce((a, s) => a + s.amount_cents, 0) };
}
const inRange = (from: string, toExclusive: string) => (s: Sale) => s.sold_on >= from && s.sold_on < toExclusive;
const change = (now: number, before: number) => (before === 0 ? null : (now - before) / before);
const money = (cents: number) => (cents / 100).toFixed(2);
/** As tables and Markdown show money: with thousands separators. */
const shown = (cents: number) => (cents / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

// Membership as the segments define it, worked out here: spend is over live sales of all time.
const spent = (id: number) => sum((s) => s.customer_id === id).revenue;
const SEGMENTS: Record<string, { where: string; members: Set<number> }> = {
  shanghai: { where: 'city = "Shanghai"', members: new Set(CUSTOMERS.filter((c) => c.city?.toLowerCase() === 'shanghai').map((c) => c.id)) },
  vip: { where: 'tag = "vip"', members: new Set(CUSTOMERS.filter((c) => c.tags.includes('vip')).map((c) => c.id)) },
  'big-spenders': { where: 'total_spent > 5000', members: new Set(CUSTOMERS.filter((c) => spent(c.id) > 500_000).map((c) => c.id)) },
  nobody: { where: 'city = "Atlantis"', members: new Set() },
};
const inSegment = (name: string) => (s: Sale) => s.customer_id !== null && SEGMENTS[name]!.members.has(s.customer_id);

/** The segment rows expected for a range against the previous one: largest revenue first, then name. */
function expectedRows(now: [string, string], before: [string, string] | null, extra: (s: Sale) => boolean = () => true, cutoff?: string) {
  return Object.keys(SEGMENTS)
    .map((name) => {
      const current = sum((s) => inSegment(name)(s) && extra(s) && inRange(...now)(s), cutoff);
      const previous = before ? sum((s) => inSegment(name)(s) && extra(s) && inRange(...before)(s), cutoff).revenue : null;
      return {
        segment: name,
        count: current.count,
        // No refunds in this data: gross and net agree.
        gross_revenue: money(current.revenue),
        gross_revenue_cents: current.revenue,
        refunds: '0.00',
        refunds_cents: 0,
        revenue: money(current.revenue),
        revenue_cents: current.revenue,
        average_order: current.count ? money(Math.round(current.revenue / current.count)) : null,
        average_order_cents: current.count ? Math.round(current.revenue / current.count) : null,
        previous_revenue: previous === null ? null : money(previous),
        previous_revenue_cents: previous,
        change: previous === null ? null : change(current.revenue, previous),
      };
    })
    .sort((a, b) => b.revenue_cents - a.revenue_cents || (a.segment < b.segment ? -1 : a.segment > b.segment ? 1 : 0));
}

let box: Sandbox;

beforeAll(() => {
  box = sandbox();
  box.ok(['init']);
  const at = '2024-12-01T08:00:00.000Z';
  const tagIds = new Map<string, number>();
  for (const c of CUSTOMERS) for (const tag of c.tags) if (!tagIds.has(tag)) tagIds.set(tag, tagIds.size + 1);
  box.insert('customers', CUSTOMERS.map((c) => ({ id: c.id, name: c.name, email: `c${c.id}@example.com`, city: c.city, created_at: at, updated_at: at })));
  box.insert('tags', [...tagIds].map(([name, id]) => ({ id, name })));
  box.insert('customer_tags', CUSTOMERS.flatMap((c) => c.tags.map((tag) => ({ customer_id: c.id, tag_id: tagIds.get(tag) }))));
  box.insert('sales', SALES.map((s) => ({ customer_id: s.customer_id, product: s.product, amount_cents: s.amount_cents, sold_on: s.sold_on, created_at: s.created_at, voided_at: s.voided_at })));
  // Before any segment exists: no rows, a note saying how to make one.
  const none = box.run(['report', 'sales', '--by', 'segment', '--format', 'json'], { env: NOW });
  expect(none.code).toBe(0);
  expect((JSON.parse(none.stdout) as { sales: unknown[] }).sales).toEqual([]);
  expect(none.stderr).toMatch(/no saved segments yet: create one with `crm segment create/);
  for (const [name, { where }] of Object.entries(SEGMENTS)) box.ok(['segment', 'create', name, '--where', where], { env: NOW });
});
afterAll(() => box.cleanup());

/** Copies of the shared database for tests that write; removed after the file. */
const copies: Sandbox[] = [];
function copyOf(from: Sandbox): Sandbox {
  const copy = from.clone();
  copies.push(copy);
  return copy;
}
afterAll(() => {
  for (const copy of copies) copy.cleanup();
});

interface SalesJson {
  sales: Record<string, unknown>[];
  total: Record<string, unknown>;
}
const salesReport = (...args: string[]) => JSON.parse(box.ok(['report', 'sales', '--format', 'json', ...args], { env: NOW })) as SalesJson;

describe('the test data', () => {
  it('has overlapping segments, an empty one and sales outside every segment', () => {
    expect([...SEGMENTS.shanghai!.members].filter((id) => SEGMENTS.vip!.members.has(id)).length).toBeGreaterThan(0);
    expect(SEGMENTS['big-spenders']!.members.size).toBeGreaterThan(0);
    expect(SEGMENTS['big-spenders']!.members.size).toBeLessThan(CUSTOMERS.length);
    expect(SALES.some((s) => s.customer_id === 4 || s.customer_id === 5)).toBe(true);
  });
});

describe('report sales --by segment', () => {
  it('every saved segment: count, revenue, average order and change vs the previous quarter; the total is all sales', () => {
    const report = salesReport('--period', '2025-Q2', '--by', 'segment');
    expect(report.sales).toEqual(expectedRows(['2025-04-01', '2025-07-01'], ['2025-01-01', '2025-04-01']));
    const quarter = sum(inRange('2025-04-01', '2025-07-01'));
    const previous = sum(inRange('2025-01-01', '2025-04-01'));
    expect(report.total).toEqual({
      from: '2025-04-01',
      to: '2025-06-30',
      count: quarter.count,
      gross_revenue: money(quarter.revenue),
      gross_revenue_cents: quarter.revenue,
      refunds: '0.00',
      refunds_cents: 0,
      revenue: money(quarter.revenue),
      revenue_cents: quarter.revenue,
      average_order: money(Math.round(quarter.revenue / quarter.count)),
      average_order_cents: Math.round(quarter.revenue / quarter.count),
      previous_from: '2025-01-01',
      previous_to: '2025-03-31',
      previous_count: previous.count,
      previous_revenue: money(previous.revenue),
      previous_revenue_cents: previous.revenue,
      change: change(quarter.revenue, previous.revenue),
    });
    // Overlapping segments and customers in none: the rows do not add up to the total.
    const rowsSum = report.sales.reduce((a, r) => a + (r.revenue_cents as number), 0);
    expect(rowsSum).not.toBe(quarter.revenue);
    expect(report.sales.find((r) => r.segment === 'nobody')).toMatchObject({ count: 0, revenue_cents: 0, average_order: null, change: null });
  });

  it('--from/--to (inclusive) against the same number of days before', () => {
    const report = salesReport('--from', '2025-05-10', '--to', '2025-06-08', '--by', 'segment');
    expect(report.sales).toEqual(expectedRows(['2025-05-10', '2025-06-09'], ['2025-04-10', '2025-05-10']));
    expect(report.total).toMatchObject({ from: '2025-05-10', to: '2025-06-08', previous_from: '2025-04-10', previous_to: '2025-05-09' });
  });

  it('month to date against the same days of last month: sales in between count in neither', () => {
    const report = salesReport('--period', 'this-month', '--by', 'segment');
    expect(report.sales).toEqual(expectedRows(['2025-07-01', '2025-07-16'], ['2025-06-01', '2025-06-16']));
    expect(report.total).toMatchObject({
      from: '2025-07-01',
      to: '2025-07-15',
      previous_to: '2025-06-15',
      revenue_cents: sum(inRange('2025-07-01', '2025-07-16')).revenue,
      previous_revenue_cents: sum(inRange('2025-06-01', '2025-06-16')).revenue,
    });
    expect(SALES.some((s) => inRange('2025-06-16', '2025-07-01')(s) && s.customer_id !== null && SEGMENTS.vip!.members.has(s.customer_id))).toBe(true);
  });

  it('all time: from the first sale, with nothing to compare against', () => {
    const report = salesReport('--by', 'segment');
    expect(report.sales).toEqual(expectedRows(['2025-01-01', '2025-07-16'], null));
    expect(report.total).toMatchObject({ to: '2025-07-15', count: sum(() => true).count, previous_revenue: null, change: null });
  });

  it('--as-of --as-recorded leaves out sales recorded later and counts sales voided later', () => {
    const cutoff = '2025-06-01T00:00:00.000Z'; // end of 2025-05-31 in UTC
    const report = salesReport('--period', '2025-Q2', '--by', 'segment', '--as-of', '2025-05-31', '--as-recorded');
    expect(report.sales).toEqual(expectedRows(['2025-04-01', '2025-07-01'], ['2025-01-01', '2025-04-01'], () => true, cutoff));
    expect(report.total.revenue_cents).toBe(sum(inRange('2025-04-01', '2025-07-01'), cutoff).revenue);
    // The late sale (Li Wei, 777.00) and the later-voided one (Chen Jie, 555.00) really differ.
    expect(report.total.revenue_cents).not.toBe(sum(inRange('2025-04-01', '2025-07-01')).revenue);
  });

  it('--limit keeps the top rows by revenue', () => {
    const report = salesReport('--period', '2025-Q2', '--by', 'segment', '--limit', '2');
    expect(report.sales).toEqual(expectedRows(['2025-04-01', '2025-07-01'], ['2025-01-01', '2025-04-01']).slice(0, 2));
  });

  it('in every format', () => {
    const expected = expectedRows(['2025-04-01', '2025-07-01'], ['2025-01-01', '2025-04-01']);
    const csv = box.ok(['report', 'sales', '--period', '2025-Q2', '--by', 'segment', '--format', 'csv'], { env: NOW }).split(/\r?\n/);
    expect(csv[0]).toBe('segment,count,gross_revenue,refunds,revenue,average_order,previous_revenue,change');
    expect(csv.slice(1, 1 + expected.length).map((l) => l.split(',').slice(0, 7))).toEqual(
      expected.map((r) => [r.segment, String(r.count), r.gross_revenue, r.refunds, r.revenue, r.average_order ?? '', r.previous_revenue ?? '']),
    );
    // The rows only: no total section after them.
    expect(csv.slice(1 + expected.length)).toEqual(['']);
    const tsv = box.ok(['report', 'sales', '--period', '2025-Q2', '--by', 'segment', '--format', 'tsv'], { env: NOW });
    expect(tsv.split(/\r?\n/)[0]).toBe('segment\tcount\tgross_revenue\trefunds\trevenue\taverage_order\tprevious_revenue\tchange');
    const ndjson = box
      .ok(['report', 'sales', '--period', '2025-Q2', '--by', 'segment', '--format', 'ndjson'], { env: NOW })
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(ndjson.filter((r) => r.section === 'sales').map(({ section: _s, ...r }) => r)).toEqual(expected);
    expect(ndjson.filter((r) => r.section !== 'sales')).toEqual([]);
    const md = box.ok(['report', 'sales', '--period', '2025-Q2', '--by', 'segment', '--format', 'md'], { env: NOW });
    expect(md).toContain('| Segment | Sales | Gross | Refunds | Net revenue | Avg order | Prev period | Change |');
    for (const r of expected) expect(md).toContain(`| ${r.segment} | ${r.count} | ${shown(r.revenue_cents)} |`);
    const table = box.ok(['report', 'sales', '--period', '2025-Q2', '--by', 'segment'], { env: NOW });
    expect(table).toContain('Sales by segment, 2025-04-01 to 2025-06-30 (a customer counts in each of their segments)');
    for (const r of expected) expect(table).toContain(`│ ${r.segment.padEnd(12)} │ ${String(r.count).padStart(5)} │ ${shown(r.revenue_cents).padStart(8)} │`);
    expect(table).not.toMatch(/\x1b\[/);
  });
});

describe('report sales --segment NAME', () => {
  it('--by month: only the sales of the segment members, with the month before', () => {
    const report = salesReport('--period', '2025-Q2', '--by', 'month', '--segment', 'shanghai');
    const months = [['2025-03', '2025-03-01', '2025-04-01'], ['2025-04', '2025-04-01', '2025-05-01'], ['2025-05', '2025-05-01', '2025-06-01'], ['2025-06', '2025-06-01', '2025-07-01']] as const;
    const figures = months.map(([, from, to]) => sum((s) => inSegment('shanghai')(s) && inRange(from, to)(s)));
    expect(report.sales.map((r) => [r.period, r.count, r.revenue_cents, r.previous_revenue_cents, r.change])).toEqual(
      [1, 2, 3].map((i) => [months[i]![0], figures[i]!.count, figures[i]!.revenue, figures[i - 1]!.revenue, change(figures[i]!.revenue, figures[i - 1]!.revenue)]),
    );
    const quarter = sum((s) => inSegment('shanghai')(s) && inRange('2025-04-01', '2025-07-01')(s));
    const previous = sum((s) => inSegment('shanghai')(s) && inRange('2025-01-01', '2025-04-01')(s));
    expect(report.total).toMatchObject({ count: quarter.count, revenue_cents: quarter.revenue, previous_count: previous.count, previous_revenue_cents: previous.revenue });
  });

  it('--by customer lists only members; all time starts at the first sale of a member', () => {
    const report = salesReport('--by', 'customer', '--segment', 'vip');
    const vip = [...SEGMENTS.vip!.members];
    const expected = vip
      .map((id) => ({ id, name: CUSTOMERS.find((c) => c.id === id)!.name, ...sum((s) => s.customer_id === id) }))
      .filter((c) => c.count > 0)
      .sort((a, b) => b.revenue - a.revenue);
    expect(report.sales.map((r) => [r.customer, r.customer_id, r.count, r.revenue_cents])).toEqual(expected.map((c) => [c.name, c.id, c.count, c.revenue]));
    const first = SALES.filter((s) => live(s) && inSegment('vip')(s)).reduce((a, s) => (s.sold_on < a ? s.sold_on : a), '9999-12-31');
    expect(report.total).toMatchObject({ from: first, count: sum(inSegment('vip')).count });
  });

  it('--by segment --segment: the sales of customers in both', () => {
    const report = salesReport('--period', '2025-Q2', '--by', 'segment', '--segment', 'vip');
    expect(report.sales).toEqual(expectedRows(['2025-04-01', '2025-07-01'], ['2025-01-01', '2025-04-01'], inSegment('vip')));
    expect(report.total.revenue_cents).toBe(sum((s) => inSegment('vip')(s) && inRange('2025-04-01', '2025-07-01')(s)).revenue);
  });
});

describe('task add --segment', () => {
  it('adds the task for every member, skips those who have it already, and records one audit entry', () => {
    const own = copyOf(box);
    const members = [...SEGMENTS.shanghai!.members].sort((a, b) => a - b);
    const result = own.run(['task', 'add', '--segment', 'shanghai', '--title', 'Win-back call', '--due', '2025-07-20', '--assignee', 'anna'], { env: NOW });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`added ${members.length} tasks for customers in segment shanghai`);
    const tasks = own.query<{ id: number; customer_id: number; due_at: string; due_has_time: number; assignee: string }>(
      "SELECT id, customer_id, due_at, due_has_time, assignee FROM tasks WHERE title = 'Win-back call' ORDER BY customer_id",
    );
    expect(tasks.map((t) => [t.customer_id, t.due_at, t.due_has_time, t.assignee])).toEqual(members.map((id) => [id, '2025-07-20T00:00:00.000Z', 0, 'anna']));
    expect(result.stdout.trim().split('\n').map(Number).sort((a, b) => a - b)).toEqual(tasks.map((t) => t.id).sort((a, b) => a - b));
    const audit = own.query<{ action: string; summary: string }>("SELECT action, summary FROM audit_log WHERE action = 'task.add' ORDER BY id DESC LIMIT 1");
    expect(audit).toEqual([{ action: 'task.add', summary: `"Win-back call" for ${members.length} customers in segment shanghai` }]);

    const before = own.dump();
    const again = own.run(['task', 'add', '--segment', 'shanghai', '--title', 'Win-back call', '--due', '2025-07-20'], { env: NOW });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`added 0 tasks for customers in segment shanghai (skipped ${members.length} already having an open "Win-back call" task)`);
    expect(own.dump()).toBe(before);
  });

  it('an aggregate segment with --after-last-contact; an empty segment adds nothing', () => {
    const own = copyOf(box);
    const members = [...SEGMENTS['big-spenders']!.members].sort((a, b) => a - b);
    own.ok(['task', 'add', '--segment', 'big-spenders', '--after-last-contact', '30d', '--title', 'Thank you note'], { env: NOW });
    // No activities: the last contact is when the customer was added (2024-12-01), so 2024-12-31.
    expect(own.query<{ customer_id: number; due_at: string }>("SELECT customer_id, due_at FROM tasks WHERE title = 'Thank you note' ORDER BY customer_id")).toEqual(
      members.map((id) => ({ customer_id: id, due_at: '2024-12-31T00:00:00.000Z' })),
    );
    const before = own.dump();
    const empty = own.run(['task', 'add', '--segment', 'nobody', '--title', 'x', '--due', 'tomorrow'], { env: NOW });
    expect(empty).toMatchObject({ code: 0, stdout: '' });
    expect(empty.stderr).toContain('added 0 tasks for customers in segment nobody');
    expect(own.dump()).toBe(before);
  });
});

describe('bad input: an error line, the contract exit code, nothing changed', () => {
  it('an unknown segment is exit 1 with the same error as customer list --segment', () => {
    const reference = box.run(['customer', 'list', '--segment', 'nope'], { env: NOW });
    expect(reference.code).toBe(1);
    expect(reference.stderr).toBe('error: no segment named "nope"\nhint: list segments with `crm segment list`\n');
    const cases = [
      ['report', 'sales', '--segment', 'nope'],
      ['report', 'sales', '--by', 'segment', '--segment', 'nope', '--format', 'json'],
      ['task', 'add', '--segment', 'nope', '--title', 'x', '--due', 'tomorrow'],
    ];
    for (const args of cases) {
      const before = box.dump();
      const result = box.run(args, { env: NOW });
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toBe(reference.stderr);
      expect(result.stdout).toBe('');
      expect(box.dump()).toBe(before);
    }
  });

  it('conflicting targets are usage errors (exit 2)', () => {
    const cases: [string[], RegExp][] = [
      [['task', 'add', '--segment', 'vip', '--tag', 'vip', '--title', 'x', '--due', 'tomorrow'], /^error: give either --tag or --segment, not both$/m],
      [['task', 'add', '1', '--segment', 'vip', '--title', 'x', '--due', 'tomorrow'], /^error: give either a customer or --segment, not both$/m],
      [['task', 'add', '--segment', 'vip', '--deal', '1', '--title', 'x', '--due', 'tomorrow'], /^error: --deal and --ticket need a single customer, not --segment$/m],
      [['task', 'add', '--segment', 'vip', '--due', 'tomorrow'], /^error: missing required option --title$/m],
      [['report', 'sales', '--by', 'segment', '--limit', '0'], /^error: --limit/m],
    ];
    for (const [args, message] of cases) {
      const before = box.dump();
      const result = box.run(args, { env: NOW });
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(box.dump()).toBe(before);
    }
  });
});

describe('customer show: a date-only task on its own local day', () => {
  it('in New York, the task due 2025-07-20 sits at local midnight of that day, after an activity late on the 19th', () => {
    const ny = sandbox();
    try {
      const env = { ...NOW, TZ: 'America/New_York' };
      ny.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com'], { env });
      ny.ok(['task', 'add', '1', '--title', 'Renewal', '--due', '2025-07-20'], { env });
      ny.ok(['task', 'add', '1', '--title', 'Timed call', '--due', '2025-07-20 09:30'], { env });
      // 2025-07-20T02:00Z is 22:00 on 19 July in New York: before the task's day begins.
      ny.insert('activities', [{ customer_id: 1, type: 'call', at: '2025-07-20T02:00:00.000Z', summary: 'Late call', created_at: '2025-07-15T09:00:00.000Z' }]);
      expect(ny.query<{ due_at: string }>("SELECT due_at FROM tasks WHERE title = 'Renewal'")).toEqual([{ due_at: '2025-07-20T00:00:00.000Z' }]);

      const json = JSON.parse(ny.ok(['customer', 'show', '1', '--format', 'json'], { env })) as { timeline: { at: string; kind: string; summary: string }[] };
      expect(json.timeline.map((t) => [t.at, t.kind, t.summary])).toEqual([
        ['2025-07-20T13:30:00Z', 'task', 'Timed call'], // 09:30 EDT
        ['2025-07-20T04:00:00Z', 'task', 'Renewal'], // 00:00 EDT on the 20th
        ['2025-07-20T02:00:00Z', 'activity', 'Late call'],
      ]);
      const table = ny.ok(['customer', 'show', '1'], { env });
      expect(table).toMatch(/2025-07-20 00:00 │ task +│ +\d+ │ due/);
      expect(table).toMatch(/2025-07-19 22:00 │ activity/);
      expect(table).not.toMatch(/2025-07-19 20:00/);
      // In UTC the same task is at 00:00 UTC, still its own day.
      const utc = JSON.parse(ny.ok(['customer', 'show', '1', '--format', 'json'], { env: NOW })) as { timeline: { at: string; summary: string }[] };
      expect(utc.timeline.find((t) => t.summary === 'Renewal')!.at).toBe('2025-07-20T00:00:00Z');
    } finally {
      ny.cleanup();
    }
  });
});
