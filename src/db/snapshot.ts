// One snapshot for a report made of several queries (issue 14: "a report during an import sees all
// of it or none of it"). Each PostgreSQL statement sees the data committed when it starts (READ
// COMMITTED), so the queries of one report could each see a different moment: a READ ONLY,
// REPEATABLE READ transaction makes them all read the one moment its first query saw. Such a
// transaction takes no locks and never waits for a writer, nor a writer for it.
// On SQLite the report runs as it always has (no transaction is opened, its statements unchanged).
import type { Kysely } from 'kysely';
import { engineOf } from './engine.js';
import type { DB } from './schema.js';

/** Runs `read` with a database handle whose queries all see one consistent snapshot. */
export async function inOneSnapshot<T>(db: Kysely<DB>, read: (db: Kysely<DB>) => Promise<T>): Promise<T> {
  if (engineOf(db) !== 'postgres') return read(db);
  return db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute((trx) => read(trx));
}
