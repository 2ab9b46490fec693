// Puts a database back in the state it had before the migration that gave ids AUTOINCREMENT
// (20261204_reliability_0001_ids_never_reused): the tables rebuilt with plain INTEGER PRIMARY KEY
// ids, no sequences, the migration pending. For tests of upgrading databases made by older crm.
import { sqliteExec, sqliteQuery } from './cli.js';

export const IDS_MIGRATION = '20261204_reliability_0001_ids_never_reused';

/** The tables that migration rebuilt. */
export const ID_TABLES = [
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

export function asBeforeIdsMigration(path: string): void {
  const tables = sqliteQuery<{ name: string; sql: string }>(path, "SELECT name, sql FROM sqlite_master WHERE type = 'table'").filter((t) => ID_TABLES.includes(t.name));
  const extras = sqliteQuery<{ tbl_name: string; sql: string }>(path, "SELECT tbl_name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL");
  const statements = ['PRAGMA foreign_keys = OFF', 'PRAGMA legacy_alter_table = ON', 'BEGIN'];
  for (const { name, sql } of tables) {
    statements.push(
      `ALTER TABLE "${name}" RENAME TO "${name}_legacy"`,
      sql.replace(/ AUTOINCREMENT/, ''),
      `INSERT INTO "${name}" SELECT * FROM "${name}_legacy"`,
      `DROP TABLE "${name}_legacy"`,
      ...extras.filter((e) => e.tbl_name === name).map((e) => e.sql),
    );
  }
  statements.push(`DELETE FROM sqlite_sequence WHERE name IN (${ID_TABLES.map((t) => `'${t}'`).join(', ')})`, `DELETE FROM kysely_migration WHERE name = '${IDS_MIGRATION}'`, 'COMMIT');
  sqliteExec(path, statements.map((s) => `${s};`).join('\n'));
}
