// The sales aggregates behind `report sales|customers|summary|forecast` (services/reports.ts), one
// SQL text for SQLite and PostgreSQL through the seam in dialect.ts. On SQLite they read covering
// indexes (which carry voided_at, so live sales are told apart without the table), pinned with
// INDEXED BY; PostgreSQL's planner chooses for itself (the hints are dropped there).
// These are the queries that must stay fast on millions of rows.
import type { Kysely } from 'kysely';
import { addDays, daysBetween, startOfLocalDay } from '../domain/dates.js';
import type { DayRange } from '../domain/periods.js';
import { ACTIVE_STATUSES_LIST } from '../domain/tickets.js';
import { customerLabelSql } from './customer-label.js';
import { lastPurchaseSql, orderCountSql } from './sale-orders.js';
import { countIf, engineOf, ifThen, latestIn, monthOf, rawRow, rawRows, type SqlFragment } from './dialect.js';
import type { DB } from './schema.js';

/**
 * When a report stands: `today` is the local day periods are relative to; `cutoff` (ISO instant)
 * is the end of the `--as-of` day, or null for now (everything recorded so far).
 * With a cutoff, `recorded` says how it is read:
 * - false (`--as-of`): by the dates events carry. Sales count when sold by the end of `today`
 *   (and not voided: a void corrects the record, it is no event of its own); refunds by their own
 *   day; a customer is there once created or once they had bought (history back-filled today).
 * - true (`--as-of --as-recorded`): by when crm recorded them. Sales recorded before the cutoff and
 *   not yet voided then, whatever day they carry; customers created before it.
 */
export interface AsOf {
  today: string;
  cutoff: string | null;
  recorded?: boolean;
}

/** Reading what crm had recorded by the cutoff (`--as-recorded`), not the dates events carry. */
const byRecord = (asOf: AsOf): boolean => asOf.cutoff !== null && asOf.recorded === true;

/** An extra SQL condition on unaliased `sales` rows with its bound parameters (`--segment`). */
export type SalesFilter = SqlFragment;

/** Sales counted (refund rows are none), net revenue in cents, refunds (positive cents), orders. */
export interface Agg {
  n: number;
  t: number;
  r: number;
  o: number;
}

export const NO_SALES: Readonly<Agg> = { n: 0, t: 0, r: 0, o: 0 };

/** What `--by customer` shows for sales without a customer: guest sales and those of deleted customers. */
export const NO_CUSTOMER_LABEL = '(no customer)';

