// Which migrations a database has applied: the one place that knows where Kysely's migrator keeps
// them. The fast open (sqlite.ts), the migrator's status and a restore's checks all read it here.
import type Database from 'better-sqlite3';

export const MIGRATION_TABLE = 'kysely_migration';

/** The two statements, shared by the raw SQLite reader below and the migrator's Kysely reader. */
export const APPLIED_MIGRATIONS_SQL = {
  hasTable: `SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '${MIGRATION_TABLE}'`,
  names: `SELECT name FROM ${MIGRATION_TABLE} ORDER BY name`,
} as const;

/** Applied migration names in name order; [] for a file without the migration table. */
export function appliedMigrations(sqlite: Database.Database): string[] {
  const hasTable = Number(sqlite.prepare(APPLIED_MIGRATIONS_SQL.hasTable).pluck().get()) > 0;
  return hasTable ? (sqlite.prepare(APPLIED_MIGRATIONS_SQL.names).pluck().all() as string[]) : [];
}
