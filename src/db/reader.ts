// The reads behind the hot read paths (`customer list`, `segment show`, `segment rfm`, `export`),
// offered to services by what they return, never as SQL: the statements are composed here and in
// the modules named below, and run through a row source (row-source.ts) that only src/db sees. On
// a SQLite file whose schema is current, the reader runs prepared statements on the raw handle
// without loading Kysely (start-up is most of these commands' cost; see openCurrentReader);
// otherwise, and on PostgreSQL, it reads through the Kysely instance (dialect.ts readerOf).
import type { ChangePosition } from '../domain/change-cursor.js';
import type { ExportKind } from '../domain/imports.js';
import { RFM_PREFIX, type RfmValues } from '../domain/rfm.js';
import type { ExportStream } from './bulk-read.js';
import { customerListSql, type CustomerListQuery, type CustomerListRow } from './customer-list.js';
import type { Engine } from './engine.js';
import { kyselyBehind, openCurrentRowSource, sqliteBehind, type RowSource } from './row-source.js';
import type { SegmentAsOf, SegmentInfo, SegmentMember } from './segment-sql.js';

export type Rows<R> = Iterable<R> | AsyncIterable<R>;

/** A saved segment's row, as a segment lookup reads it. */
export interface SavedSegmentRow {
  name: string;
  expression: string;
  description: string | null;
}

/** `customer list`'s query, and optionally only the members of a segment (as it stands at `now`). */
export type CustomerListRead = Omit<CustomerListQuery, 'where'> & { segment?: { info: SegmentInfo; now: Date } };

export interface Reader {
  readonly engine: Engine;
  /** The customers a list query selects, streamed in its order (synchronously on SQLite). */
  customers(query: CustomerListRead): Promise<Rows<CustomerListRow>>;
  /** A saved segment by name, in any case. */
  savedRow(name: string): Promise<SavedSegmentRow | undefined>;
  /** When the RFM groups were last saved (`segment rfm --save`), if they were. */
  rfmSavedAt(): Promise<string | undefined>;
  /** A segment's members with their spend, orders and last purchase, streamed by id. */
  segmentMembers(segment: SegmentInfo, now: Date, asOf: SegmentAsOf | null): Promise<Rows<SegmentMember>>;
  /** R, F and M of every customer with live purchases (sold by the end of asOf.day when given), in customer order. */
  rfmValues(asOf: SegmentAsOf | null): Promise<RfmValues>;
  /** How many customers there are now, or were as of a day (see segment-sql.ts customersThen). */
  customerCount(asOf: SegmentAsOf | null): Promise<number>;
  /**
   * The rows of an export, in the table's id order. `customerIds` limits it to those customers (and
   * their sales, activities, tickets, deals); undefined: everyone. With `since`, only the rows
   * edited or removed since that position, then those added, each with a `change` of added, edited
   * or removed and its `id`; a removed row carries only its keys. SQLite's export (bulk-read.ts)
   * runs on the raw handle; PostgreSQL's (bulk-read-postgres.ts) loads only for a PostgreSQL URL.
   */
  exportRows(kind: ExportKind, customerIds?: Iterable<number>, since?: ChangePosition): Promise<ExportStream>;
  /** The highest change-log position pruned (0 when none): cursors before it are refused. */
  changeLogHorizon(): Promise<number>;
  /** Where the database's change log stands now; null when it keeps none. */
  currentChangePosition(): Promise<ChangePosition | null>;
}