export interface DimensionRow {
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

/** A saved segment's condition on customers `c`, compiled (dialect.ts fragmentOf). */
export interface CompiledSegment {
  name: string;
  sql: string;
  params: readonly unknown[];
}

type CoveringIndex = 'sales_day' | 'sales_customer_day';

/** The span of days with sales (live or not), read once per report. */
interface Span {
  first: string | null;
  last: string | null;
}

const andFilter = (filter: SalesFilter | null): string => (filter ? ` AND ${filter.sql}` : '');
const filterParams = (filter: SalesFilter | null): readonly unknown[] => (filter ? filter.params : []);

// Refund rows carry a negative amount. Every revenue figure is net of them, and they are no sale of
// their own. The four aggregates over `sales` rows, each optionally only where `when` holds:
/** Sales counted: refund rows are not sales. */
const saleCountSql = (when?: string): string => `sum(CASE WHEN ${when ? `${when} AND ` : ''}amount_cents >= 0 THEN 1 ELSE 0 END)`;
/** Net revenue: sales less refunds. */
const netRevenueSql = (when?: string): string => (when ? `sum(CASE WHEN ${when} THEN amount_cents ELSE 0 END)` : 'sum(amount_cents)');
/** Refunds, as a positive amount. */
const refundsSql = (when?: string): string => `sum(CASE WHEN ${when ? `${when} AND ` : ''}amount_cents < 0 THEN -amount_cents ELSE 0 END)`;
/**
 * Orders (for average order value): lines of one order_id count once. Counting distinct order ids
 * costs a sort per group, so only when some sale has one; else each sale is an order.
 * Returns the SQL and how many times `when` (and its parameters) appears in it.
 */
async function ordersSql(db: Kysely<DB>, when?: string): Promise<{ sql: string; uses: number }> {
  const hasOrders = (await rawRow(db, 'SELECT 1 AS one FROM sales WHERE order_id IS NOT NULL LIMIT 1')) !== undefined;
  return hasOrders ? { sql: orderCountSql('', when), uses: when ? 2 : 0 } : { sql: saleCountSql(when), uses: when ? 1 : 0 };
}
/** The four aggregates of Agg, unaliased, as `n, t, r, o` columns. */
async function aggColumns(db: Kysely<DB>): Promise<string> {
  return `${saleCountSql()} AS n, ${netRevenueSql()} AS t, ${refundsSql()} AS r, ${(await ordersSql(db)).sql} AS o`;
}

async function salesSpan(db: Kysely<DB>): Promise<Span> {
  return (await rawRow<Span>(db, `SELECT (SELECT min(sold_on) FROM sales) AS first, (SELECT max(sold_on) FROM sales) AS last`))!;
}

/** Does the range cover more than a quarter of the days that have sales? */
async function longRange(db: Kysely<DB>, range: DayRange): Promise<boolean> {
  const span = await salesSpan(db);
  if (span.first === null || span.last === null) return false;
  const last = addDays(span.last, 1);
  const from = range.from > span.first ? range.from : span.first;
  const to = range.to < last ? range.to : last;
  if (to <= from) return false;
  return daysBetween(from, to) * 4 > daysBetween(span.first, last);
}

/**
 * How to read `sales` for an aggregate over `range` (null: everything up to a day). Today's figures
 * read a covering index, pinned with INDEXED BY (so a planner never prefers the table): `short` for a short range, `long`
 * when the range spans much of the data. As-of figures need created_at and voided_at, which no index
 * covers: a long range then scans the table once rather than jumping to it per row.
 */
async function salesSource(
  db: Kysely<DB>,
  asOf: AsOf,
  range: DayRange | null,
  short: CoveringIndex | null,
  long: CoveringIndex | null = short,
  alias = '',
): Promise<string> {
  const table = alias ? `sales AS ${alias}` : 'sales';
  // PostgreSQL ignores the hints: no need to measure the range.
  if (engineOf(db) === 'postgres') return table;
  const isLong = range === null || (await longRange(db, range));
  const index = isLong ? long : short;
  if (!byRecord(asOf) && index !== null) return `${table} INDEXED BY ${index}`;
  return isLong ? `${table} NOT INDEXED` : table;
}

/**
 * SQL condition for sales that count: not voided and sold by the end of the as-of day; with
 * --as-recorded, recorded by the cutoff and not voided by then. The event-date forms read only
 * columns the covering indexes carry.
 */
export function liveSales(asOf: AsOf, alias = ''): { sql: string; params: string[] } {
  const p = alias ? `${alias}.` : '';
  if (asOf.cutoff === null) return { sql: `${p}voided_at IS NULL`, params: [] };
  if (!byRecord(asOf)) return { sql: `${p}voided_at IS NULL AND ${p}sold_on <= ?`, params: [asOf.today] };
  return { sql: `${p}created_at < ? AND (${p}voided_at IS NULL OR ${p}voided_at >= ?)`, params: [asOf.cutoff, asOf.cutoff] };
}

/** First day with a live sale, or null. */
export async function firstSaleDay(db: Kysely<DB>, asOf: AsOf, filter: SalesFilter | null = null): Promise<string | null> {
  const live = liveSales(asOf);
  const row = await rawRow<{ first: string | null }>(
    db,
    `SELECT min(sold_on) AS first FROM ${byRecord(asOf) || engineOf(db) === 'postgres' ? 'sales' : 'sales INDEXED BY sales_day'} WHERE ${live.sql}${andFilter(filter)}`,
    [...live.params, ...filterParams(filter)],
  );
  return row?.first ?? null;
}

/** Live sales per day in [from, to): count and sum. */
export async function dailyTotals(db: Kysely<DB>, asOf: AsOf, from: string, to: string, filter: SalesFilter | null = null): Promise<Map<string, Agg>> {
  const live = liveSales(asOf);
  const rows = await rawRows<{ d: string } & Agg>(
    db,
    `SELECT sold_on AS d, ${await aggColumns(db)} FROM ${await salesSource(db, asOf, { from, to }, 'sales_day')}
     WHERE ${live.sql} AND sold_on >= ? AND sold_on < ?${andFilter(filter)} GROUP BY sold_on`,
    [...live.params, from, to, ...filterParams(filter)],
  );
  return new Map(rows.map(({ d, n, t, r, o }) => [d, { n, t, r, o }]));
}

/** Per customer: live sales and their sum in the range (SQL, to be placed in parentheses). */
async function perCustomerTotals(db: Kysely<DB>, asOf: AsOf, range: DayRange, filter: SalesFilter | null): Promise<SalesFilter> {
  const live = liveSales(asOf);
  return {
    sql: `SELECT customer_id, ${await aggColumns(db)} FROM ${await salesSource(db, asOf, range, 'sales_day', 'sales_customer_day')}
          WHERE ${live.sql} AND sold_on >= ? AND sold_on < ?${andFilter(filter)} GROUP BY customer_id`,
    params: [...live.params, range.from, range.to, ...filterParams(filter)],
  };
}

/** Live sales in the range by product (keyed by SKU where there is one), customer or city; unordered. */
export async function dimensionTotals(db: Kysely<DB>, asOf: AsOf, by: 'product' | 'customer' | 'city', range: DayRange, filter: SalesFilter | null): Promise<DimensionRow[]> {
  const live = liveSales(asOf);
  const params = [...live.params, range.from, range.to, ...filterParams(filter)];
  // Aggregate per customer first, then look up one row per customer, not one per sale. Over a long
  // range the per-customer index is read in order; over a short one, the range of the day index.
  const perCustomer = (await perCustomerTotals(db, asOf, range, filter)).sql;
  if (by === 'product') {
    // Keyed by SKU where there is one, named by the product of its latest sale; without a SKU, by
    // the product's name.
    const latest = latestIn(engineOf(db), 'product', 'id');
    const rows = await rawRows<DimensionRow & { latest: number }>(
      db,
      `SELECT ${latest.value} AS key, sku, ${await aggColumns(db)}, sum(quantity) AS units, ${latest.extra} AS latest
       FROM ${await salesSource(db, asOf, range, null)}
       WHERE ${live.sql} AND sold_on >= ? AND sold_on < ?${andFilter(filter)} GROUP BY sku, ${ifThen('sku IS NULL', 'product', 'NULL')}`,
      params,
    );
    return rows.map(({ latest: _, ...row }) => row);
  }
  if (by === 'city') {
    return rawRows<DimensionRow>(
      db,
      `SELECT coalesce(c.city, '(none)') AS key, sum(x.n) AS n, sum(x.t) AS t, sum(x.r) AS r, sum(x.o) AS o FROM (${perCustomer}) x
       LEFT JOIN customers c ON c.id = x.customer_id GROUP BY coalesce(c.city, '(none)')`,
      params,
    );
  }
  return rawRows<DimensionRow>(
    db,
    `SELECT coalesce(${customerLabelSql('c')}, '${NO_CUSTOMER_LABEL}') AS key, x.customer_id AS customer_id, c.email AS email, c.external_id AS external_id, x.n AS n, x.t AS t, x.r AS r, x.o AS o FROM (${perCustomer}) x
     LEFT JOIN customers c ON c.id = x.customer_id`,
    params,
  );
}

/**
 * Live sales of the members of each segment, in each of the ranges (the period and the one before).
 * One pass: sales over the span of the ranges are summed per customer and range, then each customer
 * who bought is tested once against every segment (a customer in several segments counts in each).
 */
export async function segmentTotals(
  db: Kysely<DB>,
  asOf: AsOf,
  ranges: readonly DayRange[],
  filter: SalesFilter | null,
  segments: readonly CompiledSegment[],
): Promise<DimensionRow[][]> {
  if (segments.length === 0) return ranges.map(() => []);
  const span = { from: ranges.reduce((a, r) => (r.from < a ? r.from : a), ranges[0]!.from), to: ranges.reduce((a, r) => (r.to > a ? r.to : a), ranges[0]!.to) };
  const live = liveSales(asOf);
  const inRange = 'sold_on >= ? AND sold_on < ?';
  const orders = await ordersSql(db, inRange);
  const perRange = ranges.map((_, j) => `${saleCountSql(inRange)} AS n${j}, ${netRevenueSql(inRange)} AS t${j}, ${refundsSql(inRange)} AS r${j}, ${orders.sql} AS o${j}`).join(', ');
  const perCustomer = `SELECT customer_id, ${perRange} FROM ${await salesSource(db, asOf, span, 'sales_day', 'sales_customer_day')}
                       WHERE ${live.sql} AND ${inRange}${andFilter(filter)} GROUP BY customer_id`;
  const perCustomerParams = [...ranges.flatMap((r) => Array.from({ length: 3 + orders.uses }, () => [r.from, r.to]).flat()), ...live.params, span.from, span.to, ...filterParams(filter)];
  // Sales in the gap between non-adjacent ranges (month-to-date against last month's same days) count in neither.
  const bought = ranges.map((_, j) => `p.n${j} > 0 OR p.r${j} > 0`).join(' OR ');
  const flags = segments.map((s, i) => `CASE WHEN ${s.sql} THEN 1 ELSE 0 END AS m${i}`).join(', ');
  const columns = ranges.map((_, j) => `p.n${j} AS n${j}, p.t${j} AS t${j}, p.r${j} AS r${j}, p.o${j} AS o${j}`).join(', ');
  const sums = segments.flatMap((_, i) => ranges.map((_, j) => `sum(x.m${i} * x.n${j}) AS n_${i}_${j}, sum(x.m${i} * x.t${j}) AS t_${i}_${j}, sum(x.m${i} * x.r${j}) AS r_${i}_${j}, sum(x.m${i} * x.o${j}) AS o_${i}_${j}`)).join(', ');
  const row = (await rawRow<Record<string, number | null>>(
    db,
    `SELECT ${sums} FROM (SELECT ${columns}, ${flags} FROM (${perCustomer}) p JOIN customers c ON c.id = p.customer_id WHERE ${bought}) x`,
    [...segments.flatMap((s) => s.params), ...perCustomerParams],
  ))!;
  return ranges.map((_, j) => segments.map((s, i) => ({
      key: s.name,
      n: row[`n_${i}_${j}`] ?? 0,
      t: row[`t_${i}_${j}`] ?? 0,
      r: row[`r_${i}_${j}`] ?? 0,
      o: row[`o_${i}_${j}`] ?? 0,
    })));
}

/** Live sales per complete month before `end` (`YYYY-MM` → cents), oldest first. */
export async function monthlyTotals(db: Kysely<DB>, asOf: AsOf, end: string): Promise<[string, number][]> {
  const live = liveSales(asOf);
  const rows = await rawRows<{ m: string; t: number }>(
    db,
    `SELECT ${monthOf('sold_on')} AS m, sum(amount_cents) AS t FROM ${await salesSource(db, asOf, null, 'sales_day')}
     WHERE ${live.sql} AND sold_on < ? GROUP BY ${monthOf('sold_on')} ORDER BY m`,
    [...live.params, end],
  );
  return rows.map(({ m, t }) => [m, t]);
}

function instant(day: string): string {
  return startOfLocalDay(day).toISOString();
}

/**
 * Customers on the books at the end of the range, and how many of them joined in it. As of a day by
 * the dates events carry, a customer is there once created or once they had bought (live sales by
 * then), and joined at the earlier of the two.
 */
export async function customerCounts(db: Kysely<DB>, asOf: AsOf, range: DayRange): Promise<{ total: number; new: number }> {
  if (asOf.cutoff !== null && !byRecord(asOf)) {
    const endDay = range.to <= asOf.today ? range.to : addDays(asOf.today, 1);
    const bought = '(first_sale IS NOT NULL AND first_sale < ?)';
    const counts = (await rawRow<{ total: number; new: number | null }>(
      db,
      `SELECT count(*) AS total, ${countIf(engineOf(db), `NOT (created_at < ? OR ${bought})`)} AS new FROM (
         SELECT c.created_at, (SELECT min(s.sold_on) FROM sales s WHERE s.customer_id = c.id AND s.voided_at IS NULL AND s.sold_on < ?) AS first_sale
         FROM customers c) x
       WHERE created_at < ? OR ${bought}`,
      [instant(range.from), range.from, endDay, instant(endDay), endDay],
    ))!;
    return { total: counts.total, new: counts.new ?? 0 };
  }
  const cutoff = asOf.cutoff;
  const end = cutoff !== null && cutoff < instant(range.to) ? cutoff : instant(range.to);
  const counts = (await rawRow<{ total: number; new: number | null }>(
    db,
    `SELECT count(*) AS total, ${countIf(engineOf(db), 'created_at >= ?')} AS new FROM customers WHERE created_at < ?`,
    [instant(range.from), end],
  ))!;
  return { total: counts.total, new: counts.new ?? 0 };
}

/** Customers who bought in the range (live sales). */
export async function activeCustomers(db: Kysely<DB>, asOf: AsOf, range: DayRange): Promise<number> {
  const live = liveSales(asOf);
  const row = (await rawRow<{ n: number }>(
    db,
    `SELECT count(DISTINCT customer_id) AS n FROM ${await salesSource(db, asOf, range, 'sales_day')}
     WHERE ${live.sql} AND customer_id IS NOT NULL AND sold_on >= ? AND sold_on < ?`,
    [...live.params, range.from, range.to],
  ))!;
  return row.n;
}

/** Churned: bought before, but not within churn_days up to the period's last day. */
export async function churnedCustomers(db: Kysely<DB>, asOf: AsOf, range: DayRange, churnDays: number): Promise<{ churned: number; churned_in_period: number }> {
  const live = liveSales(asOf);
  const threshold = addDays(range.to, -churnDays);
  const engine = engineOf(db);
  const churn = (await rawRow<{ churned: number | null; churned_in_period: number | null }>(
    db,
    `SELECT ${countIf(engine, 'last < ?')} AS churned, ${countIf(engine, 'last >= ? AND last < ?')} AS churned_in_period FROM (
       SELECT max(sold_on) AS last FROM ${await salesSource(db, asOf, null, 'sales_customer_day')}
       WHERE ${live.sql} AND customer_id IS NOT NULL AND sold_on < ? GROUP BY customer_id) per_customer`,
    [threshold, addDays(range.from, -churnDays), threshold, ...live.params, range.to],
  ))!;
  return { churned: churn.churned ?? 0, churned_in_period: churn.churned_in_period ?? 0 };
}

export interface TopCustomer {
  customer_id: number | null;
  customer: string | null;
  orders: number;
  lifetime_value: number;
  last_purchase: string;
}

/** The `top` customers by lifetime value of live sales before `to` (ties by customer id). */
export async function topCustomers(db: Kysely<DB>, asOf: AsOf, to: string, top: number): Promise<TopCustomer[]> {
  const live = liveSales(asOf, 's');
  return rawRows<TopCustomer>(
    db,
    `SELECT x.customer_id, ${customerLabelSql('c')} AS customer, x.orders, x.lifetime_value, x.last_purchase FROM (
       SELECT s.customer_id, ${orderCountSql('s')} AS orders, sum(s.amount_cents) AS lifetime_value, ${lastPurchaseSql('s')} AS last_purchase
       FROM ${await salesSource(db, asOf, null, 'sales_customer_day', 'sales_customer_day', 's')} WHERE ${live.sql} AND s.customer_id IS NOT NULL AND s.sold_on < ? GROUP BY s.customer_id
       ORDER BY lifetime_value DESC, s.customer_id LIMIT ?) x
     LEFT JOIN customers c ON c.id = x.customer_id ORDER BY x.lifetime_value DESC, x.customer_id`,
    [...live.params, to, top],
  );
}

/** Tickets still being worked on (as of the cutoff: opened by then and not yet resolved or closed). */
export async function openTicketCount(db: Kysely<DB>, cutoff: string | null): Promise<number> {
  const row =
    cutoff === null
      ? await rawRow<{ n: number }>(db, `SELECT count(*) AS n FROM tickets WHERE status IN ${ACTIVE_STATUSES_LIST}`)
      : await rawRow<{ n: number }>(
          db,
          `SELECT count(*) AS n FROM tickets WHERE opened_at < ?
             AND (coalesce(resolved_at, closed_at) IS NULL OR coalesce(resolved_at, closed_at) >= ?)`,
          [cutoff, cutoff],
        );
  return row!.n;
}

/** Current ratings (as of the cutoff): how many, how many good (4 or 5), and their average score. */
export async function ratingCounts(db: Kysely<DB>, cutoff: string | null): Promise<{ n: number; good: number; avg: number | null }> {
  const good = countIf(engineOf(db), 'score >= 4');
  // The average is computed here from the sum, so both engines give the same double.
  const row = (
    cutoff === null
      ? await rawRow<{ n: number; good: number | null; total: number | null }>(db, `SELECT count(*) AS n, ${good} AS good, sum(score) AS total FROM ticket_ratings WHERE superseded_at IS NULL`)
      : await rawRow<{ n: number; good: number | null; total: number | null }>(
          db,
          `SELECT count(*) AS n, ${good} AS good, sum(score) AS total FROM ticket_ratings WHERE rated_at < ? AND (superseded_at IS NULL OR superseded_at >= ?)`,
          [cutoff, cutoff],
        )
  )!;
  return { n: row.n, good: row.good ?? 0, avg: row.n > 0 && row.total !== null ? row.total / row.n : null };
}
