// Covering partial indexes over live (unvoided) sales for the report aggregates: by day (sales by
// day/week/month/quarter/year, forecasts, and by customer or city over short ranges) and by
// customer (by customer or city over long ranges, lifetime value, churn). The queries read only
// these indexes, in order, never the table.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX sales_live_day ON sales (sold_on, customer_id, amount_cents) WHERE voided_at IS NULL`.execute(db);
  await sql`CREATE INDEX sales_live_customer ON sales (customer_id, sold_on, amount_cents) WHERE voided_at IS NULL`.execute(db);
}
