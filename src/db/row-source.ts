// Where the hot read paths (`customer list`, `segment show`) take their rows from: one small
// interface over either engine. On SQLite it wraps the better-sqlite3 handle itself, so a read
// command on a current file runs a prepared statement without loading Kysely (start-up is most of
// its cost) and streams synchronously; on PostgreSQL dialect.ts's rowSourceOf reads through
// Kysely's executor and a cursor. SQL is written with `?` placeholders, as in dialect.ts.
import type Database from 'better-sqlite3';
import type { Engine } from './engine.js';
import { preferSinglePassReads } from './sqlite.js';

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

/** A row source over a better-sqlite3 handle. */
export function sqliteRowSource(sqlite: Database.Database): RowSource {
  return {
    engine: 'sqlite',
    iterate: <R>(sql: string, params: readonly unknown[] = []) => sqlite.prepare(sql).iterate(...params) as IterableIterator<R>,
    iterateRaw: <R extends unknown[]>(sql: string, params: readonly unknown[] = []) => sqlite.prepare(sql).raw(true).iterate(...params) as IterableIterator<R>,
    all: async <R>(sql: string, params: readonly unknown[] = []) => sqlite.prepare(sql).all(...params) as R[],
    readingOnce: () => preferSinglePassReads(sqlite),
  };
}
