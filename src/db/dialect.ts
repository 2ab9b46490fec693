// The seam for the raw SQL that aggregates and hot lists need (issue 14): one function per way of
// reading rows, the same on SQLite and PostgreSQL. SQL is written once with `?` placeholders in the
// shape both engines accept; on PostgreSQL the placeholders become `$n` and SQLite's planner hints
// (INDEXED BY, NOT INDEXED) are dropped. The expressions whose spelling differs by engine (boolean
// sums, month buckets, time spans, NULL ordering, case-insensitive matching) are built by the
// helpers below, never written inline in a service.
// On SQLite the rows come from better-sqlite3 prepared statements (as fast as before this seam); on
// PostgreSQL from Kysely's executor, and `rawIterate` reads through a pg-cursor in batches.
import { CompiledQuery, sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import type Database from 'better-sqlite3';
import { sqliteHandleOf } from './connection.js';
import { engineOf, type Engine } from './engine.js';
import { readerOver, readRfmValues, type Reader } from './reader.js';
import { readsThrough, sqliteRowSource, type RowSource } from './row-source.js';
import type { RfmValues } from '../domain/rfm.js';
import { PG_SCHEMA } from './postgres-ddl.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/** A piece of SQL with `?` placeholders and its bound values, in order. */
export interface SqlFragment {
  sql: string;
  params: readonly unknown[];
}

/** Rows read per round trip by `rawIterate` on PostgreSQL. */
const CURSOR_BATCH = 1000;

/**
 * The statement as PostgreSQL takes it: `?` outside quotes numbered `$1…`, and SQLite's
 * `INDEXED BY name` / `NOT INDEXED` hints removed.
 */
export function toPostgres(text: string): string {
  let out = '';
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      const stop = end === -1 ? text.length : end + 1;
      out += text.slice(i, stop);
      i = stop - 1;
    } else if (c === '?') {
      out += `$${++n}`;
    } else {
      out += c;
    }
  }
  return out.replace(/\s+INDEXED\s+BY\s+\w+/gi, '').replace(/\s+NOT\s+INDEXED\b/gi, '');
}

/**
 * A Kysely query (or expression) compiled for `db`, as a fragment with `?` placeholders, to be placed
 * inside raw SQL of this module's kind (PostgreSQL compiles to `$n`, numbered from 1 in order).
 */
export function fragmentOf(compiled: { sql: string; parameters: readonly unknown[] }): SqlFragment {
  return { sql: compiled.sql.replace(/\$\d+\b/g, '?'), params: compiled.parameters };
}

/**
 * SQL written with named parameters (`@name`, outside quotes) as a fragment with `?` placeholders,
 * the values in the order they appear (a name used twice is bound twice).
 */
export function named(text: string, values: Readonly<Record<string, unknown>>): SqlFragment {
  const params: unknown[] = [];
  let sql = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      const stop = end === -1 ? text.length : end + 1;
      sql += text.slice(i, stop);
      i = stop - 1;
      continue;
    }
    const name = c === '@' ? /^@([A-Za-z_]\w*)/.exec(text.slice(i)) : null;
    if (name) {
      if (!(name[1]! in values)) throw new Error(`named: no value for @${name[1]}`);
      params.push(values[name[1]!]);
      sql += '?';
      i += name[0].length - 1;
    } else {
      sql += c;
    }
  }
  return { sql, params };
}

function sqliteOrNull(db: AnyDb): Database.Database | undefined {
  return engineOf(db) === 'sqlite' ? sqliteHandleOf(db) : undefined;
}

function compiled(db: AnyDb, sql: string, params: readonly unknown[]): CompiledQuery {
  return CompiledQuery.raw(engineOf(db) === 'postgres' ? toPostgres(sql) : sql, [...params]);
}

/** All rows of a statement, as objects keyed by column name. */
export async function rawRows<R>(db: AnyDb, sql: string, params: readonly unknown[] = []): Promise<R[]> {
  const sqlite = sqliteOrNull(db);
  if (sqlite) return sqlite.prepare(sql).all(...params) as R[];
  const result = await db.executeQuery<R>(compiled(db, sql, params));
  return result.rows as R[];
}

/** The first row of a statement (undefined when there is none). */
export async function rawRow<R>(db: AnyDb, sql: string, params: readonly unknown[] = []): Promise<R | undefined> {
  const sqlite = sqliteOrNull(db);
  if (sqlite) return sqlite.prepare(sql).get(...params) as R | undefined;
  const result = await db.executeQuery<R>(compiled(db, sql, params));
  return result.rows[0];
}

