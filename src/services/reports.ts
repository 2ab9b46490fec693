// The reports a business owner opens on Monday and a cron job mails every night: sales by time or
// dimension with the change against the previous period, the deal pipeline, a revenue forecast,
// customer movement and the one-screen summary. Every report can be computed "as of" the end of a
// past day: sales created or voided after it and deal moves made after it are left out.
// The sales aggregates run as prepared statements on covering indexes (which carry voided_at, so
// live sales are told apart without the table): these are the queries that must stay fast on
// millions of rows.
import type Database from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { customerLabelSql } from '../db/customer-label.js';
import { lastPurchaseSql, orderCountSql } from '../db/sale-orders.js';
import { sqliteOf } from '../db/connection.js';
import type { DB } from '../db/schema.js';
import { addDays, daysBetween, startOfLocalDay } from '../domain/dates.js';
import { FUNNEL, STAGES, effectiveProbability, isClosed, weightedCents, type Stage } from '../domain/deals.js';
import { ValidationError } from '../domain/errors.js';
import { ACTIVE_STATUSES_LIST } from '../domain/tickets.js';
import { MIN_HISTORY, forecastMonthly } from '../domain/forecast.js';
import {
  addMonths,
  isoWeekLabel,
  quarterLabel,
  startOfIsoWeek,
  startOfMonth,
  startOfQuarter,
  startOfYear,
  type DayRange,
  type Period,
} from '../domain/periods.js';
import { probabilityDefaults } from './deals.js';
import { getSetting } from './config.js';
import { allSegmentConditions, segmentCondition } from './segments.js';

/** When a report stands: `today` is the local day periods are relative to; `cutoff` (ISO instant)
 * is the end of the `--as-of` day, or null for "everything recorded so far". */
export interface AsOf {
  today: string;
  cutoff: string | null;
}

type CoveringIndex = 'sales_day' | 'sales_customer_day';

/**
 * How to read `sales` for an aggregate over `range` (null: everything up to a day). Today's figures
 * read a covering index, pinned with INDEXED BY (so a planner never prefers the table): `short` for a short range, `long`
 * when the range spans much of the data. As-of figures need created_at and voided_at, which no index
 * covers: a long range then scans the table once rather than jumping to it per row.
 */
function salesSource(
  sqlite: Database.Database,
  asOf: AsOf,
  range: DayRange | null,
  short: CoveringIndex | null,
  long: CoveringIndex | null = short,
  alias = '',
): string {
  const isLong = range === null || longRange(sqlite, range);
  const index = isLong ? long : short;
  const table = alias ? `sales AS ${alias}` : 'sales';
  if (asOf.cutoff === null && index !== null) return `${table} INDEXED BY ${index}`;
  return isLong ? `${table} NOT INDEXED` : table;
}

/** SQL condition for sales that count: not voided (as of the cutoff) and recorded by then. */
function liveSales(asOf: AsOf, alias = ''): { sql: string; params: string[] } {
  const p = alias ? `${alias}.` : '';
  if (asOf.cutoff === null) return { sql: `${p}voided_at IS NULL`, params: [] };
  return { sql: `${p}created_at < ? AND (${p}voided_at IS NULL OR ${p}voided_at >= ?)`, params: [asOf.cutoff, asOf.cutoff] };
}

// Refund rows carry a negative amount. Every revenue figure is net of them, and they are no sale of
// their own. The four aggregates over `sales` rows, each optionally only where `when` holds:
/** Sales counted: refund rows are not sales. */
const saleCountSql = (when?: string): string => `sum(CASE WHEN ${when ? `${when} AND ` : ''}amount_cents >= 0 THEN 1 ELSE 0 END)`;
/** Net revenue: sales less refunds. */
const netRevenueSql = (when?: string): string => (when ? `sum(CASE WHEN ${when} THEN amount_cents ELSE 0 END)` : 'sum(amount_cents)');
/** Refunds, as a positive amount. */
const refundsSql = (when?: string): string => `sum(CASE WHEN ${when ? `${when} AND ` : ''}amount_cents < 0 THEN -amount_cents ELSE 0 END)`;
/**
 * Orders (for average order value): lines of one order_id count once. Reading order_id costs a table
 * lookup per row (no covering index has it), so only when some sale has one; else each sale is an order.
 * Returns the SQL and how many times `when` (and its parameters) appears in it.
 */
function ordersSql(sqlite: Database.Database, when?: string): { sql: string; uses: number } {
  const hasOrders = sqlite.prepare('SELECT 1 FROM sales WHERE order_id IS NOT NULL LIMIT 1').get() !== undefined;
  return hasOrders ? { sql: orderCountSql('', when), uses: when ? 2 : 0 } : { sql: saleCountSql(when), uses: when ? 1 : 0 };
}
/** Gross revenue: the sales before refunds. */
const grossRevenue = (agg: { t: number; r: number }): number => agg.t + agg.r;

/** What `--by customer` shows for sales without a customer: guest sales and those of deleted customers. */
export const NO_CUSTOMER_LABEL = '(no customer)';

