// The change log's one hook for bulk writers (see migrations/20261206_changes_*): an import marks the
// ids it is about to add as fresh, inside its own transaction, so the triggers do not log the tags,
// fields or ratings of rows that are new anyway (a million tag links would cost a million log rows),
// and clears the mark before it commits, so no other transaction ever sees it.
import type Database from 'better-sqlite3';

/** Rows of `table` from `firstId` on are the running import's new rows. */
export function markFreshRows(sqlite: Database.Database, table: string, firstId: number): void {
  sqlite.prepare('INSERT OR REPLACE INTO change_fresh_rows (table_name, first_id) VALUES (?, ?)').run(table, firstId);
}

/** Call before the import's transaction commits. */
export function clearFreshRows(sqlite: Database.Database): void {
  sqlite.prepare('DELETE FROM change_fresh_rows').run();
}