/** The first column of every row. */
export async function rawColumn<T>(db: AnyDb, sql: string, params: readonly unknown[] = []): Promise<T[]> {
  const sqlite = sqliteOrNull(db);
  if (sqlite) return sqlite.prepare(sql).pluck().all(...params) as T[];
  const result = await db.executeQuery<Record<string, unknown>>(compiled(db, sql, params));
  return result.rows.map((row) => Object.values(row)[0] as T);
}

/**
 * The rows of a statement one at a time, in constant memory: a prepared statement's iterator on
 * SQLite, a server-side cursor read in batches on PostgreSQL.
 */
export async function* rawIterate<R>(db: AnyDb, sql: string, params: readonly unknown[] = []): AsyncGenerator<R> {
  const sqlite = sqliteOrNull(db);
  if (sqlite) {
    yield* sqlite.prepare(sql).iterate(...params) as IterableIterator<R>;
    return;
  }
  for await (const batch of db.getExecutor().stream<R>(compiled(db, sql, params), CURSOR_BATCH)) {
    yield* batch.rows;
  }
}

async function* rawValues<R extends unknown[]>(db: AnyDb, sql: string, params: readonly unknown[]): AsyncGenerator<R> {
  for await (const row of rawIterate<Record<string, unknown>>(db, sql, params)) yield Object.values(row) as R;
}

/** A row source (row-source.ts) over a Kysely instance of either engine. */
export function rowSourceOf(db: AnyDb): RowSource {
  const sqlite = sqliteOrNull(db);
  if (sqlite) return sqliteRowSource(sqlite);
  return readsThrough(
    {
      engine: engineOf(db),
      iterate: <R>(sql: string, params: readonly unknown[] = []) => rawIterate<R>(db, sql, params),
      iterateRaw: <R extends unknown[]>(sql: string, params: readonly unknown[] = []) => rawValues<R>(db, sql, params),
      all: <R>(sql: string, params: readonly unknown[] = []) => rawRows<R>(db, sql, params),
      readingOnce: () => undefined,
    },
    db,
  );
}

/** The reader (reader.ts) over a Kysely instance of either engine. */
export function readerOf(db: AnyDb): Reader {
  return readerOver(rowSourceOf(db));
}

/**
 * R, F and M of every customer with live purchases, read through `db` (for `segment rfm --save`,
 * inside its transaction; on SQLite the raw handle behind the Kysely instance is that transaction's
 * connection).
 */
export function rfmValuesIn(db: AnyDb): Promise<RfmValues> {
  return readRfmValues(rowSourceOf(db), null, false);
}

// ---------------------------------------------------------------------------------------------
// Expressions whose spelling differs by engine.

/** How many rows of a group meet `cond` (NULL over no rows on SQLite, 0 on PostgreSQL: read with `?? 0`). */
export function countIf(engine: Engine, cond: string): string {
  return engine === 'postgres' ? `count(*) FILTER (WHERE ${cond})` : `sum(${cond})`;
}

/** `YYYY-MM` of a text day or instant column. */
export function monthOf(col: string): string {
  return `substr(${col}, 1, 7)`;
}

/** `YYYY` of a text day or instant column. */
export function yearOf(col: string): string {
  return `substr(${col}, 1, 4)`;
}

/** Milliseconds from instant `a` to instant `b` (ISO text columns), as a number. */
export function msBetween(engine: Engine, a: string, b: string): string {
  return engine === 'postgres'
    ? `round(extract(epoch FROM (CAST(${b} AS timestamptz) - CAST(${a} AS timestamptz))) * 1000)`
    : `CAST(ROUND((julianday(${b}) - julianday(${a})) * 86400000.0) AS INTEGER)`;
}

/** An ORDER BY term that puts NULLs first ascending (SQLite's default; PostgreSQL's is last). */
export function nullsFirst(engine: Engine, expr: string, direction: 'ASC' | 'DESC' = 'ASC'): string {
  return engine === 'postgres' ? `${expr} ${direction} NULLS FIRST` : `${expr} ${direction}`;
}

/** An ORDER BY term that puts NULLs last ascending (PostgreSQL's default; SQLite's is first). */
export function nullsLast(engine: Engine, expr: string, direction: 'ASC' | 'DESC' = 'ASC'): string {
  return engine === 'postgres' ? `${expr} ${direction} NULLS LAST` : `${expr} IS NULL, ${expr} ${direction}`;
}

/** `a = b` ignoring ASCII case (SQLite NOCASE). */
export function equalsIgnoringCase(engine: Engine, a: string, b: string): string {
  return engine === 'postgres' ? `lower(${a}) = lower(${b})` : `${a} = ${b} COLLATE NOCASE`;
}

