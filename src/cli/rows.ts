// Rows streamed from a reader (src/db/reader.ts) to printStream: an Iterable on SQLite, an
// AsyncIterable on PostgreSQL.

/**
 * Each row through `f`, as they stream. Synchronous rows stay synchronous: a for-await loop would
 * cost a promise per row, twice (here and in printStream), on every row of a big list.
 */
export function mapRows<T, U>(rows: Iterable<T> | AsyncIterable<T>, f: (row: T) => U): Iterable<U> | AsyncIterable<U> {
  if (Symbol.iterator in rows) {
    return (function* () {
      for (const row of rows) yield f(row);
    })();
  }
  return (async function* () {
    for await (const row of rows) yield f(row);
  })();
}
