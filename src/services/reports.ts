// The reports a business owner opens on Monday and a cron job mails every night: sales by time or
// dimension with the change against the previous period, the deal pipeline, a revenue forecast,
// customer movement and the one-screen summary. Every report can be computed "as of" the end of a
// past day: sales created or voided after it and deal moves made after it are left out.
// The sales aggregates run as prepared statements on covering indexes (which carry voided_at, so
// live sales are told apart without the table): these are the queries that must stay fast on
// millions of rows.
import type { Kysely } from 'kysely';
import { fragmentOf } from '../db/dialect.js';
import {
  activeCustomers,
  churnedCustomers,
  customerCounts,
  dailyTotals,
  dimensionTotals,
  firstSaleDay,
  monthlyTotals,
  openTicketCount,
  ratingCounts,
  segmentTotals,
  topCustomers,
  type Agg,
  type AsOf,
  type CompiledSegment,
  type DimensionRow,
  NO_SALES,
  type SalesFilter,
} from '../db/sales-aggregates.js';
export { NO_CUSTOMER_LABEL } from '../db/sales-aggregates.js';
import type { DB } from '../db/schema.js';
import { addDays } from '../domain/dates.js';
import { FUNNEL, STAGES, effectiveProbability, isClosed, weightedCents, type Stage } from '../domain/deals.js';
import { ValidationError } from '../domain/errors.js';
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
import type { SegmentAsOf } from '../db/segment-sql.js';

/** `--segment NAME`: only sales of the segment's current members (NotFoundError for an unknown segment). */
async function segmentSalesFilter(db: Kysely<DB>, name: string, now: Date, asOf: SegmentAsOf | null): Promise<SalesFilter> {
  const condition = await segmentCondition(db, name, now, 'customers', asOf);
  const members = db.selectFrom('customers').select('customers.id').where(condition).compile();
  const fragment = fragmentOf(members);
  return { sql: `customer_id IN (${fragment.sql})`, params: fragment.params };
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

/** Gross revenue: the sales before refunds. */
const grossRevenue = (agg: { t: number; r: number }): number => agg.t + agg.r;

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

export type { AsOf };

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
  const { period, by, asOf } = input;
  const needsNow = by === 'segment' || input.segment !== undefined;
  if (needsNow && input.now === undefined) throw new Error('salesReport: segments need `now`');
  // As of a day by event dates, segments are evaluated as of that day too (membership by the
  // purchases made by then, ages counted back from it); --as-recorded keeps today's membership.
  const segmentAsOf: SegmentAsOf | null = asOf.cutoff !== null && asOf.recorded !== true ? { day: asOf.today, cutoff: asOf.cutoff } : null;
  const segmentNow = segmentAsOf ? new Date(Date.parse(segmentAsOf.cutoff) - 1) : input.now!;
  const filter = input.segment !== undefined ? await segmentSalesFilter(db, input.segment, segmentNow, segmentAsOf) : null;
  // Compiled before anything is read, so a segment that cannot be evaluated fails the report early.
  const segments: CompiledSegment[] =
    by === 'segment'
      ? (await allSegmentConditions(db, segmentNow, 'c', segmentAsOf)).map(({ name, condition }) => {
          const compiled = fragmentOf(condition.compile(db));
          return { name, sql: compiled.sql, params: compiled.params };
        })
      : [];
  const from = period.from ?? (await firstSaleDay(db, asOf, filter));
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
    const daily = await dailyTotals(db, asOf, queryFrom, period.to, filter);
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
    const [current = [], before = []] = await segmentTotals(db, asOf, previous ? [range, previous] : [range], filter, segments);
    const daily = await dailyTotals(db, asOf, previous && previous.from < range.from ? previous.from : range.from, range.to, filter);
    const total = sumDays(daily, range.from, range.to);
    const prevTotal = previous ? sumDays(daily, previous.from, previous.to) : null;
    return { by, from, last, previous, rows: dimensionRows(current, before, previous !== null, (r) => r.key, false, input.limit), total: totals(total, prevTotal) };
  }

  const dim = by as 'product' | 'customer' | 'city';
  const current = await dimensionTotals(db, asOf, dim, range, filter);
  const before = previous ? await dimensionTotals(db, asOf, dim, previous, filter) : [];
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
  /**
   * Set when the last sale is STALE_MONTHS or more complete months before the as-of day: the history
   * then ends at the last month with sales and the forecast runs on from it, and this says so.
   */
  warning: string | null;
}