/** An extra SQL condition on unaliased `sales` rows with its bound parameters (`--segment`). */
interface SalesFilter {
  sql: string;
  params: unknown[];
}

const andFilter = (filter: SalesFilter | null): string => (filter ? ` AND ${filter.sql}` : '');
const filterParams = (filter: SalesFilter | null): unknown[] => (filter ? filter.params : []);

/** `--segment NAME`: only sales of the segment's current members (NotFoundError for an unknown segment). */
async function segmentSalesFilter(db: Kysely<DB>, name: string, now: Date): Promise<SalesFilter> {
  const condition = await segmentCondition(db, name, now);
  const members = db.selectFrom('customers').select('customers.id').where(condition).compile();
  return { sql: `customer_id IN (${members.sql})`, params: [...members.parameters] };
}

// ---------------------------------------------------------------------------------------------
// report sales

export const SALES_BY = ['day', 'week', 'month', 'quarter', 'year', 'product', 'customer', 'city', 'segment'] as const;
export type SalesBy = (typeof SALES_BY)[number];
const TIME_BY: ReadonlySet<SalesBy> = new Set(['day', 'week', 'month', 'quarter', 'year']);

export interface SalesRow {
  key: string;
  customer_id?: number | null;
  /** By customer: the customer's email and external id (null for sales without a customer). */
  email?: string | null;
  external_id?: string | null;
  /** By product: the shop's stock code (products with one are keyed by it, named by its latest sale). */
  sku?: string | null;
  /** By product: units sold. */
  units?: number;
  /** Sales (refund rows are not counted). */
  count: number;
  gross_revenue: number;
  refunds: number;
  /** Net: gross less refunds. */
  revenue: number;
  average_order: number | null;
  previous_revenue: number | null;
  change: number | null;
}

export interface SalesReport {
  by: SalesBy;
  /** First day covered (null when there are no sales at all), last day (inclusive). */
  from: string | null;
  last: string;
  previous: DayRange | null;
  rows: SalesRow[];
  total: {
    count: number;
    gross_revenue: number;
    refunds: number;
    revenue: number;
    /** Orders (lines of one order_id count once), behind average_order; not a column of the report. */
    orders: number;
    average_order: number | null;
    previous_count: number | null;
    previous_revenue: number | null;
    change: number | null;
  };
}

interface Bucketing {
  label(day: string): string;
  start(day: string): string;
  next(start: string): string;
  previous(start: string): string;
}

const BUCKETS: Record<'day' | 'week' | 'month' | 'quarter' | 'year', Bucketing> = {
  day: { label: (d) => d, start: (d) => d, next: (s) => addDays(s, 1), previous: (s) => addDays(s, -1) },
  week: { label: isoWeekLabel, start: startOfIsoWeek, next: (s) => addDays(s, 7), previous: (s) => addDays(s, -7) },
  month: { label: (d) => d.slice(0, 7), start: startOfMonth, next: (s) => addMonths(s, 1), previous: (s) => addMonths(s, -1) },
  quarter: { label: quarterLabel, start: startOfQuarter, next: (s) => addMonths(s, 3), previous: (s) => addMonths(s, -3) },
  year: { label: (d) => d.slice(0, 4), start: startOfYear, next: (s) => addMonths(s, 12), previous: (s) => addMonths(s, -12) },
};

const ratio = (now: number, before: number | null): number | null => (before === null || before === 0 ? null : (now - before) / before);
const average = (revenue: number, count: number): number | null => (count > 0 ? Math.round(revenue / count) : null);

/** Sales counted, net revenue, refunds, orders. */
interface Agg {
  n: number;
  t: number;
  r: number;
  o: number;
}
const NO_SALES: Readonly<Agg> = { n: 0, t: 0, r: 0, o: 0 };

/** First day with a live sale, or null. */
function firstSaleDay(sqlite: Database.Database, asOf: AsOf, filter: SalesFilter | null = null): string | null {
  const live = liveSales(asOf);
  const row = sqlite
    .prepare(`SELECT min(sold_on) AS first FROM ${asOf.cutoff === null ? 'sales INDEXED BY sales_day' : 'sales'} WHERE ${live.sql}${andFilter(filter)}`)
    .get(...live.params, ...filterParams(filter)) as { first: string | null };
  return row.first;
}

function dailyTotals(sqlite: Database.Database, asOf: AsOf, from: string, to: string, filter: SalesFilter | null = null): Map<string, Agg> {
  const live = liveSales(asOf);
  const rows = sqlite
    .prepare(`SELECT sold_on AS d, ${saleCountSql()} AS n, ${netRevenueSql()} AS t, ${refundsSql()} AS r, ${ordersSql(sqlite).sql} AS o FROM ${salesSource(sqlite, asOf, { from, to }, 'sales_day')}
              WHERE ${live.sql} AND sold_on >= ? AND sold_on < ?${andFilter(filter)} GROUP BY sold_on`)
    .raw()
    .all(...live.params, from, to, ...filterParams(filter)) as [string, number, number, number, number][];
  return new Map(rows.map(([d, n, t, r, o]) => [d, { n, t, r, o }]));
}

