// Runs the static migration list with Kysely's Migrator and reports schema state.
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { ValidationError } from '../domain/errors.js';
import { migrations } from '../../migrations/index.js';
import { engineOf } from './engine.js';
import { PG_SCHEMA, preparePostgresSchema, SqliteDdlOnPostgres } from './postgres-ddl.js';

const provider: MigrationProvider = { getMigrations: async () => migrations };

// On PostgreSQL each migration's raw SQLite statements are translated as they run, and a migration
// that exports `postgres = 'skip'` is recorded without running (see postgres-ddl.ts).
const postgresProvider: MigrationProvider = {
  getMigrations: async () =>
    Object.fromEntries(
      Object.entries(migrations).map(([name, migration]): [string, Migration] => [
        name,
        {
          up: async (db) => {
            if ((migration as { postgres?: string }).postgres === 'skip') return;
            await migration.up(db.withPlugin(new SqliteDdlOnPostgres()));
          },
        },
      ]),
    ),
};

export const MIGRATION_TABLE = 'kysely_migration';

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
  const postgres = engineOf(db) === 'postgres';
  const table = postgres
    ? await sql<{ n: number }>`SELECT count(*) AS n FROM pg_tables WHERE schemaname = ${PG_SCHEMA} AND tablename = ${MIGRATION_TABLE}`.execute(db)
    : await sql<{ n: number }>`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ${MIGRATION_TABLE}`.execute(db);
  let applied: string[] = [];
  if (Number(table.rows[0]?.n ?? 0) > 0) {
    const rows = postgres
      ? await sql<{ name: string }>`SELECT name FROM ${sql.id(PG_SCHEMA, MIGRATION_TABLE)} ORDER BY name COLLATE "C"`.execute(db)
      : await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db);
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
  const postgres = engineOf(db) === 'postgres';
  if (postgres) await preparePostgresSchema(db);
  const migrator = postgres
    ? new Migrator({ db, provider: postgresProvider, allowUnorderedMigrations: true, migrationTableSchema: PG_SCHEMA })
    : new Migrator({ db, provider, allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * On opening: refuses a database written by a newer crm (named as `shownAs`, never with a
 * password), then applies pending migrations unless `migrate` is false.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function checkAndMigrate(db: Kysely<any>, shownAs: string, migrate: boolean | undefined): Promise<void> {
  const status = await schemaStatus(db);
  if (status.unknown.length > 0) {
    throw new ValidationError(`${shownAs} was written by a newer crm (schema ${status.unknown.at(-1)})`, {
      hint: 'upgrade crm to open this database',
    });
  }
  if (migrate !== false && status.pending.length > 0) await migrateToLatest(db);
}
