// Changes flow back (`crm export … --changed-since CURSOR`): a log of the rows edited or removed,
// in the order it happened, and an identity for the database, so a cursor names the database it
// came from. Rows added are not logged: ids are never reused, so "added since" is "id above the
// highest id the cursor saw", which costs a bulk import nothing. The log is written by triggers
// (the next migration), so every path that changes a row — commands, imports, merge, forget, undo —
// is seen. `removed` rows keep the key a consumer knows them by besides the id: a sale's or a
// ticket's external id (a customer's is personal data, which `customer forget` must not leave).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE TABLE row_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    table_name TEXT NOT NULL,
    row_id INTEGER NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0,
    external_id TEXT
  )`.execute(db);
  await sql`CREATE INDEX row_changes_row ON row_changes (table_name, row_id)`.execute(db);
  // Set by a bulk import inside its own transaction (and cleared before it commits): rows of the
  // table from first_id on are its new rows, whose tags, fields and ratings need no log entry.
  await sql`CREATE TABLE change_fresh_rows (table_name TEXT PRIMARY KEY, first_id INTEGER NOT NULL)`.execute(db);
  await sql`CREATE TABLE database_identity (id TEXT NOT NULL)`.execute(db);
  const id = globalThis.crypto.randomUUID().replace(/-/g, '');
  await sql`INSERT INTO database_identity (id) VALUES (${id})`.execute(db);
}
