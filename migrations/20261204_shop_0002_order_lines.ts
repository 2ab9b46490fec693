// Orders with lines: a shop's sale row is one line of an order (invoice), with the shop's stock code
// and unit price. Columns added in place (no rebuild). The partial index finds an order's lines: the
// check that an order belongs to one customer, and counting orders rather than lines.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE sales ADD COLUMN order_id TEXT`.execute(db);
  await sql`ALTER TABLE sales ADD COLUMN sku TEXT`.execute(db);
  await sql`ALTER TABLE sales ADD COLUMN unit_price_cents INTEGER`.execute(db);
  await sql`CREATE INDEX sales_order ON sales (order_id, customer_id) WHERE order_id IS NOT NULL`.execute(db);
}
