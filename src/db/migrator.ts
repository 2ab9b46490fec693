// Applies the static migration list and reports schema state. All pending migrations run in one
// transaction together with their bookkeeping rows (SQLite DDL is transactional), so an
// upgrade interrupted at any moment (kill -9, power loss) leaves the schema as it was, never half
// applied. The transaction takes the write lock first: two crm processes upgrading the same file
// take turns, and the second finds nothing left to do. On SQLite the run has foreign key
// enforcement off, so a migration can rebuild a table (dropping a parent table would otherwise
// cascade into its children), and fails if it leaves a broken reference that was not there before.
//
// On PostgreSQL the same list runs the same way (its DDL is transactional too), under an advisory
// lock instead of SQLite's write lock; each migration's raw SQLite statements are translated as
// they run, and a migration that exports `postgres = 'skip'` is recorded without running (see
// postgres-ddl.ts).
import { sql, type Kysely, type Migration, type Transaction } from 'kysely';
import { ValidationError } from '../domain/errors.js';
import { migrations } from '../../migrations/index.js';
import { MIGRATION_TABLE, APPLIED_MIGRATIONS_SQL } from './applied-migrations.js';
import { engineOf } from './engine.js';
import { PG_SCHEMA, preparePostgresSchema, SqliteDdlOnPostgres } from './postgres-ddl.js';
import { BUSY_TIMEOUT_MS, MIGRATION_BUSY_TIMEOUT_MS } from './sqlite.js';
import { CHANGE_LOG_MIGRATION, setUpPostgresChangeLog } from './change-log-postgres.js';
import { applyTeamGrants, hasTeamRoles, setUpTeam, TEAM_MIGRATION } from './team-setup.js';

const MIGRATION_LOCK_TABLE = `${MIGRATION_TABLE}_lock`;

