// Refunds: a refund is a sale row with a negative amount; `refund_of` names the sale it refunds
// (null when an imported refund does not say). A column added in place (no rebuild); the partial
// index finds a sale's refunds (what remains refundable, the void guard, undo's reference check).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE sales ADD COLUMN refund_of INTEGER REFERENCES sales (id)`.execute(db);
  await sql`CREATE INDEX sales_refund_of ON sales (refund_of) WHERE refund_of IS NOT NULL`.execute(db);
}
