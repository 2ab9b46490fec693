// Pruning the change log (`crm db optimize`, setting change_log_days). Log entries carry no time of
// their own (the triggers cannot see crm's clock), so each optimize notes where the log stood and
// when (row_change_marks); a later optimize removes the entries that were already there at a note
// older than the kept window. row_change_horizon holds the highest log position removed so far:
// an export cursor older than it would miss changes, so it is refused instead.
// Positions count as export cursors do: the change sequence on SQLite, the commit position on
// PostgreSQL. Both tables are the same on both engines.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE TABLE row_change_marks (position INTEGER NOT NULL, marked_at TEXT NOT NULL)`.execute(db);
  await sql`CREATE TABLE row_change_horizon (position INTEGER NOT NULL)`.execute(db);
}
