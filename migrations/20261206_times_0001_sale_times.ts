// Sale times: a sale may carry the instant it happened (`2011-10-06 16:20:00` in a shop's export) as
// well as its day. `sold_on` stays the local calendar day every report groups by; `sold_at` is the
// instant (ISO 8601 UTC, as every crm timestamp), null when only the day is known. A column added
// in place (no rebuild, no index: nothing filters or groups by the time).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE sales ADD COLUMN sold_at TEXT`.execute(db);
}
