// Ids are never reused. SQLite gives a plain INTEGER PRIMARY KEY the highest id + 1, so after the
// newest customer (sale, ticket, audit entry…) was deleted, the next one took its id, and the audit
// trail and `customer export-data` mixed the two. AUTOINCREMENT ids only grow. SQLite cannot add
// it to an existing table, so each table whose ids are shown or audited is rebuilt (SQLite's
// documented procedure: the migrator runs this with foreign key enforcement off, so dropping the
// old table does not cascade, and checks the references afterwards):
//   1. rename the table away (legacy rename: the other tables' references keep naming it),
//   2. create it again from its own CREATE TABLE text plus AUTOINCREMENT,
//   3. copy the rows (a page-level copy: same columns, no indexes yet), drop the old table,
//   4. re-create its indexes and triggers from their own text,
//   5. start the sequence above every id the table or the audit trail has seen, so an id deleted
//      before this upgrade is not handed out again either.
// PostgreSQL tables take ids from identity sequences, which never reuse them: nothing to do there.
import { SqliteAdapter, sql, type Kysely } from 'kysely';

/** Tables whose ids are shown to users or recorded in the audit trail. */
const TABLES = [
  'customers',
  'tags',
  'activities',
  'sales',
  'deals',
  'deal_stage_history',
  'tickets',
  'ticket_events',
  'ticket_ratings',
  'segments',
  'segment_members',
  'tasks',
  'audit_log',
];

const ID_COLUMN = /(\bid\s+INTEGER\s+PRIMARY\s+KEY)\b(?!\s+AUTOINCREMENT)/i;

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The highest id the table or the audit trail (row changes, imported ranges, each entry's customer) has seen. */
function highestIdSeen(table: string) {
  return sql`max(
    coalesce((SELECT max(id) FROM ${sql.table(table)}), 0),
    coalesce((SELECT max(row_id) FROM audit_change WHERE table_name = ${table}), 0),
    coalesce((SELECT max(last_id) FROM audit_range WHERE table_name = ${table}), 0),
    ${table === 'customers' ? sql`coalesce((SELECT max(customer_id) FROM audit_log), 0)` : sql`0`})`;
}

async function rebuildWithAutoincrement(db: Kysely<any>, table: string): Promise<void> {
  const { rows: [definition] } = await sql<{ sql: string }>`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ${table}`.execute(db);
  if (!definition) throw new Error(`table ${table} is missing`);
  if (!ID_COLUMN.test(definition.sql)) {
    if (/\bAUTOINCREMENT\b/i.test(definition.sql)) return;
    throw new Error(`table ${table} has no "id INTEGER PRIMARY KEY" column`);
  }
  const { rows: extras } = await sql<{ sql: string }>`
    SELECT sql FROM sqlite_master WHERE tbl_name = ${table} AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY rowid`.execute(db);
  const old = `${table}_before_autoincrement`;
  await sql.raw(`ALTER TABLE ${quote(table)} RENAME TO ${quote(old)}`).execute(db);
  await sql.raw(definition.sql.replace(ID_COLUMN, '$1 AUTOINCREMENT')).execute(db);
  await sql.raw(`INSERT INTO ${quote(table)} SELECT * FROM ${quote(old)}`).execute(db);
  await sql.raw(`DROP TABLE ${quote(old)}`).execute(db);
  for (const extra of extras) await sql.raw(extra.sql).execute(db);
  // Computed in SQL, so the sequence stays an integer (a bound JavaScript number would be a REAL).
  await sql`DELETE FROM sqlite_sequence WHERE name = ${table}`.execute(db);
  await sql`INSERT INTO sqlite_sequence (name, seq) SELECT ${table}, seen FROM (SELECT ${highestIdSeen(table)} AS seen) WHERE seen > 0`.execute(db);
}

/** SQLite-only: on PostgreSQL the ids are identities, which never hand out an id twice. */
export const postgres = 'skip';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof SqliteAdapter)) return;
  // The legacy rename touches only the renamed table's own statements, never the references other
  // tables hold to it: they must keep naming the table that is about to be re-created.
  await sql`PRAGMA legacy_alter_table = ON`.execute(db);
  try {
    for (const table of TABLES) await rebuildWithAutoincrement(db, table);
  } finally {
    await sql`PRAGMA legacy_alter_table = OFF`.execute(db);
  }
}