function addAgg(sum: Agg, agg: Agg): Agg {
  sum.n += agg.n;
  sum.t += agg.t;
  sum.r += agg.r;
  sum.o += agg.o;
  return sum;
}

function sumDays(daily: Map<string, Agg>, from: string, to: string): Agg {
  const total = { ...NO_SALES };
  for (const [day, agg] of daily) {
    if (day >= from && day < to) addAgg(total, agg);
  }
  return total;
}

/** Does the range cover more than a quarter of the days that have live sales? */
function longRange(sqlite: Database.Database, range: DayRange): boolean {
  const span = sqlite.prepare(`SELECT (SELECT min(sold_on) FROM sales) AS first, (SELECT max(sold_on) FROM sales) AS last`).get() as { first: string | null; last: string | null };
  if (span.first === null || span.last === null) return false;
  const last = addDays(span.last, 1);
  const from = range.from > span.first ? range.from : span.first;
  const to = range.to < last ? range.to : last;
  if (to <= from) return false;
  return daysBetween(from, to) * 4 > daysBetween(span.first, last);
}

interface DimensionRow {
  key: string;
  customer_id?: number | null;
  sku?: string | null;
  units?: number;
  email?: string | null;
  external_id?: string | null;
  n: number;
  t: number;
  r: number;
  o: number;
}

/** Per customer: live sales and their sum in the range (SQL, to be placed in parentheses). */
function perCustomerTotals(sqlite: Database.Database, asOf: AsOf, range: DayRange, filter: SalesFilter | null): SalesFilter {
  const live = liveSales(asOf);
  return {
    sql: `SELECT customer_id, ${saleCountSql()} AS n, ${netRevenueSql()} AS t, ${refundsSql()} AS r, ${ordersSql(sqlite).sql} AS o FROM ${salesSource(sqlite, asOf, range, 'sales_day', 'sales_customer_day')}
          WHERE ${live.sql} AND sold_on >= ? AND sold_on < ?${andFilter(filter)} GROUP BY customer_id`,
    params: [...live.params, range.from, range.to, ...filterParams(filter)],
  };
}

function dimensionTotals(sqlite: Database.Database, asOf: AsOf, by: 'product' | 'customer' | 'city', range: DayRange, filter: SalesFilter | null): DimensionRow[] {
  const live = liveSales(asOf);
  const params = [...live.params, range.from, range.to, ...filterParams(filter)];
  // Aggregate per customer first, then look up one row per customer, not one per sale. Over a long
  // range the per-customer index is read in order; over a short one, the range of the day index.
  const perCustomer = perCustomerTotals(sqlite, asOf, range, filter).sql;
  if (by === 'product') {
    return sqlite
      // Keyed by SKU where there is one, named by the product of its latest sale (max(id) makes the
      // bare `product` column come from that row); without a SKU, by the product's name.
      .prepare(`SELECT product AS key, sku, ${saleCountSql()} AS n, ${netRevenueSql()} AS t, ${refundsSql()} AS r, ${ordersSql(sqlite).sql} AS o, sum(quantity) AS units, max(id) AS latest
                FROM ${salesSource(sqlite, asOf, range, null)}
                WHERE ${live.sql} AND sold_on >= ? AND sold_on < ?${andFilter(filter)} GROUP BY sku, iif(sku IS NULL, product, NULL)`)
      .all(...params)
      .map((r) => {
        const { latest: _, ...row } = r as DimensionRow & { latest: number };
        return row;
      });
  }
  if (by === 'city') {
    return sqlite
      .prepare(`SELECT coalesce(c.city, '(none)') AS key, sum(x.n) AS n, sum(x.t) AS t, sum(x.r) AS r, sum(x.o) AS o FROM (${perCustomer}) x
                LEFT JOIN customers c ON c.id = x.customer_id GROUP BY coalesce(c.city, '(none)')`)
      .all(...params) as DimensionRow[];
  }
  return sqlite
    .prepare(`SELECT coalesce(${customerLabelSql('c')}, '${NO_CUSTOMER_LABEL}') AS key, x.customer_id AS customer_id, c.email AS email, c.external_id AS external_id, x.n AS n, x.t AS t, x.r AS r, x.o AS o FROM (${perCustomer}) x
              LEFT JOIN customers c ON c.id = x.customer_id`)
    .all(...params) as DimensionRow[];
}

interface CompiledSegment {
  name: string;
  sql: string;
  params: readonly unknown[];
}

/**
 * Live sales of the members of each segment, in each of the ranges (the period and the one before).
 * One pass: sales over the span of the ranges are summed per customer and range, then each customer
 * who bought is tested once against every segment (a customer in several segments counts in each).
 */
