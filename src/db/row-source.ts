// What the hot read paths (`customer list`, `segment show`, `export`) take their rows from: one
// small interface over either engine that runs SQL text, so it never leaves src/db (services get
// a Reader, reader.ts). On SQLite it wraps the better-sqlite3 handle itself, so a read command on a
// current file runs a prepared statement without loading Kysely (start-up is most of its cost) and
// streams synchronously; on PostgreSQL dialect.ts's rowSourceOf reads through Kysely's executor and
// a cursor. SQL is written with `?` placeholders, as in dialect.ts.
import type Database from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Engine } from './engine.js';
import { openCurrentSqlite, preferSinglePassReads } from './sqlite.js';

export interface RowSource {
  readonly engine: Engine;
  /** The rows of a statement, one at a time (synchronously on SQLite). */
  iterate<R>(sql: string, params?: readonly unknown[]): Iterable<R> | AsyncIterable<R>;
  /** The rows of a statement as arrays of their values, in column order (no objects built on SQLite). */
  iterateRaw<R extends unknown[]>(sql: string, params?: readonly unknown[]): Iterable<R> | AsyncIterable<R>;
  /** All rows of a statement. */
  all<R>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Before one statement reads a good part of the database once (SQLite: a small page cache). */
  readingOnce(): void;
}

/** What a row source reads through, for the bulk paths of src/db (bulk-read.ts); services never see it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const behind = new WeakMap<RowSource, Database.Database | Kysely<any>>();

/** The better-sqlite3 handle a SQLite row source reads; undefined on PostgreSQL. */
export function sqliteBehind(source: RowSource): Database.Database | undefined {
  return source.engine === 'sqlite' ? (behind.get(source) as Database.Database) : undefined;
}

/** The Kysely instance a PostgreSQL row source reads through (see dialect.ts rowSourceOf). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function kyselyBehind(source: RowSource): Kysely<any> {
  const db = source.engine === 'postgres' ? behind.get(source) : undefined;
  if (db === undefined) throw new Error('row source: no Kysely instance behind this source');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return db as Kysely<any>;
}

/** Records what a row source reads through (dialect.ts, for PostgreSQL). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function readsThrough(source: RowSource, via: Database.Database | Kysely<any>): RowSource {
  behind.set(source, via);
  return source;
}

/** A row source over a better-sqlite3 handle. */
export function sqliteRowSource(sqlite: Database.Database): RowSource {
  return readsThrough({
    engine: 'sqlite',
    iterate: <R>(sql: string, params: readonly unknown[] = []) => sqlite.prepare(sql).iterate(...params) as IterableIterator<R>,
    iterateRaw: <R extends unknown[]>(sql: string, params: readonly unknown[] = []) => sqlite.prepare(sql).raw(true).iterate(...params) as IterableIterator<R>,
    all: async <R>(sql: string, params: readonly unknown[] = []) => sqlite.prepare(sql).all(...params) as R[],
    readingOnce: () => preferSinglePassReads(sqlite),
  }, sqlite);
}

/**
 * A row source over the SQLite file at `path`, opened without Kysely when its schema is already
 * current (fast start-up; see openCurrentSqlite), with the closer of its connection. Undefined when
 * the file must go through the full open (create, migrate, or a clear error).
 */
export function openCurrentRowSource(path: string, key: Buffer | undefined): { rows: RowSource; close(): void } | undefined {
  const sqlite = openCurrentSqlite(path, key);
  return sqlite && { rows: sqliteRowSource(sqlite), close: () => sqlite.close() };
}
