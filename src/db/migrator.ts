// Runs the static migration list with Kysely's Migrator and reports schema state.
import { Migrator, sql, type Kysely, type MigrationProvider } from 'kysely';
import { migrations } from '../../migrations/index.js';
import { APPLIED_MIGRATIONS_SQL } from './applied-migrations.js';

const provider: MigrationProvider = { getMigrations: async () => migrations };


export interface SchemaStatus {
  applied: string[];
  pending: string[];
  /** Applied migrations this binary does not know: the file is from a newer crm. */
  unknown: string[];
  /** The newest applied migration, or null for an empty database. */
  version: string | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function schemaStatus(db: Kysely<any>): Promise<SchemaStatus> {
  const known = Object.keys(migrations).sort();
  const table = await sql.raw<{ n: number }>(APPLIED_MIGRATIONS_SQL.hasTable).execute(db);
  let applied: string[] = [];
  if ((table.rows[0]?.n ?? 0) > 0) {
    const rows = await sql.raw<{ name: string }>(APPLIED_MIGRATIONS_SQL.names).execute(db);
    applied = rows.rows.map((r) => r.name);
  }
  const appliedSet = new Set(applied);
  return {
    applied,
    pending: known.filter((name) => !appliedSet.has(name)),
    unknown: applied.filter((name) => !(name in migrations)),
    version: applied.at(-1) ?? null,
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  // Branches land migrations whose names interleave; each is applied once, in name order among the pending.
  const migrator = new Migrator({ db, provider, allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