function segmentTotals(sqlite: Database.Database, asOf: AsOf, ranges: readonly DayRange[], filter: SalesFilter | null, segments: readonly CompiledSegment[]): DimensionRow[][] {
  if (segments.length === 0) return ranges.map(() => []);
  const span = { from: ranges.reduce((a, r) => (r.from < a ? r.from : a), ranges[0]!.from), to: ranges.reduce((a, r) => (r.to > a ? r.to : a), ranges[0]!.to) };
  const live = liveSales(asOf);
  const inRange = 'sold_on >= ? AND sold_on < ?';
  const orders = ordersSql(sqlite, inRange);
  const perRange = ranges.map((_, j) => `${saleCountSql(inRange)} AS n${j}, ${netRevenueSql(inRange)} AS t${j}, ${refundsSql(inRange)} AS r${j}, ${orders.sql} AS o${j}`).join(', ');
  const perCustomer = `SELECT customer_id, ${perRange} FROM ${salesSource(sqlite, asOf, span, 'sales_day', 'sales_customer_day')}
                       WHERE ${live.sql} AND ${inRange}${andFilter(filter)} GROUP BY customer_id`;
  const perCustomerParams = [...ranges.flatMap((r) => Array.from({ length: 3 + orders.uses }, () => [r.from, r.to]).flat()), ...live.params, span.from, span.to, ...filterParams(filter)];
  // Sales in the gap between non-adjacent ranges (month-to-date against last month's same days) count in neither.
  const bought = ranges.map((_, j) => `p.n${j} > 0 OR p.r${j} > 0`).join(' OR ');
  const flags = segments.map((s, i) => `CASE WHEN ${s.sql} THEN 1 ELSE 0 END AS m${i}`).join(', ');
  const columns = ranges.map((_, j) => `p.n${j} AS n${j}, p.t${j} AS t${j}, p.r${j} AS r${j}, p.o${j} AS o${j}`).join(', ');
  const sums = segments.flatMap((_, i) => ranges.map((_, j) => `sum(x.m${i} * x.n${j}), sum(x.m${i} * x.t${j}), sum(x.m${i} * x.r${j}), sum(x.m${i} * x.o${j})`)).join(', ');
  const row = sqlite
    .prepare(`SELECT ${sums} FROM (SELECT ${columns}, ${flags} FROM (${perCustomer}) p JOIN customers c ON c.id = p.customer_id WHERE ${bought}) x`)
    .raw()
    .get(...segments.flatMap((s) => s.params), ...perCustomerParams) as (number | null)[];
  const at = (i: number, j: number, k: number) => row[(i * ranges.length + j) * 4 + k] ?? 0;
  return ranges.map((_, j) => segments.map((s, i) => ({ key: s.name, n: at(i, j, 0), t: at(i, j, 1), r: at(i, j, 2), o: at(i, j, 3) })));
}

export interface SalesReportInput {
  period: Period;
  by: SalesBy;
  asOf: AsOf;
  limit?: number | undefined;
  /** Only the sales of this segment's members (evaluated at `now`). */
  segment?: string | undefined;
  /** When segments are evaluated (`--by segment`, `segment`): membership is as of this instant. */
  now?: Date | undefined;
}