export interface SchemaStatus {
  applied: string[];
  pending: string[];
  /** Applied migrations this binary does not know: the file is from a newer crm. */
  unknown: string[];
  /** The newest applied migration, or null for an empty database. */
  version: string | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

function isSqlite(db: AnyDb): boolean {
  return engineOf(db) === 'sqlite';
}

/** Any number that identifies crm's migration run among the advisory locks of one database. */
const PG_MIGRATION_LOCK = 7_204_961_220;

export async function schemaStatus(db: AnyDb): Promise<SchemaStatus> {
  const known = Object.keys(migrations).sort();
  const postgres = !isSqlite(db);
  const table = postgres
    ? await sql<{ n: number }>`SELECT count(*) AS n FROM pg_tables WHERE schemaname = ${PG_SCHEMA} AND tablename = ${MIGRATION_TABLE}`.execute(db)
    : await sql.raw<{ n: number }>(APPLIED_MIGRATIONS_SQL.hasTable).execute(db);
  let applied: string[] = [];
  if (Number(table.rows[0]?.n ?? 0) > 0) {
    const rows = postgres
      ? await sql<{ name: string }>`SELECT name FROM ${sql.id(PG_SCHEMA, MIGRATION_TABLE)} ORDER BY name COLLATE "C"`.execute(db)
      : await sql.raw<{ name: string }>(APPLIED_MIGRATIONS_SQL.names).execute(db);
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
async function ensureMigrationTables(trx: Transaction<any>): Promise<void> {
  await trx.schema
    .createTable(MIGRATION_TABLE)
    .ifNotExists()
    .addColumn('name', 'varchar(255)', (c) => c.notNull().primaryKey())
    .addColumn('timestamp', 'varchar(255)', (c) => c.notNull())
    .execute();
  await trx.schema
    .createTable(MIGRATION_LOCK_TABLE)
    .ifNotExists()
    .addColumn('id', 'varchar(255)', (c) => c.notNull().primaryKey())
    .addColumn('is_locked', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await trx
    .insertInto(MIGRATION_LOCK_TABLE)
    .values({ id: 'migration_lock', is_locked: 0 })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * The number of rows breaking each foreign key (`child#fk id` → count), on SQLite. The same as
 * PRAGMA foreign_key_check finds, but several times faster on big tables: the planner reads each
 * child's references in index order, where the pragma looks parents up in row order (8 s for a
 * million sales, 1 s this way).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function brokenReferenceCounts(trx: Kysely<any>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const tables = await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 7) <> 'sqlite_'`.execute(trx);
  for (const { name: child } of tables.rows) {
    const keys = await sql<{ id: number; parent: string; from: string; to: string | null }>`
      SELECT id, "table" AS parent, "from", "to" FROM pragma_foreign_key_list(${child}) ORDER BY id, seq`.execute(trx);
    const byKey = new Map<number, typeof keys.rows>();
    for (const key of keys.rows) byKey.set(key.id, [...(byKey.get(key.id) ?? []), key]);
    for (const [id, columns] of byKey) {
      const parent = columns[0]!.parent;
      const parentKey = columns.some((c) => c.to === null)
        ? (await sql<{ name: string }>`SELECT name FROM pragma_table_info(${parent}) WHERE pk > 0 ORDER BY pk`.execute(trx)).rows.map((r) => r.name)
        : columns.map((c) => c.to!);
      const present = columns.map((c) => `c.${quote(c.from)} IS NOT NULL`).join(' AND ');
      const exists = await sql<{ n: number }>`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ${parent}`.execute(trx);
      const matches = columns.map((c, i) => `p.${quote(parentKey[i] ?? 'rowid')} = c.${quote(c.from)}`).join(' AND ');
      const missing = (exists.rows[0]?.n ?? 0) > 0 ? ` AND NOT EXISTS (SELECT 1 FROM ${quote(parent)} p WHERE ${matches})` : '';
      const broken = await sql.raw<{ n: number }>(`SELECT count(*) AS n FROM ${quote(child)} c WHERE ${present}${missing}`).execute(trx);
      const n = Number(broken.rows[0]?.n ?? 0);
      if (n > 0) counts.set(`${child}#${id}`, n);
    }
  }
  return counts;
}

/** Test hook, under CRM_DEBUG=1 only: stop inside the transaction after the named migration. */
async function pauseForTests(name: string): Promise<void> {
  if (process.env.CRM_DEBUG !== '1' || process.env.CRM_DEBUG_PAUSE_AFTER_MIGRATION !== name) return;
  process.stderr.write(`paused after migration ${name}\n`);
  await new Promise(() => setInterval(() => undefined, 60_000));
}

/** PostgreSQL's own steps after a migration (src/db), by migration name. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const POSTGRES_STEPS: Record<string, (trx: Transaction<any>) => Promise<void>> = {
  [TEAM_MIGRATION]: setUpTeam,
  [CHANGE_LOG_MIGRATION]: setUpPostgresChangeLog,
};

/**
 * One migration: as written on SQLite; translated (or skipped, when it says so) on PostgreSQL,
 * followed there by its PostgreSQL step if it has one.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function runMigration(trx: Transaction<any>, name: string, migration: Migration): Promise<void> {
  if (isSqlite(trx)) return migration.up(trx);
  if ((migration as { postgres?: string }).postgres !== 'skip') await migration.up(trx.withPlugin(new SqliteDdlOnPostgres()));
  await POSTGRES_STEPS[name]?.(trx);
}

/** Broken references the pending migrations left behind, beyond those `before` already had. */
class NewBrokenReferences extends Error {
  constructor(readonly keys: string[]) {
    super(`the schema upgrade would break references (${keys.join(', ')}); nothing was changed`);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function applyPending(conn: Kysely<any>, checkReferences: boolean, before: Map<string, number>): Promise<string[]> {
  return conn.transaction().execute(async (trx) => {
    if (!isSqlite(trx)) await sql`SELECT pg_advisory_xact_lock(${PG_MIGRATION_LOCK})`.execute(trx);
    await ensureMigrationTables(trx);
    const applied = new Set((await trx.selectFrom(MIGRATION_TABLE).select('name').execute()).map((r) => r.name as string));
    const pending = Object.keys(migrations)
      .sort()
      .filter((name) => !applied.has(name));
    for (const name of pending) {
      await runMigration(trx, name, migrations[name]!);
      await trx.insertInto(MIGRATION_TABLE).values({ name, timestamp: new Date().toISOString() }).execute();
      await pauseForTests(name);
    }
    // Tables and sequences added after the access-control migration get the team's grants too.
    if (!isSqlite(trx) && pending.length > 0 && pending.at(-1) !== TEAM_MIGRATION && (await hasTeamRoles(trx))) await applyTeamGrants(trx);
    if (checkReferences && pending.length > 0) {
      const broken = [...(await brokenReferenceCounts(trx))].filter(([key, n]) => n > (before.get(key) ?? 0)).map(([key]) => key);
      if (broken.length > 0) throw new NewBrokenReferences(broken);
    }
    return pending;
  });
}

/** Applies every pending migration; returns their names (none when another crm applied them first). */
export async function migrateToLatest(db: AnyDb): Promise<string[]> {
  if (!isSqlite(db)) await preparePostgresSchema(db);
  return db.connection().execute(async (conn) => {
    const sqlite = isSqlite(conn);
    if (sqlite) {
      // Both settings belong to the connection, and foreign_keys cannot change inside a transaction.
      await sql`PRAGMA foreign_keys = OFF`.execute(conn);
      await sql.raw(`PRAGMA busy_timeout = ${MIGRATION_BUSY_TIMEOUT_MS}`).execute(conn);
    }
    try {
      try {
        return await applyPending(conn, sqlite, new Map());
      } catch (error) {
        // Broken references after the upgrade: only a problem if they were not there before. This
        // is rare (a file edited by hand), so the count before is taken only then, and the upgrade
        // repeated against it.
        if (!(error instanceof NewBrokenReferences)) throw error;
        return await applyPending(conn, true, await brokenReferenceCounts(conn));
      }
    } finally {
      if (sqlite) {
        await sql`PRAGMA foreign_keys = ON`.execute(conn);
        await sql.raw(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`).execute(conn);
      }
    }
  });
}

/**
 * On opening: refuses a database written by a newer crm (named as `shownAs`, never with a
 * password), then applies pending migrations unless `migrate` is false.
 */
export async function checkAndMigrate(db: AnyDb, shownAs: string, migrate: boolean | undefined): Promise<void> {
  const status = await schemaStatus(db);
  if (status.unknown.length > 0) {
    throw new ValidationError(`${shownAs} was written by a newer crm (schema ${status.unknown.at(-1)})`, {
      hint: 'upgrade crm to open this database',
    });
  }
  if (migrate !== false && status.pending.length > 0) await migrateToLatest(db);
}
