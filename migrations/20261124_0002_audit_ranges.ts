// Bulk inserts (imports of millions of rows) are audited as id ranges rather than one change row
// per inserted row: `crm undo` deletes the range, and the range's rows are still findable.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE TABLE audit_range (
    id INTEGER PRIMARY KEY,
    log_id INTEGER NOT NULL REFERENCES audit_log (id) ON DELETE CASCADE,
    table_name TEXT NOT NULL,
    first_id INTEGER NOT NULL,
    last_id INTEGER NOT NULL,
    CHECK (first_id <= last_id)
  )`.execute(db);
  await sql`CREATE INDEX audit_range_log ON audit_range (log_id)`.execute(db);
}