export async function salesReport(db: Kysely<DB>, input: SalesReportInput): Promise<SalesReport> {
  const sqlite = sqliteOf(db);
  const { period, by, asOf } = input;
  const needsNow = by === 'segment' || input.segment !== undefined;
  if (needsNow && input.now === undefined) throw new Error('salesReport: segments need `now`');
  const filter = input.segment !== undefined ? await segmentSalesFilter(db, input.segment, input.now!) : null;
  // Compiled before anything is read, so a segment that cannot be evaluated fails the report early.
  const segments: CompiledSegment[] =
    by === 'segment'
      ? (await allSegmentConditions(db, input.now!, 'c')).map(({ name, condition }) => {
          const compiled = condition.compile(db);
          return { name, sql: compiled.sql, params: compiled.parameters };
        })
      : [];
  const from = period.from ?? firstSaleDay(sqlite, asOf, filter);
  const last = addDays(period.to, -1);
  const previous = period.previous;
  if (from === null) {
    const empty = (key: string): SalesRow => ({ key, count: 0, gross_revenue: 0, refunds: 0, revenue: 0, average_order: null, previous_revenue: null, change: null });
    return { by, from: null, last, previous, rows: segments.map((s) => empty(s.name)), total: totals({ ...NO_SALES }, null) };
  }
  const range = { from, to: period.to };

  if (TIME_BY.has(by)) {
    const bucket = BUCKETS[by as keyof typeof BUCKETS];
    const firstStart = bucket.start(from);
    // The bucket before the first one, so the first row has a change too.
    const before = bucket.previous(firstStart);
    const queryFrom = previous && previous.from < before ? previous.from : before;
    const daily = dailyTotals(sqlite, asOf, queryFrom, period.to, filter);
    // One pass over the days: each day of the range into its bucket (a first bucket that starts
    // before `from` only counts its days from `from` on).
    const buckets = new Map<string, Agg>();
    for (const [day, agg] of daily) {
      if (day < from || day >= period.to) continue;
      const start = bucket.start(day);
      buckets.set(start, addAgg(buckets.get(start) ?? { ...NO_SALES }, agg));
    }
    const rows: SalesRow[] = [];
    let previousBucket = sumDays(daily, before, firstStart);
    for (let start = firstStart; start < period.to; start = bucket.next(start)) {
      const agg = buckets.get(start) ?? NO_SALES;
      rows.push({
        key: bucket.label(start),
        count: agg.n,
        gross_revenue: grossRevenue(agg),
        refunds: agg.r,
        revenue: agg.t,
        average_order: average(agg.t, agg.o),
        previous_revenue: previousBucket.t,
        change: ratio(agg.t, previousBucket.t),
      });
      previousBucket = agg;
    }
    const total = sumDays(daily, from, period.to);
    const prev = previous ? sumDays(daily, previous.from, previous.to) : null;
    return { by, from, last, previous, rows, total: totals(total, prev) };
  }

  if (by === 'segment') {
    // Segments overlap and leave customers out: the total is every sale in the range, not the
    // sum of the rows; every saved segment gets a row, with no sales too.
    const [current = [], before = []] = segmentTotals(sqlite, asOf, previous ? [range, previous] : [range], filter, segments);
    const daily = dailyTotals(sqlite, asOf, previous && previous.from < range.from ? previous.from : range.from, range.to, filter);
    const total = sumDays(daily, range.from, range.to);
    const prevTotal = previous ? sumDays(daily, previous.from, previous.to) : null;
    return { by, from, last, previous, rows: dimensionRows(current, before, previous !== null, (r) => r.key, false, input.limit), total: totals(total, prevTotal) };
  }

  const dim = by as 'product' | 'customer' | 'city';
  const current = dimensionTotals(sqlite, asOf, dim, range, filter);
  const before = previous ? dimensionTotals(sqlite, asOf, dim, previous, filter) : [];
  const keyOf = (r: DimensionRow) => (dim === 'customer' ? `#${r.customer_id ?? ''}` : dim === 'product' && r.sku ? `sku:${r.sku}` : r.key);
  const total = current.reduce((acc, row) => addAgg(acc, row), { ...NO_SALES });
  const prevTotal = previous ? before.reduce((acc, row) => addAgg(acc, row), { ...NO_SALES }) : null;
  return { by, from, last, previous, rows: dimensionRows(current, before, previous !== null, keyOf, dim === 'customer', input.limit), total: totals(total, prevTotal) };
}

/** Rows of a `--by` dimension, largest revenue first, with each key's revenue in the previous period. */
function dimensionRows(
  current: DimensionRow[],
  before: DimensionRow[],
  hasPrevious: boolean,
  keyOf: (r: DimensionRow) => string,
  withCustomerId: boolean,
  limit: number | undefined,
): SalesRow[] {
  const previousByKey = new Map(before.map((r) => [keyOf(r), r]));
  return current
    .sort((a, b) => b.t - a.t || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) || (a.customer_id ?? 0) - (b.customer_id ?? 0))
    .slice(0, limit ?? current.length)
    .map((r) => {
      const p = hasPrevious ? (previousByKey.get(keyOf(r))?.t ?? 0) : null;
      return {
        key: r.key,
        ...(withCustomerId ? { customer_id: r.customer_id ?? null, email: r.email ?? null, external_id: r.external_id ?? null } : {}),
        ...(r.units !== undefined ? { sku: r.sku ?? null, units: r.units } : {}),
        count: r.n,
        gross_revenue: grossRevenue(r),
        refunds: r.r,
        revenue: r.t,
        average_order: average(r.t, r.o),
        previous_revenue: p,
        change: ratio(r.t, p),
      };
    });
}

function totals(total: Agg, prev: Agg | null): SalesReport['total'] {
  return {
    count: total.n,
    gross_revenue: grossRevenue(total),
    refunds: total.r,
    revenue: total.t,
    orders: total.o,
    average_order: average(total.t, total.o),
    previous_count: prev ? prev.n : null,
    previous_revenue: prev ? prev.t : null,
    change: prev ? ratio(total.t, prev.t) : null,
  };
}

// ---------------------------------------------------------------------------------------------
// report pipeline

export interface StageRow {
  stage: Stage;
  deals: number;
  value: number;
  weighted: number;
  /** Deals that ever reached this stage (a deal that skipped a stage passed through it). */
  reached: number;
  /** Share of those that reached the next stage of the funnel (null for won and lost). */
  conversion: number | null;
  /** Average days spent in this stage, over stays that have ended (null when none has). */
  avg_days: number | null;
}

export interface CloseMonthRow {
  close_month: string;
  deals: number;
  value: number;
  weighted: number;
}

export interface PipelineReport {
  stages: StageRow[];
  summary: {
    open_deals: number;
    open_value: number;
    weighted_value: number;
    won_deals: number;
    won_value: number;
    lost_deals: number;
    lost_value: number;
    win_rate: number | null;
  };
  byCloseMonth: CloseMonthRow[];
}

