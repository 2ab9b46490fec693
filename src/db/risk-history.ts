// Every query the churn-risk score reads, in one place: the history of purchases, contacts, tickets
// (with their status changes and ratings) and deals (with their stage moves) up to an as-of day,
// by the dates the events carry, and the saved scores the agenda lists. One SQL text for SQLite and
// PostgreSQL through the seam in dialect.ts (only the aggregate that packs a customer's sales into
// one text is spelt per engine). On SQLite the sales stream in customer order from the covering
// index (a million sales in well under a second); `test/bench/risk.bench.mjs` runs the same text in
// the sqlite3 shell. Purchases are the live (unvoided) sales; when sales gain guest orders, this is
// the one file to adapt.
import type { Kysely } from 'kysely';
import { engineOf, named, rawIterate, rawRows, rowSourceOf, type Engine } from './dialect.js';
import type { DB } from './schema.js';

/** A customer's live sales packed as `YYYY-MM-DD cents …` in day order, per engine. */
const packedSales = (engine: Engine) =>
  engine === 'postgres'
    ? `string_agg(sold_on || ' ' || amount_cents, ' ' ORDER BY sold_on, id)`
    : `group_concat(sold_on || ' ' || amount_cents, ' ')`;

export const RISK_SQL = {
  /**
   * Live sales on or before @day, one row per customer: `YYYY-MM-DD cents …` in day order (read
   * from the covering index by customer, so each group's rows come in sold_on order). Packing a
   * customer's sales into one text keeps the per-row cost of the driver to one row per customer.
   */
  sales: (engine: Engine) => `SELECT customer_id, ${packedSales(engine)} AS sales
    FROM sales INDEXED BY sales_customer_day
    WHERE customer_id IS NOT NULL AND voided_at IS NULL AND sold_on <= @day GROUP BY customer_id ORDER BY customer_id`,
  /** Activities before @end (an ISO instant), by customer then time. */
  activities: `SELECT customer_id, at FROM activities INDEXED BY activities_customer_at WHERE at < @end ORDER BY customer_id, at`,
  /** Tickets opened before @end, with the resolution and closing times of those without a status history. */
  tickets: `SELECT id, customer_id, opened_at, resolved_at, closed_at,
      EXISTS (SELECT 1 FROM ticket_events e WHERE e.ticket_id = t.id AND e.kind = 'status') AS has_history
    FROM tickets t WHERE opened_at < @end ORDER BY id`,
  /** Status changes before @end, by ticket then time. */
  ticketChanges: `SELECT ticket_id, at, to_value FROM ticket_events WHERE kind = 'status' AND at < @end ORDER BY ticket_id, at, id`,
  /** Ratings given before @end, by customer then time. */
  ratings: `SELECT t.customer_id, r.rated_at, r.score FROM ticket_ratings r JOIN tickets t ON t.id = r.ticket_id
    WHERE r.rated_at < @end ORDER BY t.customer_id, r.rated_at, r.id`,
  /** Deals created before @end with their current stage (for deals without a stage history). */
  deals: `SELECT id, customer_id, created_at, stage FROM deals WHERE created_at < @end ORDER BY id`,
  /** Stage moves before @end, by deal then time. */
  dealMoves: `SELECT deal_id, at, to_stage FROM deal_stage_history WHERE at < @end ORDER BY deal_id, at, id`,
  /** Names and emails, to label the scored customers. */
  customers: `SELECT id, name, email FROM customers ORDER BY id`,
} as const;

/**
 * Every customer's sales in columns shared by many of them: `customers[i]`'s sales are the day
 * numbers and cents at positions `starts[i]` up to `ends[i]` of block `blockOf[i]`, in day order;
 * customers by id.
 */
export interface SalesColumns {
  customers: Float64Array;
  blockOf: Uint32Array;
  starts: Int32Array;
  ends: Int32Array;
  blocks: Array<{ days: Int32Array; cents: Float64Array }>;
}

export interface RiskHistoryRows {
  sales: SalesColumns;
  activities: Array<[customerId: number, at: string]>;
  tickets: Array<[id: number, customerId: number, openedAt: string, resolvedAt: string | null, closedAt: string | null, hasHistory: number]>;
  ticketChanges: Array<[ticketId: number, at: string, toStatus: string]>;
  ratings: Array<[customerId: number, ratedAt: string, score: number]>;
  deals: Array<[id: number, customerId: number, createdAt: string, stage: string]>;
  dealMoves: Array<[dealId: number, at: string, toStage: string]>;
}

/** Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil). */
function dayNumber(y: number, m: number, d: number): number {
  const year = m <= 2 ? y - 1 : y;
  const era = Math.floor(year / 400);
  const yoe = year - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}

/**
 * Collects every customer's sales into blocks of columns rather than two typed arrays (or two
 * views) per customer, which on 100k customers were most of the memory and garbage-collection time
 * the history cost. A full block is left as it is and a new one started: nothing is copied, as
 * memory touched for the first time costs more here than the parsing does.
 */
class SalesBuilder {
  private static readonly BLOCK = 1 << 16;
  private customers = new Float64Array(1 << 12);
  private blockOf = new Uint32Array(1 << 12);
  private starts = new Int32Array(1 << 12);
  private ends = new Int32Array(1 << 12);
  private readonly blocks: Array<{ days: Int32Array; cents: Float64Array }> = [];
  private days = new Int32Array(0);
  private cents = new Float64Array(0);
  private count = 0;
  private used = 0;

  /**
   * Parses `YYYY-MM-DD cents YYYY-MM-DD cents …` (one space apart) into day numbers and cents,
   * reading character codes: SQLite's date functions cost more per sale than this does.
   */
  add(customer: number, text: string): void {
    if (this.count === this.customers.length) {
      const size = 2 * this.count;
      this.customers = grown(this.customers, size);
      this.blockOf = grown(this.blockOf, size);
      this.starts = grown(this.starts, size);
      this.ends = grown(this.ends, size);
    }
    // A sale takes at least 13 characters (`YYYY-MM-DD c `).
    const room = this.used + Math.ceil((text.length + 1) / 13);
    if (room > this.days.length) {
      const size = Math.max(room - this.used, SalesBuilder.BLOCK);
      this.days = new Int32Array(size);
      this.cents = new Float64Array(size);
      this.blocks.push({ days: this.days, cents: this.cents });
      this.used = 0;
    }
    const { days, cents } = this;
    const digit = (i: number) => text.charCodeAt(i) - 48;
    const first = this.used;
    let at = first;
    for (let i = 0; i < text.length; at++) {
      const y = digit(i) * 1000 + digit(i + 1) * 100 + digit(i + 2) * 10 + digit(i + 3);
      const m = digit(i + 5) * 10 + digit(i + 6);
      const d = digit(i + 8) * 10 + digit(i + 9);
      days[at] = dayNumber(y, m, d);
      i += 11;
      let negative = false;
      if (text.charCodeAt(i) === 45) {
        negative = true;
        i++;
      }
      let value = 0;
      for (; i < text.length && text.charCodeAt(i) !== 32; i++) value = value * 10 + digit(i);
      cents[at] = negative ? -value : value;
      i++;
    }
    // group_concat keeps the index's order in practice; sort should a planner ever read otherwise.
    for (let i = first + 1; i < at; i++) {
      if (days[i]! < days[i - 1]!) {
        const order = Array.from({ length: at - first }, (_, j) => first + j).sort((a, b) => days[a]! - days[b]! || a - b);
        const sortedDays = Int32Array.from(order, (j) => days[j]!);
        const sortedCents = Float64Array.from(order, (j) => cents[j]!);
        days.set(sortedDays, first);
        cents.set(sortedCents, first);
        break;
      }
    }
    this.customers[this.count] = customer;
    this.blockOf[this.count] = this.blocks.length - 1;
    this.starts[this.count] = first;
    this.ends[this.count] = at;
    this.count++;
    this.used = at;
  }

  finish(): SalesColumns {
    const n = this.count;
    return { customers: this.customers.subarray(0, n), blockOf: this.blockOf.subarray(0, n), starts: this.starts.subarray(0, n), ends: this.ends.subarray(0, n), blocks: this.blocks };
  }
}

function grown<T extends Uint32Array | Int32Array | Float64Array>(array: T, size: number): T {
  const out = new (array.constructor as new (n: number) => T)(size);
  out.set(array);
  return out;
}

/**
 * Reads the history as it stood at the end of local day `day` (`YYYY-MM-DD`, whose end is the
 * instant `end`): sales dated up to that day, other events timed before that instant.
 */
