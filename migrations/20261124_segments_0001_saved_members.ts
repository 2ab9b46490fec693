// Saved segment memberships: `crm segment rfm --save` stores each scored customer's R/F/M scores
// and group here, under a segment name such as `rfm:at-risk`, so `--segment rfm:at-risk` can use
// the snapshot later. Expression segments are not stored here: they are evaluated when used.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE TABLE segment_members (
    id INTEGER PRIMARY KEY,
    segment TEXT NOT NULL COLLATE NOCASE,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    recency INTEGER,
    frequency INTEGER,
    monetary INTEGER,
    saved_at TEXT NOT NULL,
    UNIQUE (segment, customer_id)
  )`.execute(db);
  await sql`CREATE INDEX segment_members_customer ON segment_members (customer_id)`.execute(db);
}