/** The R, F and M values from a row source; `once`: the read goes over most of the file once. */
export async function readRfmValues(source: RowSource, asOf: SegmentAsOf | null, once: boolean): Promise<RfmValues> {
  const { RFM_AGGREGATE_AS_OF_SQL, RFM_AGGREGATE_SQL } = await import('./segment-sql.js');
  if (once) source.readingOnce();
  const recency: number[] = [];
  const frequency: number[] = [];
  const monetary: number[] = [];
  type Row = [number, number, number, number];
  const rows = asOf === null ? source.iterateRaw<Row>(RFM_AGGREGATE_SQL) : source.iterateRaw<Row>(RFM_AGGREGATE_AS_OF_SQL, [asOf.day]);
  // A plain loop for SQLite's synchronous rows: for-await would cost a promise per customer.
  const add = (row: Row) => {
    recency.push(row[1]);
    frequency.push(row[2]);
    monetary.push(row[3]);
  };
  if (Symbol.iterator in rows) for (const row of rows) add(row);
  else for await (const row of rows) add(row);
  return { recency, frequency, monetary };
}

/** The reader over a row source. */
export function readerOver(source: RowSource): Reader {
  return {
    engine: source.engine,
    async customers(query) {
      let where: CustomerListQuery['where'];
      if (query.segment) {
        const { segmentFragment, sql: fragment } = await import('./segment-sql.js');
        const members = segmentFragment(query.segment.info, query.segment.now, 'customers', source.engine);
        where = fragment`c.id IN (SELECT "customers"."id" FROM "customers" WHERE ${members})`.toSql();
      }
      const { sql, params } = customerListSql(source.engine, { ...query, where });
      return source.iterate<CustomerListRow>(sql, params);
    },
    // segments.name is NOCASE on SQLite, citext on PostgreSQL: found in any case on both.
    savedRow: async (name) => (await source.all<SavedSegmentRow>('SELECT name, expression, description FROM segments WHERE name = ?', [name]))[0],
    rfmSavedAt: async () => (await source.all<{ saved_at: string }>('SELECT saved_at FROM segment_members WHERE segment LIKE ? LIMIT 1', [`${RFM_PREFIX}%`]))[0]?.saved_at,
    async segmentMembers(segment, now, asOf) {
      const { segmentMembersSql } = await import('./segment-sql.js');
      const query = segmentMembersSql(segment, now, source.engine, asOf);
      // The members query may read a good part of a large file, once.
      source.readingOnce();
      return source.iterate<SegmentMember>(query.sql, query.params);
    },
    rfmValues: (asOf) => readRfmValues(source, asOf, true),
    async customerCount(asOf) {
      const { customersThen } = await import('./segment-sql.js');
      const then = customersThen(asOf, source.engine).toSql();
      return Number((await source.all<{ n: number }>(`SELECT count(*) AS n FROM customers c WHERE ${then.sql}`, then.params))[0]!.n);
    },
    async exportRows(kind, customerIds, since) {
      const sqlite = sqliteBehind(source);
      if (sqlite) return (await import('./bulk-read.js')).sqliteExport(sqlite, kind, customerIds, since);
      return (await import('./bulk-read-postgres.js')).postgresExport(kyselyBehind(source), kind, customerIds, since);
    },
    async changeLogHorizon() {
      const { HORIZON_SQL, sqliteChangeHorizon } = await import('./bulk-read.js');
      const sqlite = sqliteBehind(source);
      if (sqlite) return sqliteChangeHorizon(sqlite);
      return Number((await source.all<{ horizon: number }>(HORIZON_SQL))[0]!.horizon);
    },
    async currentChangePosition() {
      const sqlite = sqliteBehind(source);
      if (sqlite) return (await import('./bulk-read.js')).sqliteChangePosition(sqlite);
      return (await import('./bulk-read-postgres.js')).postgresCurrentPosition(kyselyBehind(source));
    },
  };
}

/**
 * A reader of the SQLite file at `path`, opened without Kysely when its schema is already current
 * (see sqlite.ts openCurrentSqlite), with the closer of its connection. Undefined when the file
 * must go through the full open (create, migrate, or a clear error).
 */
export function openCurrentReader(path: string, key: Buffer | undefined): { reader: Reader; close(): void } | undefined {
  const current = openCurrentRowSource(path, key);
  return current && { reader: readerOver(current.rows), close: current.close };
}