/**
 * `column = value` ignoring ASCII case, as a Kysely condition for `db`'s engine: SQLite's NOCASE;
 * on PostgreSQL the column's lower() (its collation is "C", so ASCII only) against the value folded
 * the same way here (a parameter's lower() would follow the database's locale and fold more).
 */
export function columnEqualsIgnoringCase(db: AnyDb, column: string, value: string): RawBuilder<SqlBool> {
  return engineOf(db) === 'postgres'
    ? sql<SqlBool>`lower(${sql.ref(column)}) = ${value.replace(/[A-Z]+/g, (letters) => letters.toLowerCase())}`
    : sql<SqlBool>`${sql.ref(column)} = ${value} COLLATE NOCASE`;
}

/** `a LIKE pattern` ignoring ASCII case (SQLite's LIKE already does; PostgreSQL needs ILIKE). */
export function likeIgnoringCase(engine: Engine, a: string, pattern: string): string {
  return engine === 'postgres' ? `${a} ILIKE ${pattern}` : `${a} LIKE ${pattern}`;
}

/** `if cond then a else b`, both engines (SQLite's iif is not PostgreSQL's). */
export function ifThen(cond: string, a: string, b: string): string {
  return `CASE WHEN ${cond} THEN ${a} ELSE ${b} END`;
}

/**
 * The value of `col` from the row of the group with the highest `by` (SQLite: a bare column beside
 * max(by) in the same SELECT; PostgreSQL: the first of the group's values ordered by `by`).
 */
export function latestIn(engine: Engine, col: string, by: string): { value: string; extra: string } {
  return engine === 'postgres'
    ? { value: `(array_agg(${col} ORDER BY ${by} DESC))[1]`, extra: `max(${by})` }
    : { value: col, extra: `max(${by})` };
}

export { engineOf, type Engine };
export { containsText, groupConcatOrdered, nocase } from './engine-sql.js';

// ---------------------------------------------------------------------------------------------
// Row ids that code numbers itself.

function quoted(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The highest id `table` has handed out, deleted rows included (SQLite's AUTOINCREMENT keeps it in
 * sqlite_sequence, PostgreSQL's identity in its sequence): for code that numbers rows itself, so it
 * never reuses an id either. Runs on `db` as given (a transaction reads its own writes).
 */
export async function highestIdIssued(db: AnyDb, table: string): Promise<number> {
  const text =
    engineOf(db) === 'postgres'
      ? `SELECT greatest(coalesce((SELECT max(id) FROM ${quoted(table)}), 0),
           coalesce(pg_sequence_last_value(pg_get_serial_sequence(?, 'id')::regclass), 0)) AS n`
      : `SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0), coalesce((SELECT max(id) FROM ${quoted(table)}), 0)) AS n`;
  const row = await db.executeQuery<{ n: number | bigint }>(compiled(db, text, [engineOf(db) === 'postgres' ? `${PG_SCHEMA}.${table}` : table]));
  return Number(row.rows[0]?.n ?? 0);
}

/**
 * After rows of `table` were inserted with ids given by the code, up to `lastId`: the engine's own
 * numbering moves past them (SQLite's AUTOINCREMENT does so by itself; a PostgreSQL identity does not).
 */
export async function idsIssuedThrough(db: AnyDb, table: string, lastId: number): Promise<void> {
  if (engineOf(db) !== 'postgres' || lastId < 1) return;
  await db.executeQuery(
    compiled(
      db,
      `SELECT setval(s.seq, greatest(?, coalesce(pg_sequence_last_value(s.seq), 0)))
         FROM (SELECT pg_get_serial_sequence(?, 'id')::regclass AS seq) s`,
      [lastId, `${PG_SCHEMA}.${table}`],
    ),
  );
}

/**
 * SQL for a row's columns as a compact JSON object text, `{"a":1,"b":"x"}`, the same bytes on both
 * engines (SQLite's json_object; PostgreSQL's own json builders put spaces in).
 */
export function jsonObjectSql(engine: Engine, columns: readonly string[]): string {
  if (engine === 'postgres') {
    const parts = columns.map((c, i) => `'${i === 0 ? '{' : ','}${JSON.stringify(c).replace(/'/g, "''")}:' || coalesce(to_json(${quoted(c)})::text, 'null')`);
    return `(${parts.join(' || ')} || '}')`;
  }
  return `json_object(${columns.map((c) => `'${c.replace(/'/g, "''")}', ${quoted(c)}`).join(', ')})`;
}
