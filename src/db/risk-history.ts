// Every query the churn-risk score reads, in one place: the history of purchases, contacts, tickets
// (with their status changes and ratings) and deals (with their stage moves) up to an as-of day,
// by the dates the events carry. Raw prepared statements on the SQLite handle, streamed in
// customer order from covering indexes where there is one (a million sales in well under a
// second); `test/bench/risk.bench.mjs` runs the same text in the sqlite3 shell. Purchases are the
// live (unvoided) sales; when sales gain refunds or guest orders, this is the one file to adapt.
import type Database from 'better-sqlite3';

/** Day number (days since 1970-01-01) of a `YYYY-MM-DD` column, computed in SQL. */
const DAY = (column: string) => `CAST(julianday(${column}) - 2440587.5 AS INTEGER)`;

export const RISK_SQL = {
  /** Live sales on or before @day, by customer then day: customer_id, day number, cents. */
  sales: `SELECT customer_id, ${DAY('sold_on')} AS day, amount_cents FROM sales INDEXED BY sales_customer_day
    WHERE customer_id IS NOT NULL AND voided_at IS NULL AND sold_on <= @day ORDER BY customer_id, sold_on`,
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
} as const;

export interface RiskHistoryRows {
  /** Sales as parallel columns, ordered by customer then day. */
  sales: { customer: Int32Array; day: Int32Array; cents: Float64Array; count: number };
  activities: Array<[customerId: number, at: string]>;
  tickets: Array<[id: number, customerId: number, openedAt: string, resolvedAt: string | null, closedAt: string | null, hasHistory: number]>;
  ticketChanges: Array<[ticketId: number, at: string, toStatus: string]>;
  ratings: Array<[customerId: number, ratedAt: string, score: number]>;
  deals: Array<[id: number, customerId: number, createdAt: string, stage: string]>;
  dealMoves: Array<[dealId: number, at: string, toStage: string]>;
}

/**
 * Reads the history as it stood at the end of local day `day` (`YYYY-MM-DD`, whose end is the
 * instant `end`): sales dated up to that day, other events timed before that instant.
 */
export function readRiskHistory(sqlite: Database.Database, day: string, end: string): RiskHistoryRows {
  let capacity = 1 << 16;
  let customer = new Int32Array(capacity);
  let days = new Int32Array(capacity);
  let cents = new Float64Array(capacity);
  let count = 0;
  for (const row of sqlite.prepare(RISK_SQL.sales).raw().iterate({ day }) as IterableIterator<[number, number, number]>) {
    if (count === capacity) {
      capacity *= 2;
      const grow = <A extends Int32Array | Float64Array>(from: A, to: A): A => (to.set(from), to);
      customer = grow(customer, new Int32Array(capacity));
      days = grow(days, new Int32Array(capacity));
      cents = grow(cents, new Float64Array(capacity));
    }
    customer[count] = row[0];
    days[count] = row[1];
    cents[count] = row[2];
    count++;
  }
  const all = <T>(text: string) => sqlite.prepare(text).raw().all({ end }) as T[];
  return {
    sales: { customer, day: days, cents, count },
    activities: all(RISK_SQL.activities),
    tickets: all(RISK_SQL.tickets),
    ticketChanges: all(RISK_SQL.ticketChanges),
    ratings: all(RISK_SQL.ratings),
    deals: all(RISK_SQL.deals),
    dealMoves: all(RISK_SQL.dealMoves),
  };
}