interface DealAsOf {
  id: number;
  stage: Stage;
  value: number;
  probability: number;
  close_date: string | null;
  /** Stages entered, in order, with when. */
  history: { stage: Stage; at: string }[];
}

/** Every deal as it stood at the cutoff: its stage from the history, its probability. */
async function dealsAsOf(db: Kysely<DB>, asOf: AsOf): Promise<DealAsOf[]> {
  let dealQuery = db.selectFrom('deals').select(['id', 'stage', 'value_cents', 'probability', 'close_date', 'created_at']);
  let historyQuery = db.selectFrom('deal_stage_history').select(['deal_id', 'to_stage', 'at']);
  if (asOf.cutoff !== null) {
    dealQuery = dealQuery.where('created_at', '<', asOf.cutoff);
    historyQuery = historyQuery.where('at', '<', asOf.cutoff);
  }
  const [deals, history, defaults] = await Promise.all([dealQuery.execute(), historyQuery.orderBy('at').orderBy('id').execute(), probabilityDefaults(db)]);
  const byDeal = new Map<number, { stage: Stage; at: string }[]>();
  for (const h of history) {
    const list = byDeal.get(h.deal_id) ?? [];
    list.push({ stage: h.to_stage as Stage, at: h.at });
    byDeal.set(h.deal_id, list);
  }
  return deals.map((d) => {
    const entries = byDeal.get(d.id) ?? [];
    const stage = (entries.at(-1)?.stage ?? d.stage) as Stage;
    // A deal's own probability belongs to the stage it is in now; in an earlier stage, use the default.
    const own = stage === d.stage ? d.probability : null;
    return {
      id: d.id,
      stage,
      value: d.value_cents,
      probability: effectiveProbability(stage, own, defaults),
      close_date: d.close_date,
      history: entries.length > 0 ? entries : [{ stage, at: d.created_at }],
    };
  });
}

export async function pipelineReport(db: Kysely<DB>, asOf: AsOf): Promise<PipelineReport> {
  const deals = await dealsAsOf(db, asOf);
  const rank = (s: Stage) => (FUNNEL as readonly string[]).indexOf(s);
  const stays = new Map<Stage, number[]>();
  const reached = new Map<Stage, number>();
  for (const deal of deals) {
    let furthest = -1;
    deal.history.forEach((h, i) => {
      furthest = Math.max(furthest, rank(h.stage));
      const next = deal.history[i + 1];
      if (next) {
        const list = stays.get(h.stage) ?? [];
        list.push((Date.parse(next.at) - Date.parse(h.at)) / 86_400_000);
        stays.set(h.stage, list);
      }
    });
    for (const s of FUNNEL) if (rank(s) <= furthest) reached.set(s, (reached.get(s) ?? 0) + 1);
    if (deal.history.some((h) => h.stage === 'lost')) reached.set('lost', (reached.get('lost') ?? 0) + 1);
  }
  const stages: StageRow[] = STAGES.map((stage) => {
    const inStage = deals.filter((d) => d.stage === stage);
    const value = inStage.reduce((a, d) => a + d.value, 0);
    const weighted = inStage.reduce((a, d) => a + weightedCents(d.value, d.probability), 0);
    const r = reached.get(stage) ?? 0;
    const nextStage = isClosed(stage) ? null : FUNNEL[rank(stage) + 1]!;
    const durations = stays.get(stage) ?? [];
    return {
      stage,
      deals: inStage.length,
      value,
      weighted,
      reached: r,
      conversion: nextStage === null || r === 0 ? null : (reached.get(nextStage) ?? 0) / r,
      avg_days: durations.length > 0 ? durations.reduce((a, b) => a + b, 0) / durations.length : null,
    };
  });
  const open = deals.filter((d) => !isClosed(d.stage));
  const won = deals.filter((d) => d.stage === 'won');
  const lost = deals.filter((d) => d.stage === 'lost');
  const months = new Map<string, CloseMonthRow>();
  for (const d of open) {
    const key = d.close_date ? d.close_date.slice(0, 7) : '(no date)';
    const row = months.get(key) ?? { close_month: key, deals: 0, value: 0, weighted: 0 };
    row.deals++;
    row.value += d.value;
    row.weighted += weightedCents(d.value, d.probability);
    months.set(key, row);
  }
  return {
    stages,
    summary: {
      open_deals: open.length,
      open_value: open.reduce((a, d) => a + d.value, 0),
      weighted_value: open.reduce((a, d) => a + weightedCents(d.value, d.probability), 0),
      won_deals: won.length,
      won_value: won.reduce((a, d) => a + d.value, 0),
      lost_deals: lost.length,
      lost_value: lost.reduce((a, d) => a + d.value, 0),
      win_rate: won.length + lost.length > 0 ? won.length / (won.length + lost.length) : null,
    },
    byCloseMonth: [...months.values()].sort((a, b) => (a.close_month.startsWith('(') ? 1 : b.close_month.startsWith('(') ? -1 : a.close_month.localeCompare(b.close_month))),
  };
}

