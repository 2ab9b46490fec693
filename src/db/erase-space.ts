// What erasing a customer needs from the engine beyond Kysely (issue 14): SQLite overwrites freed
// pages with zeros and rebuilds the file; PostgreSQL has no file of ours to rebuild, so both are
// no-ops there (its dead row versions are reclaimed by autovacuum).
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { sqliteHandleOf } from './connection.js';
import { engineOf } from './engine.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/** Deleted content is overwritten with zeros as it is freed (SQLite); nothing on PostgreSQL. */
export function zeroFreedContent(db: AnyDb): void {
  sqliteHandleOf(db)?.pragma('secure_delete = ON');
}

/** The text value of `key` in the JSON text column `column`. */
export function jsonTextField(db: AnyDb, column: string, key: string): RawBuilder<unknown> {
  return engineOf(db) === 'postgres'
    ? sql`(${sql.ref(column)}::jsonb ->> ${key})`
    : sql`json_extract(${sql.ref(column)}, ${'$.' + key})`;
}