export async function readRiskHistory(db: Kysely<DB>, day: string, end: string): Promise<RiskHistoryRows> {
  const salesQuery = named(RISK_SQL.sales(engineOf(db)), { day });
  const builder = new SalesBuilder();
  const take = ([customer, packed]: [unknown, string]) => builder.add(Number(customer), packed);
  // On SQLite the rows come synchronously, as arrays, from a small page cache (each page is read
  // once): a promise per customer and a 16 MB cache to fill cost ~0.1 s of the read (100k
  // customers, 1M sales: the history read in 0.82 s → 0.70 s).
  const source = rowSourceOf(db);
  source.readingOnce();
  const rows = source.iterateRaw<[unknown, string]>(salesQuery.sql, salesQuery.params);
  if (Symbol.asyncIterator in rows) for await (const row of rows) take(row);
  else for (const row of rows) take(row);
  const all = async <R>(text: string) => {
    const query = named(text, { end });
    return rawRows<R>(db, query.sql, query.params);
  };
  const bit = (value: unknown) => (value === true || Number(value) === 1 ? 1 : 0);
  return {
    sales: builder.finish(),
    activities: (await all<{ customer_id: number; at: string }>(RISK_SQL.activities)).map((r) => [Number(r.customer_id), r.at]),
    tickets: (await all<{ id: number; customer_id: number; opened_at: string; resolved_at: string | null; closed_at: string | null; has_history: unknown }>(RISK_SQL.tickets)).map((r) => [
      Number(r.id),
      Number(r.customer_id),
      r.opened_at,
      r.resolved_at,
      r.closed_at,
      bit(r.has_history),
    ]),
    ticketChanges: (await all<{ ticket_id: number; at: string; to_value: string }>(RISK_SQL.ticketChanges)).map((r) => [Number(r.ticket_id), r.at, r.to_value]),
    ratings: (await all<{ customer_id: number; rated_at: string; score: number }>(RISK_SQL.ratings)).map((r) => [Number(r.customer_id), r.rated_at, Number(r.score)]),
    deals: (await all<{ id: number; customer_id: number; created_at: string; stage: string }>(RISK_SQL.deals)).map((r) => [Number(r.id), Number(r.customer_id), r.created_at, r.stage]),
    dealMoves: (await all<{ deal_id: number; at: string; to_stage: string }>(RISK_SQL.dealMoves)).map((r) => [Number(r.deal_id), r.at, r.to_stage]),
  };
}

/** Name and email by customer id, for the customers in `wanted`. */
export async function readCustomerNames(db: Kysely<DB>, wanted: ReadonlySet<number>): Promise<Map<number, { name: string; email: string | null }>> {
  const out = new Map<number, { name: string; email: string | null }>();
  for await (const row of rawIterate<{ id: number; name: string; email: string | null }>(db, RISK_SQL.customers)) {
    const id = Number(row.id);
    if (wanted.has(id)) out.set(id, { name: row.name, email: row.email });
  }
  return out;
}

/** A customer's latest saved score, as the agenda lists it. */
export interface AtRiskRow {
  id: number;
  name: string;
  email: string | null;
  phone: string | null;
  probability: number;
  spend_12m_cents: number;
  revenue_at_risk_cents: number;
  reasons: string;
  action: string;
  last_contact: string | null;
  saved_at: string;
  total: number;
}

/**
 * Customers whose latest saved score is at least @threshold with revenue at risk, and with no
 * activity from @cutoff to @end (ISO instants), biggest revenue at risk first; `total` is how many
 * there are before @limit. Activities from @end on are ignored, so a past agenda reads as it was.
 */
const AT_RISK_SQL = `
  WITH latest AS (
    SELECT rs.* FROM risk_scores rs
    WHERE rs.id = (SELECT max(r2.id) FROM risk_scores r2 WHERE r2.customer_id = rs.customer_id)
  )
  SELECT c.id, c.name, c.email, c.phone, l.probability, l.spend_12m_cents, l.revenue_at_risk_cents, l.reasons, l.action, l.saved_at,
    (SELECT max(a.at) FROM activities a WHERE a.customer_id = c.id AND a.at < @end) AS last_contact,
    count(*) OVER () AS total
  FROM latest l JOIN customers c ON c.id = l.customer_id
  WHERE l.probability >= @threshold AND l.revenue_at_risk_cents > 0
    AND NOT EXISTS (SELECT 1 FROM activities a WHERE a.customer_id = c.id AND a.at >= @cutoff AND a.at < @end)
  ORDER BY l.revenue_at_risk_cents DESC, c.id
  LIMIT @limit`;

export async function readAtRiskScores(db: Kysely<DB>, input: { end: string; cutoff: string; threshold: number; limit: number }): Promise<AtRiskRow[]> {
  const query = named(AT_RISK_SQL, input);
  return rawRows<AtRiskRow>(db, query.sql, query.params);
}
