// Row locks for read-then-write transactions (issue 14, "several people at once"). On PostgreSQL
// two transactions run side by side, so one that reads a row and then writes on what it read
// (moving a deal, editing a customer, updating a ticket, voiding a sale) locks the row as it reads
// it: a second one waits for the first to commit and then reads the row as the first left it.
// The lock is FOR NO KEY UPDATE, the one an UPDATE that leaves the key alone takes anyway: writers
// of the row queue, while rows that merely reference it (a sale of the customer, the deal's history)
// can still be added meanwhile. On SQLite every write transaction already holds the database's
// write lock from its BEGIN IMMEDIATE (sqlite-dialect.ts): nothing to add, the SQL is unchanged.
import type { Kysely, SelectQueryBuilder } from 'kysely';
import { engineOf } from './engine.js';

/** The query locking the rows it reads until commit on PostgreSQL; as it is on SQLite. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function forUpdate<DB, TB extends keyof DB, O>(db: Kysely<any>, query: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O> {
  return engineOf(db) === 'postgres' ? query.forNoKeyUpdate() : query;
}
