// The two covering indexes over sales also carry order_id. Since orders with lines landed, the
// purchase counts of segment show and segment rfm (and of reports, once a sale has an order) count
// an order's lines once, so they read order_id; without it in the index that read cost a table
// lookup per sale. On 1M sales of 1M customers the RFM aggregate took 4.2 s instead of 0.6 s.
// A sale without an order adds one byte to each index entry.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  for (const name of ['sales_customer_day', 'sales_day']) {
    await sql`DROP INDEX IF EXISTS ${sql.id(name)}`.execute(db);
  }
  await sql`CREATE INDEX sales_customer_day ON sales (customer_id, sold_on, amount_cents, voided_at, order_id)`.execute(db);
  await sql`CREATE INDEX sales_day ON sales (sold_on, customer_id, amount_cents, voided_at, order_id)`.execute(db);
}