/**
 * Complete months without a sale after the last one that make the history stale. One empty month can
 * be a real month of a shop; several at the end mean the data stops there (an old export, back-filled
 * history), and forecasting from today would be that many zeros fed to the model.
 */
export const STALE_MONTHS = 2;

export async function forecastReport(db: Kysely<DB>, input: { months: number; asOf: AsOf }): Promise<ForecastReport> {
  const { asOf } = input;
  // Only complete months: the current one counts once its last day is over.
  const tomorrow = addDays(asOf.today, 1);
  const end = tomorrow.endsWith('-01') ? tomorrow : startOfMonth(asOf.today);
  const rows = await monthlyTotals(db, asOf, end);
  const byMonth = new Map(rows);
  const months: string[] = [];
  if (rows.length > 0) for (let m = `${rows[0]![0]}-01`; m < end; m = addMonths(m, 1)) months.push(m.slice(0, 7));
  let warning: string | null = null;
  const lastSaleMonth = rows.at(-1)?.[0];
  const lastComplete = months.at(-1);
  if (lastSaleMonth !== undefined && lastComplete !== undefined && lastSaleMonth < lastComplete) {
    const empty = months.length - 1 - months.indexOf(lastSaleMonth);
    if (empty >= STALE_MONTHS) {
      months.splice(months.indexOf(lastSaleMonth) + 1);
      warning =
        `the last sale is in ${lastSaleMonth}, ${empty} complete months before ${asOf.today} with no sales since; ` +
        `forecasting the ${input.months} month${input.months === 1 ? '' : 's'} after ${lastSaleMonth} from the history up to it, not the months ahead of ${asOf.today}`;
    } else {
      warning = `no sales in ${lastComplete}, the last complete month: the forecast takes it as a month of zero sales`;
    }
  }
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
    warning,
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

async function customerMovement(db: Kysely<DB>, asOf: AsOf, range: DayRange, churnDays: number): Promise<CustomerMovement> {
  const counts = await customerCounts(db, asOf, range);
  const active = await activeCustomers(db, asOf, range);
  const churn = await churnedCustomers(db, asOf, range, churnDays);
  return { ...counts, active, ...churn };
}

export async function customersReport(db: Kysely<DB>, input: { period: Period; asOf: AsOf; top: number }): Promise<CustomersReport> {
  const { asOf } = input;
  const churnDays = Number(await getSetting(db, 'churn_days'));
  const from = input.period.from ?? (await firstSaleDay(db, asOf)) ?? input.period.to;
  const range = { from, to: input.period.to };
  const current = await customerMovement(db, asOf, range, churnDays);
  const previous = input.period.previous ? await customerMovement(db, asOf, input.period.previous, churnDays) : null;
  const top = await topCustomers(db, asOf, range.to, input.top);
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
  const { period, asOf } = input;
  const sales = await salesReport(db, { period, by: 'year', asOf });
  const from = sales.from ?? period.from;
  const movement = await customerCounts(db, asOf, { from: from ?? period.to, to: period.to });
  const pipeline = await pipelineReport(db, asOf);
  const openTickets = await openTicketCount(db, asOf.cutoff);
  const ratings = await ratingCounts(db, asOf.cutoff);
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
    open_tickets: openTickets,
    ratings: ratings.n,
    csat: ratings.n > 0 ? ratings.good / ratings.n : null,
    average_score: ratings.avg,
  };
}