// ---------------------------------------------------------------------------------------------
// report forecast

export interface ForecastReport {
  method: string;
  alpha: number;
  beta: number;
  gamma: number | null;
  historyFrom: string;
  historyTo: string;
  historyMonths: number;
  heldOut: number;
  mape: number | null;
  naiveMape: number | null;
  forecast: { month: string; forecast: number }[];
  backtest: { month: string; actual: number; forecast: number; naive: number }[];
}

export async function forecastReport(db: Kysely<DB>, input: { months: number; asOf: AsOf }): Promise<ForecastReport> {
  const sqlite = sqliteOf(db);
  const { asOf } = input;
  // Only complete months: the current one counts once its last day is over.
  const tomorrow = addDays(asOf.today, 1);
  const end = tomorrow.endsWith('-01') ? tomorrow : startOfMonth(asOf.today);
  const live = liveSales(asOf);
  const rows = sqlite
    .prepare(`SELECT substr(sold_on, 1, 7) AS m, sum(amount_cents) AS t FROM ${salesSource(sqlite, asOf, null, 'sales_day')}
              WHERE ${live.sql} AND sold_on < ? GROUP BY m ORDER BY m`)
    .raw()
    .all(...live.params, end) as [string, number][];
  const byMonth = new Map(rows);
  const months: string[] = [];
  if (rows.length > 0) for (let m = `${rows[0]![0]}-01`; m < end; m = addMonths(m, 1)) months.push(m.slice(0, 7));
  if (months.length < MIN_HISTORY) {
    const span = months.length > 0 ? ` (${months[0]} to ${months.at(-1)})` : '';
    throw new ValidationError(`not enough history for a forecast: ${months.length} complete month${months.length === 1 ? '' : 's'} of sales${span}; at least ${MIN_HISTORY} are needed`, {
      hint: 'record or import older sales; the current month counts once it has ended',
    });
  }
  const history = months.map((m) => byMonth.get(m) ?? 0);
  const result = forecastMonthly(history, input.months);
  const after = (k: number) => addMonths(`${months.at(-1)!}-01`, k).slice(0, 7);
  return {
    method: result.method === 'holt' ? "Holt's linear trend" : 'Holt-Winters additive, 12-month season',
    alpha: result.alpha,
    beta: result.beta,
    gamma: result.gamma,
    historyFrom: months[0]!,
    historyTo: months.at(-1)!,
    historyMonths: months.length,
    heldOut: result.heldOut,
    mape: result.mapeMethod,
    naiveMape: result.mapeNaive,
    forecast: result.forecast.map((v, i) => ({ month: after(i + 1), forecast: Math.round(v) })),
    backtest: result.backtest.map((b) => ({ month: months[b.index]!, actual: b.actual, forecast: Math.round(b.method), naive: b.naive })),
  };
}

// ---------------------------------------------------------------------------------------------
// report customers

export interface CustomerMovement {
  total: number;
  new: number;
  active: number;
  churned: number;
  churned_in_period: number;
}

export interface CustomersReport {
  churnDays: number;
  current: CustomerMovement;
  previous: CustomerMovement | null;
  top: { rank: number; customer_id: number | null; customer: string | null; orders: number; lifetime_value: number; last_purchase: string }[];
}

function instant(day: string): string {
  return startOfLocalDay(day).toISOString();
}

/** Customers on the books at the end of the range, and how many of them joined in it. */
function customerCounts(sqlite: Database.Database, asOf: AsOf, range: DayRange): { total: number; new: number } {
  const cutoff = asOf.cutoff;
  const end = cutoff !== null && cutoff < instant(range.to) ? cutoff : instant(range.to);
  const counts = sqlite
    .prepare(`SELECT count(*) AS total, sum(created_at >= ?) AS new FROM customers WHERE created_at < ?`)
    .get(instant(range.from), end) as { total: number; new: number | null };
  return { total: counts.total, new: counts.new ?? 0 };
}

function customerMovement(sqlite: Database.Database, asOf: AsOf, range: DayRange, churnDays: number): CustomerMovement {
  const counts = customerCounts(sqlite, asOf, range);
  const live = liveSales(asOf);
  const active = sqlite
    .prepare(`SELECT count(DISTINCT customer_id) AS n FROM ${salesSource(sqlite, asOf, range, 'sales_day')}
              WHERE ${live.sql} AND customer_id IS NOT NULL AND sold_on >= ? AND sold_on < ?`)
    .get(...live.params, range.from, range.to) as { n: number };
  // Churned: bought before, but not within churn_days up to the period's last day.
  const threshold = addDays(range.to, -churnDays);
  const churn = sqlite
    .prepare(
      `SELECT sum(last < ?) AS churned, sum(last >= ? AND last < ?) AS churned_in_period FROM (
         SELECT max(sold_on) AS last FROM ${salesSource(sqlite, asOf, null, 'sales_customer_day')}
         WHERE ${live.sql} AND customer_id IS NOT NULL AND sold_on < ? GROUP BY customer_id)`,
    )
    .get(threshold, addDays(range.from, -churnDays), threshold, ...live.params, range.to) as { churned: number | null; churned_in_period: number | null };
  return { ...counts, active: active.n, churned: churn.churned ?? 0, churned_in_period: churn.churned_in_period ?? 0 };
}

