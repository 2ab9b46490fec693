// `crm report sales|customers|summary|forecast` checked against sums computed here, from this
// test's own data (inserted straight into a migrated database), never by the code under test.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';
import { rng } from '../helpers/random.js';

const NOW = { CRM_NOW: '2025-07-15T09:00:00Z' };

interface Sale {
  customer_id: number;
  product: string;
  amount_cents: number;
  sold_on: string;
  created_at: string;
  voided_at: string | null;
}
interface Customer {
  id: number;
  name: string;
  city: string | null;
  created_at: string;
}

const CUSTOMERS: Customer[] = [
  { id: 1, name: 'Li Wei', city: 'Shanghai', created_at: '2023-06-01T08:00:00.000Z' },
  { id: 2, name: 'Anna Schmidt', city: 'Berlin', created_at: '2023-06-01T08:00:00.000Z' },
  { id: 3, name: 'Wang Fang', city: 'Shanghai', created_at: '2023-06-01T08:00:00.000Z' },
  { id: 4, name: 'James Brown', city: 'London', created_at: '2025-02-10T08:00:00.000Z' },
  { id: 5, name: 'Marie Martin', city: null, created_at: '2025-04-15T08:00:00.000Z' },
  { id: 6, name: 'Old Buyer', city: 'Paris', created_at: '2023-01-01T08:00:00.000Z' },
  { id: 7, name: 'Gone Quiet', city: 'Paris', created_at: '2023-01-01T08:00:00.000Z' },
];
const PRODUCTS = ['Tea set', 'Teapot', 'Oolong 250g', 'Gift box'];

const random = rng;

const day = (offset: number) => new Date(Date.UTC(2024, 0, 1) + offset * 86_400_000).toISOString().slice(0, 10);

function makeSales(): Sale[] {
  const r = random(7);
  const sales: Sale[] = [];
  for (let i = 0; i < 400; i++) {
    const soldOn = day(Math.floor(r() * 547)); // 2024-01-01 … 2025-06-30
    sales.push({
      customer_id: 1 + Math.floor(r() * 5),
      product: PRODUCTS[Math.floor(r() * PRODUCTS.length)]!,
      amount_cents: 100 + Math.floor(r() * 100_000),
      sold_on: soldOn,
      created_at: `${soldOn}T12:00:00.000Z`,
      voided_at: i % 17 === 0 ? `${soldOn}T15:00:00.000Z` : null,
    });
  }
  const extra = (customer_id: number, sold_on: string, amount_cents: number, created_at = `${sold_on}T12:00:00.000Z`, voided_at: string | null = null) =>
    sales.push({ customer_id, product: 'Teapot', amount_cents, sold_on, created_at, voided_at });
  extra(1, '2025-01-10', 77_700, '2025-05-01T10:00:00.000Z'); // recorded late
  extra(2, '2025-02-01', 55_500, '2025-02-01T12:00:00.000Z', '2025-04-01T10:00:00.000Z'); // voided later
  extra(6, '2024-02-01', 12_300);
  extra(7, '2025-03-15', 45_600);
  // Around the ISO week 53 of 2020: 27 Dec is W52; 31 Dec and 3 Jan are 2020-W53; 4 Jan 2021-W01.
  extra(3, '2020-12-27', 500);
  extra(3, '2020-12-31', 1_000);
  extra(3, '2021-01-03', 2_000);
  extra(3, '2021-01-04', 4_000);
  return sales;
}

const SALES = makeSales();

/** Live as of a cutoff (ISO instant) or now. */
const live = (s: Sale, cutoff?: string) => (cutoff ? s.created_at < cutoff && (s.voided_at === null || s.voided_at >= cutoff) : s.voided_at === null);
function sum(filter: (s: Sale) => boolean, cutoff?: string) {
  const chosen = SALES.filter((s) => live(s, cutoff) && filter(s));
  return { count: chosen.length, revenue: chosen.reduce((a, s) => a + s.amount_cents, 0) };
}
const inRange = (from: string, toExclusive: string) => (s: Sale) => s.sold_on >= from && s.sold_on < toExclusive;
const change = (now: number, before: number) => (before === 0 ? null : (now - before) / before);

