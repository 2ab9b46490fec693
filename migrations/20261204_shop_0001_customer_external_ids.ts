// The shop's own customer numbers: `external_id` is the key a shop, ERP or accounting package knows
// a customer by (unique when given), so files from those systems name customers as they are.
// A column added in place (no table rebuild), with a partial unique index over the ids given.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE customers ADD COLUMN external_id TEXT`.execute(db);
  await sql`CREATE UNIQUE INDEX customers_external_id ON customers (external_id) WHERE external_id IS NOT NULL`.execute(db);
}