export async function customersReport(db: Kysely<DB>, input: { period: Period; asOf: AsOf; top: number }): Promise<CustomersReport> {
  const sqlite = sqliteOf(db);
  const { asOf } = input;
  const churnDays = Number(await getSetting(db, 'churn_days'));
  const from = input.period.from ?? firstSaleDay(sqlite, asOf) ?? input.period.to;
  const range = { from, to: input.period.to };
  const current = customerMovement(sqlite, asOf, range, churnDays);
  const previous = input.period.previous ? customerMovement(sqlite, asOf, input.period.previous, churnDays) : null;
  const live = liveSales(asOf, 's');
  const top = sqlite
    .prepare(
      `SELECT x.customer_id, ${customerLabelSql('c')} AS customer, x.orders, x.lifetime_value, x.last_purchase FROM (
         SELECT s.customer_id, ${orderCountSql('s')} AS orders, sum(s.amount_cents) AS lifetime_value, ${lastPurchaseSql('s')} AS last_purchase
         FROM ${salesSource(sqlite, asOf, null, 'sales_customer_day', 'sales_customer_day', 's')} WHERE ${live.sql} AND s.customer_id IS NOT NULL AND s.sold_on < ? GROUP BY s.customer_id
         ORDER BY lifetime_value DESC, s.customer_id LIMIT ?) x
       LEFT JOIN customers c ON c.id = x.customer_id ORDER BY x.lifetime_value DESC, x.customer_id`,
    )
    .all(...live.params, range.to, input.top) as Omit<CustomersReport['top'][number], 'rank'>[];
  return { churnDays, current, previous, top: top.map((t, i) => ({ rank: i + 1, ...t })) };
}

// ---------------------------------------------------------------------------------------------
// report summary

export interface SummaryReport {
  from: string | null;
  last: string;
  customers: number;
  new_customers: number;
  orders: number;
  revenue: number;
  average_order: number | null;
  previous_from: string | null;
  previous_last: string | null;
  previous_revenue: number | null;
  revenue_change: number | null;
  open_deals: number;
  open_deal_value: number;
  weighted_pipeline: number;
  open_tickets: number;
  ratings: number;
  csat: number | null;
  average_score: number | null;
}

export async function summaryReport(db: Kysely<DB>, input: { period: Period; asOf: AsOf }): Promise<SummaryReport> {
  const sqlite = sqliteOf(db);
  const { period, asOf } = input;
  const sales = await salesReport(db, { period, by: 'year', asOf });
  const from = sales.from ?? period.from;
  const movement = customerCounts(sqlite, asOf, { from: from ?? period.to, to: period.to });
  const pipeline = await pipelineReport(db, asOf);
  const cutoff = asOf.cutoff;
  const tickets = (
    cutoff === null
      ? sqlite.prepare(`SELECT count(*) AS n FROM tickets WHERE status IN ${ACTIVE_STATUSES_LIST}`).get()
      : sqlite
          .prepare(
            `SELECT count(*) AS n FROM tickets WHERE opened_at < ?
               AND (coalesce(resolved_at, closed_at) IS NULL OR coalesce(resolved_at, closed_at) >= ?)`,
          )
          .get(cutoff, cutoff)
  ) as { n: number };
  const ratings = (
    cutoff === null
      ? sqlite.prepare(`SELECT count(*) AS n, sum(score >= 4) AS good, avg(score) AS avg FROM ticket_ratings WHERE superseded_at IS NULL`).get()
      : sqlite
          .prepare(`SELECT count(*) AS n, sum(score >= 4) AS good, avg(score) AS avg FROM ticket_ratings WHERE rated_at < ? AND (superseded_at IS NULL OR superseded_at >= ?)`)
          .get(cutoff, cutoff)
  ) as { n: number; good: number | null; avg: number | null };
  return {
    from,
    last: sales.last,
    customers: movement.total,
    new_customers: movement.new,
    orders: sales.total.orders,
    revenue: sales.total.revenue,
    average_order: sales.total.average_order,
    previous_from: period.previous?.from ?? null,
    previous_last: period.previous ? addDays(period.previous.to, -1) : null,
    previous_revenue: sales.total.previous_revenue,
    revenue_change: sales.total.change,
    open_deals: pipeline.summary.open_deals,
    open_deal_value: pipeline.summary.open_value,
    weighted_pipeline: pipeline.summary.weighted_value,
    open_tickets: tickets.n,
    ratings: ratings.n,
    csat: ratings.n > 0 ? (ratings.good ?? 0) / ratings.n : null,
    average_score: ratings.avg,
  };
}