let box: Sandbox;

beforeAll(() => {
  box = sandbox();
  box.ok(['init']);
  box.insert('customers', CUSTOMERS.map((c) => ({ id: c.id, name: c.name, city: c.city, created_at: c.created_at, updated_at: c.created_at })));
  box.insert('sales', SALES.map((s) => ({ customer_id: s.customer_id, product: s.product, amount_cents: s.amount_cents, sold_on: s.sold_on, created_at: s.created_at, voided_at: s.voided_at })));
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

describe('report sales by time', () => {
  it('by month over a quarter: count, revenue, average order, change vs the month before and the previous quarter', () => {
    const report = salesReport('--period', '2025-Q1', '--by', 'month');
    const months = [['2024-12', '2024-12-01', '2025-01-01'], ['2025-01', '2025-01-01', '2025-02-01'], ['2025-02', '2025-02-01', '2025-03-01'], ['2025-03', '2025-03-01', '2025-04-01']] as const;
    const figures = months.map(([, from, to]) => sum(inRange(from, to)));
    expect(report.sales).toEqual(
      [1, 2, 3].map((i) => ({
        period: months[i]![0],
        count: figures[i]!.count,
        // No refunds in this data: gross and net agree.
        gross_revenue: (figures[i]!.revenue / 100).toFixed(2),
        gross_revenue_cents: figures[i]!.revenue,
        refunds: '0.00',
        refunds_cents: 0,
        revenue: (figures[i]!.revenue / 100).toFixed(2),
        revenue_cents: figures[i]!.revenue,
        average_order: (Math.round(figures[i]!.revenue / figures[i]!.count) / 100).toFixed(2),
        average_order_cents: Math.round(figures[i]!.revenue / figures[i]!.count),
        previous_revenue: (figures[i - 1]!.revenue / 100).toFixed(2),
        previous_revenue_cents: figures[i - 1]!.revenue,
        change: change(figures[i]!.revenue, figures[i - 1]!.revenue),
      })),
    );
    const quarter = sum(inRange('2025-01-01', '2025-04-01'));
    const previous = sum(inRange('2024-10-01', '2025-01-01'));
    expect(report.total).toEqual({
      from: '2025-01-01',
      to: '2025-03-31',
      count: quarter.count,
      gross_revenue: (quarter.revenue / 100).toFixed(2),
      gross_revenue_cents: quarter.revenue,
      refunds: '0.00',
      refunds_cents: 0,
      revenue: (quarter.revenue / 100).toFixed(2),
      revenue_cents: quarter.revenue,
      average_order: (Math.round(quarter.revenue / quarter.count) / 100).toFixed(2),
      average_order_cents: Math.round(quarter.revenue / quarter.count),
      previous_from: '2024-10-01',
      previous_to: '2024-12-31',
      previous_count: previous.count,
      previous_revenue: (previous.revenue / 100).toFixed(2),
      previous_revenue_cents: previous.revenue,
      change: change(quarter.revenue, previous.revenue),
    });
  });

  it('by ISO week across a week 53, with --from/--to inclusive', () => {
    const report = salesReport('--from', '2020-12-21', '--to', '2021-01-10', '--by', 'week');
    expect(report.sales.map((r) => [r.period, r.count, r.revenue_cents])).toEqual([
      ['2020-W52', 1, 500],
      ['2020-W53', 2, 3_000],
      ['2021-W01', 1, 4_000],
    ]);
    expect(report.total).toMatchObject({ count: 4, revenue_cents: 7_500, previous_from: '2020-11-30', previous_to: '2020-12-20', previous_revenue_cents: 0, change: null });
  });

  it('by day, quarter and year agree with the sums', () => {
    const days = salesReport('--period', '2025-03', '--by', 'day');
    expect(days.sales).toHaveLength(31);
    for (const row of days.sales) expect(row.revenue_cents).toBe(sum((s) => s.sold_on === row.period).revenue);
    const quarters = salesReport('--period', '2024', '--by', 'quarter');
    expect(quarters.sales.map((r) => [r.period, r.revenue_cents])).toEqual(
      ['01', '04', '07', '10'].map((m, i) => [`2024-Q${i + 1}`, sum(inRange(`2024-${m}-01`, i === 3 ? '2025-01-01' : `2024-${['04', '07', '10'][i]}-01`)).revenue]),
    );
    const years = salesReport('--by', 'year');
    expect(years.sales.map((r) => [r.period, r.count])).toEqual(
      ['2020', '2021', '2022', '2023', '2024', '2025'].map((y) => [y, sum((s) => s.sold_on.startsWith(y)).count]),
    );
    // No period: all time, from the first sale to today, with nothing to compare against.
    expect(years.total).toMatchObject({ from: '2020-12-27', to: '2025-07-15', count: sum(() => true).count, previous_from: null, change: null });
  });

  it('last-30d runs to today against the 30 days before', () => {
    const report = salesReport('--period', 'last-30d', '--by', 'month');
    expect(report.total).toMatchObject({ from: '2025-06-16', to: '2025-07-15', revenue_cents: sum(inRange('2025-06-16', '2025-07-16')).revenue });
    expect(report.total.previous_revenue_cents).toBe(sum(inRange('2025-05-17', '2025-06-16')).revenue);
  });
});

describe('report sales by dimension', () => {
  it('by city, largest first, with the previous period per city', () => {
    const report = salesReport('--period', '2025', '--by', 'city');
    const cityOf = (id: number) => CUSTOMERS.find((c) => c.id === id)!.city ?? '(none)';
    const cities = [...new Set(CUSTOMERS.map((c) => c.city ?? '(none)'))];
    const expected = cities
      .map((city) => ({
        city,
        now: sum((s) => cityOf(s.customer_id) === city && s.sold_on.startsWith('2025')),
        before: sum((s) => cityOf(s.customer_id) === city && s.sold_on.startsWith('2024')),
      }))
      .filter((c) => c.now.count > 0)
      .sort((a, b) => b.now.revenue - a.now.revenue);
    expect(report.sales.map((r) => [r.city, r.count, r.revenue_cents, r.previous_revenue_cents, r.change])).toEqual(
      expected.map((c) => [c.city, c.now.count, c.now.revenue, c.before.revenue, change(c.now.revenue, c.before.revenue)]),
    );
  });

  it('by product and by customer, with --limit', () => {
    const products = salesReport('--period', '2024', '--by', 'product');
    const expected = PRODUCTS.map((p) => ({ p, ...sum((s) => s.product === p && s.sold_on.startsWith('2024')) })).sort((a, b) => b.revenue - a.revenue);
    expect(products.sales.map((r) => [r.product, r.count, r.revenue_cents])).toEqual(expected.map((e) => [e.p, e.count, e.revenue]));
    const customers = salesReport('--period', '2024', '--by', 'customer', '--limit', '2');
    const top = CUSTOMERS.map((c) => ({ c, ...sum((s) => s.customer_id === c.id && s.sold_on.startsWith('2024')) }))
      .sort((a, b) => b.revenue - a.revenue)
      .slice(0, 2);
    expect(customers.sales.map((r) => [r.customer, r.customer_id, r.revenue_cents])).toEqual(top.map((t) => [t.c.name, t.c.id, t.revenue]));
  });
});

describe('report sales --as-of --as-recorded (what crm had recorded by then)', () => {
  it('leaves out sales recorded later and keeps sales voided later', () => {
    const cutoff = '2025-03-16T00:00:00.000Z';
    const asOf = salesReport('--period', '2025-Q1', '--by', 'month', '--as-of', '2025-03-15', '--as-recorded');
    const expected = sum(inRange('2025-01-01', '2025-04-01'), cutoff);
    expect(asOf.total).toMatchObject({ count: expected.count, revenue_cents: expected.revenue });
    const today = salesReport('--period', '2025-Q1', '--by', 'month');
    // Today: the late 777.00 counts, the 555.00 voided on 1 April does not; as of 15 March the reverse.
    const now = sum(inRange('2025-01-01', '2025-04-01'));
    expect(today.total.revenue_cents).toBe(now.revenue);
    const recordedAfter = sum((s) => s.sold_on >= '2025-01-01' && s.sold_on < '2025-04-01' && s.created_at >= cutoff).revenue;
    expect(now.revenue - expected.revenue).toBe(recordedAfter - 55_500);
    expect(recordedAfter).toBeGreaterThanOrEqual(77_700);
  });

  it('over all time, by year and by city (the long-range paths)', () => {
    const cutoff = '2025-03-16T00:00:00.000Z';
    const years = salesReport('--by', 'year', '--as-of', '2025-03-15', '--as-recorded');
    expect(years.total).toMatchObject({ to: '2025-03-15', count: sum(() => true, cutoff).count, revenue_cents: sum(() => true, cutoff).revenue });
    const cities = salesReport('--by', 'city', '--as-of', '2025-03-15', '--as-recorded');
    const shanghai = sum((s) => s.customer_id === 1 || s.customer_id === 3, cutoff);
    expect(cities.sales.find((r) => r.city === 'Shanghai')).toMatchObject({ count: shanghai.count, revenue_cents: shanghai.revenue });
  });

  it('periods are relative to the as-of day', () => {
    const report = salesReport('--period', 'this-month', '--by', 'day', '--as-of', '2025-02-10');
    expect(report.total).toMatchObject({ from: '2025-02-01', to: '2025-02-10', previous_from: '2025-01-01', previous_to: '2025-01-10' });
    expect(report.sales).toHaveLength(10);
  });
});

describe('report sales formats and mistakes', () => {
  it('csv and md carry no bar; a table does', () => {
    const csv = box.ok(['report', 'sales', '--from', '2020-12-21', '--to', '2021-01-10', '--by', 'week', '--format', 'csv'], { env: NOW });
    expect(csv).toBe(
      [
        'period,count,gross_revenue,refunds,revenue,average_order,previous_revenue,change',
        '2020-W52,1,5.00,0.00,5.00,5.00,0.00,',
        '2020-W53,2,30.00,0.00,30.00,15.00,5.00,5',
        '2021-W01,1,40.00,0.00,40.00,40.00,30.00,0.3333333333333333',
        '',
      ].join('\r\n'),
    );
    const md = box.ok(['report', 'sales', '--from', '2020-12-21', '--to', '2021-01-10', '--by', 'week', '--format', 'md'], { env: NOW });
    expect(md).toContain('| Week | Sales | Gross | Refunds | Net revenue | Avg order | Prev week | Change |');
    expect(md).not.toMatch(/[█▏▎▍▌▋▊▉]/);
    const table = box.ok(['report', 'sales', '--from', '2020-12-21', '--to', '2021-01-10', '--by', 'week'], { env: NOW });
    expect(table).toContain('│ 2021-W01 │     1 │ 40.00 │    0.00 │       40.00 │     40.00 │     30.00 │  33.3% │ ████████████████████████ │');
    expect(table).toContain('│ 2020-W52 │     1 │  5.00 │    0.00 │        5.00 │      5.00 │      0.00 │        │ ███                      │');
  });

  it('--output writes the file atomically, nothing on stdout', () => {
    const path = join(box.dir, 'sales.csv');
    const result = box.run(['report', 'sales', '--period', '2025-Q1', '--format', 'csv', '--output', path], { env: NOW });
    expect(result).toMatchObject({ code: 0, stdout: '' });
    expect(readFileSync(path, 'utf8')).toMatch(/^period,count,gross_revenue,refunds,revenue/);
  });

  it('rejects period typos, conflicting flags and unknown groupings with exit 2', () => {
    const cases: [string[], RegExp][] = [
      [['--period', 'lsat-month'], /^error: --period "lsat-month" is not a period\nhint: use one of: today, yesterday, this-week, .*2025-Q1, 2025-03/m],
      [['--period', '2025-W53'], /2025 has ISO weeks 1 to 52/],
      [['--period', '2025', '--from', '2025-01-01'], /^error: --period cannot be combined with --from\/--to$/m],
      [['--from', '2021-02-30'], /^error: --from "2021-02-30" is not a real calendar day$/m],
      [['--from', '2025-03-02', '--to', '2025-03-01'], /is after --to/],
      [['--by', 'weekday'], /^error: --by "weekday" is not one of/m],
      [['--as-of', 'someday'], /^error: --as-of "someday" is not a date$/m],
    ];
    for (const [args, message] of cases) {
      const result = box.run(['report', 'sales', ...args], { env: NOW });
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe('');
    }
    expect(box.run(['report', 'customers', '--period', 'nope'], { env: NOW }).code).toBe(2);
    expect(box.run(['report', 'summary', '--period', '2025-Q0'], { env: NOW }).code).toBe(2);
  });
});

describe('report customers', () => {
  it('new, active and churned against the previous period, and top customers by lifetime value', () => {
    const own = copyOf(box);
    own.ok(['config', 'set', 'churn_days', '60']);
    const report = JSON.parse(own.ok(['report', 'customers', '--period', '2025-Q2', '--top', '3', '--format', 'json'], { env: NOW })) as {
      customers: { metric: string; current: number; previous: number }[];
      top: { rank: number; customer_id: number; orders: number; lifetime_value_cents: number; last_purchase: string }[];
    };
    const movement = (from: string, to: string) => {
      const threshold = new Date(Date.parse(`${to}T00:00:00Z`) - 60 * 86_400_000).toISOString().slice(0, 10);
      const lowest = new Date(Date.parse(`${from}T00:00:00Z`) - 60 * 86_400_000).toISOString().slice(0, 10);
      const last = new Map<number, string>();
      for (const s of SALES) if (live(s) && s.sold_on < to && (last.get(s.customer_id) ?? '') < s.sold_on) last.set(s.customer_id, s.sold_on);
      return {
        total: CUSTOMERS.filter((c) => c.created_at < `${to}T00:00:00.000Z`).length,
        new: CUSTOMERS.filter((c) => c.created_at >= `${from}T00:00:00.000Z` && c.created_at < `${to}T00:00:00.000Z`).length,
        active: new Set(SALES.filter((s) => live(s) && s.sold_on >= from && s.sold_on < to).map((s) => s.customer_id)).size,
        churned: [...last.values()].filter((d) => d < threshold).length,
        churned_in_period: [...last.values()].filter((d) => d >= lowest && d < threshold).length,
      };
    };
    const now = movement('2025-04-01', '2025-07-01');
    const before = movement('2025-01-01', '2025-04-01');
    expect(Object.fromEntries(report.customers.map((m) => [m.metric, [m.current, m.previous]]))).toEqual(
      Object.fromEntries(Object.keys(now).map((k) => [k, [now[k as keyof typeof now], before[k as keyof typeof before]]])),
    );
    // Gone Quiet bought on 15 March: churned during Q2 with churn_days 60.
    expect(now.churned_in_period).toBeGreaterThanOrEqual(1);
    const lifetime = CUSTOMERS.map((c) => {
      const mine = SALES.filter((s) => live(s) && s.customer_id === c.id && s.sold_on < '2025-07-01');
      return { id: c.id, orders: mine.length, value: mine.reduce((a, s) => a + s.amount_cents, 0), last: mine.map((s) => s.sold_on).sort().at(-1) };
    }).sort((a, b) => b.value - a.value);
    expect(report.top.map((t) => [t.rank, t.customer_id, t.orders, t.lifetime_value_cents, t.last_purchase])).toEqual(
      lifetime.slice(0, 3).map((l, i) => [i + 1, l.id, l.orders, l.value, l.last]),
    );
  });
});

describe('report summary', () => {
  it('KPIs on one screen, with tickets and CSAT read straight from their tables', () => {
    const own = copyOf(box);
    own.ok(['deal', 'add', '--customer', '1', '--title', 'Office tea', '--value', '10,000', '--stage', 'proposal'], { env: NOW });
    const opened = '2025-06-01T00:00:00.000Z';
    own.insert('tickets', ['open', 'pending', 'open', 'resolved'].map((status) => ({ customer_id: 1, subject: 'x', priority: 'normal', kind: 'question', status, opened_at: opened, updated_at: opened })));
    const rating = (score: number, superseded_at: string | null) => ({ ticket_id: 4, score, rated_at: '2025-06-02T00:00:00.000Z', superseded_at });
    own.insert('ticket_ratings', [rating(1, '2025-06-03T00:00:00.000Z'), ...[5, 4, 2].map((score) => rating(score, null))]);
    const summary = (JSON.parse(own.ok(['report', 'summary', '--period', '2025-06', '--format', 'json'], { env: NOW })) as { summary: Record<string, unknown> }).summary;
    const june = sum(inRange('2025-06-01', '2025-07-01'));
    const may = sum(inRange('2025-05-01', '2025-06-01'));
    expect(summary).toMatchObject({
      from: '2025-06-01',
      to: '2025-06-30',
      customers: CUSTOMERS.filter((c) => c.created_at < '2025-07-01').length,
      new_customers: 0,
      orders: june.count,
      revenue_cents: june.revenue,
      previous_revenue_cents: may.revenue,
      revenue_change: change(june.revenue, may.revenue),
      open_deals: 1,
      open_deal_value_cents: 1_000_000,
      weighted_pipeline_cents: 500_000,
      open_tickets: 3,
      ratings: 3,
      csat: 2 / 3,
      average_score: 11 / 3,
    });
    const table = own.ok(['report', 'summary', '--period', '2025-06'], { env: NOW });
    expect(table).toMatch(/CSAT \(4-5 of 5\)\s+66\.7%/);
  });
});

describe('report forecast', () => {
  let f: Sandbox;
  beforeAll(() => {
    f = sandbox();
    f.ok(['init']);
    f.insert('customers', [{ id: 1, name: 'Li Wei', created_at: '2024-01-01T00:00:00.000Z', updated_at: '2024-01-01T00:00:00.000Z' }]);
    const sale = (amount_cents: number, sold_on: string) => ({ customer_id: 1, product: 'Tea', amount_cents, sold_on, created_at: `${sold_on}T10:00:00.000Z` });
    // 2024-07 … 2025-06: 1,000.00, 1,100.00, … 2,100.00 (two sales a month), and a sale in the running month.
    const sales = [];
    for (let t = 0; t < 12; t++) {
      const month = new Date(Date.UTC(2024, 6 + t, 1)).toISOString().slice(0, 7);
      sales.push(sale(60_000 + 10_000 * t, `${month}-03`), sale(40_000, `${month}-20`));
    }
    sales.push(sale(99_999_00, '2025-07-02'));
    f.insert('sales', sales);
  });
  afterAll(() => f.cleanup());

  it("names Holt's method, forecasts the trend and shows the backtest beside a naive forecast", () => {
    const report = JSON.parse(f.ok(['report', 'forecast', '--months', '2', '--format', 'json'], { env: NOW })) as {
      method: Record<string, unknown>;
      forecast: { month: string; forecast_cents: number }[];
      backtest: { month: string; actual_cents: number; forecast_cents: number; naive_cents: number }[];
    };
    expect(report.method).toMatchObject({ method: "Holt's linear trend", history_from: '2024-07', history_to: '2025-06', history_months: 12, held_out_months: 3, mape: 0 });
    // Naive repeats March's 1,800.00 for 1,900, 2,000 and 2,100.
    expect(report.method.naive_mape).toBeCloseTo((100 / 1900 + 200 / 2000 + 300 / 2100) / 3, 12);
    expect(report.forecast).toEqual([
      { month: '2025-07', forecast: '2200.00', forecast_cents: 220_000 },
      { month: '2025-08', forecast: '2300.00', forecast_cents: 230_000 },
    ]);
    expect(report.backtest.map((b) => [b.month, b.actual_cents, b.forecast_cents, b.naive_cents])).toEqual([
      ['2025-04', 190_000, 190_000, 180_000],
      ['2025-05', 200_000, 200_000, 180_000],
      ['2025-06', 210_000, 210_000, 180_000],
    ]);
    expect(f.ok(['report', 'forecast'], { env: NOW })).toContain("Holt's linear trend");
  });

  it('too little history is a clear error (exit 1), not a made-up number', () => {
    const result = f.run(['report', 'forecast', '--as-of', '2024-12-15'], { env: NOW });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'error: not enough history for a forecast: 5 complete months of sales (2024-07 to 2024-11); at least 6 are needed\nhint: record or import older sales; the current month counts once it has ended\n',
    );
    expect(f.run(['report', 'forecast', '--months', '0'], { env: NOW }).code).toBe(2);
  });
});
