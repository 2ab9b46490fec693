// The change log on PostgreSQL (`crm export … --changed-since`). SQLite has had it since
// 20261206_changes_0002, whose triggers are SQLite's own; on SQLite this migration does nothing.
// PostgreSQL gets its step from src/db/change-log-postgres.ts: statement-level triggers that log the
// same rows, and commit-ordered positions, because there ids and sequence numbers are handed out
// before commit, so "above the highest the cursor saw" could miss a row committed later under a
// lower number.
import type { Kysely } from 'kysely';

export async function up(_db: Kysely<any>): Promise<void> {
  // Nothing on SQLite; see src/db/change-log-postgres.ts for PostgreSQL.
}
