// `crm db copy`, and PostgreSQL's `db backup` / `db restore`: every row of every crm table from one
// open database into another, SQLite or PostgreSQL either way, ids kept. The target has crm's
// schema already (opened and migrated by the caller) and holds no crm data; the copy runs in one
// transaction on the target (all or nothing) and reads the source inside one snapshot.
//
// Memory stays bounded whatever the size: SQLite rows come off a prepared statement's iterator,
// PostgreSQL rows through a cursor in batches; they go into PostgreSQL with COPY … FROM STDIN
// (pg-copy-streams, written in chunks with back-pressure) and into SQLite through one prepared
// INSERT. Tables go parents first; foreign keys are checked at commit. The target's triggers (the
// change log's) are off during the copy, since the source's change log is copied as it is. At the
// end each table's id numbering is moved past the highest id the source ever issued (deleted rows
// included: ids are never reused), and the row counts are checked against what was copied.
import Database from 'better-sqlite3';
import { Kysely } from 'kysely';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type pg from 'pg';
import { ValidationError } from '../domain/errors.js';
import { sqliteHandleOf } from './connection.js';
import { engineOf } from './engine.js';
import { migrateToLatest } from './migrator.js';
import { POSTGRES_ONLY } from './change-log-postgres.js';
import { PG_SCHEMA } from './postgres-ddl.js';
import { PRUNING_NOTES } from './change-log-prune.js';
import { loadCopyFrom, loadPg, loadPgCursor } from './pg-driver.js';
import type { DB } from './schema.js';
import { CrmSqliteDialect } from './sqlite-dialect.js';


/** The part of pg-cursor used here (loaded at run time, beside pg). */
interface CursorLike extends pg.Submittable {
  read(rows: number): Promise<unknown[]>;
  close(): Promise<void>;
}
type CursorClass = new (text: string, values: unknown[], config: { rowMode: 'array'; types: unknown }) => CursorLike;

/** Rows per cursor read on PostgreSQL. */
const BATCH = 2000;
/** Bytes of COPY text gathered before one write to the server. */
const CHUNK = 256 * 1024;

type Side = { engine: 'sqlite'; sqlite: Database.Database } | { engine: 'postgres'; client: pg.PoolClient };

function quoted(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function tableRef(side: Side, table: string): string {
  return side.engine === 'postgres' ? `${quoted(PG_SCHEMA)}.${quoted(table)}` : quoted(table);
}

async function rows<R>(side: Side, text: string, params: unknown[] = []): Promise<R[]> {
  if (side.engine === 'sqlite') return side.sqlite.prepare(text).all(...params) as R[];
  return (await side.client.query(text, params)).rows as R[];
}

async function exec(side: Side, text: string): Promise<void> {
  if (side.engine === 'sqlite') side.sqlite.exec(text);
  else await side.client.query(text);
}

/** crm's tables and their stored (not generated) columns, in column order. */
async function tablesOf(side: Side): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (side.engine === 'sqlite') {
    const names = await rows<{ name: string }>(
      side,
      `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
         AND name NOT LIKE 'kysely\\_%' ESCAPE '\\' AND sql NOT LIKE 'CREATE VIRTUAL%'`,
    );
    for (const { name } of names) {
      out.set(name, (await rows<{ name: string }>(side, 'SELECT name FROM pragma_table_xinfo(?) WHERE hidden = 0 ORDER BY cid', [name])).map((c) => c.name));
    }
  } else {
    const cols = await rows<{ t: string; c: string }>(
      side,
      `SELECT c.table_name AS t, c.column_name AS c FROM information_schema.columns c
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = $1 AND t.table_type = 'BASE TABLE' AND c.is_generated = 'NEVER'
          AND c.table_name NOT LIKE 'kysely\\_%'
        ORDER BY c.table_name, c.ordinal_position`,
      [PG_SCHEMA],
    );
    for (const { t, c } of cols) {
      // The change log's commit bookkeeping is this server's own: positions start afresh on a copy.
      if (POSTGRES_ONLY.tables.has(t) || POSTGRES_ONLY.columns.get(t)?.has(c)) continue;
      if (!out.has(t)) out.set(t, []);
      out.get(t)!.push(c);
    }
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Child → parent table pairs of the foreign keys. */
async function foreignKeysOf(side: Side): Promise<{ child: string; parent: string }[]> {
  if (side.engine === 'sqlite') {
    return rows(side, `SELECT m.name AS child, f."table" AS parent FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table'`);
  }
  return rows(
    side,
    `SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE k.contype = 'f' AND n.nspname = $1`,
    [PG_SCHEMA],
  );
}

/** The tables with parents before children (a cycle, or a table naming itself, is left to the deferred check). */
function parentsFirst(tables: string[], keys: { child: string; parent: string }[]): string[] {
  const parents = new Map<string, string[]>();
  for (const { child, parent } of keys) if (child !== parent) parents.set(child, [...(parents.get(child) ?? []), parent]);
  const done = new Set<string>();
  const visiting = new Set<string>();
  const out: string[] = [];
  const visit = (table: string) => {
    if (done.has(table) || visiting.has(table)) return;
    visiting.add(table);
    for (const parent of parents.get(table) ?? []) if (tables.includes(parent)) visit(parent);
    visiting.delete(table);
    done.add(table);
    out.push(table);
  };
  for (const table of tables) visit(table);
  return out;
}

async function countRows(side: Side, table: string): Promise<number> {
  const [row] = await rows<{ n: number | string }>(side, `SELECT count(*) AS n FROM ${tableRef(side, table)}`);
  return Number(row?.n ?? 0);
}

/** The highest id each table has handed out, deleted rows included (sqlite_sequence, identity sequences). */
async function idsIssued(side: Side): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (side.engine === 'sqlite') {
    const present = await rows(side, `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'`);
    if (present.length === 0) return out;
    for (const r of await rows<{ name: string; seq: number }>(side, 'SELECT name, seq FROM sqlite_sequence')) out.set(r.name, Number(r.seq));
    return out;
  }
  for (const r of await identityColumns(side)) {
    const [last] = await rows<{ n: string | null }>(side, 'SELECT pg_sequence_last_value($1::regclass) AS n', [r.seq]);
    if (last?.n !== null && last?.n !== undefined) out.set(r.table, Number(last.n));
  }
  return out;
}

async function identityColumns(side: Side): Promise<{ table: string; column: string; seq: string }[]> {
  return rows(
    side,
    `SELECT c.relname AS table, a.attname AS column,
            pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname), a.attname) AS seq
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r' AND a.attidentity <> '' AND NOT a.attisdropped`,
    [PG_SCHEMA],
  );
}

/** Moves each table's numbering past the source's highest issued id (and past every id now present). */
async function carryIdsIssued(target: Side, issued: Map<string, number>): Promise<void> {
  if (target.engine === 'postgres') {
    for (const { table, column, seq } of await identityColumns(target)) {
      const [row] = await rows<{ n: string | null }>(target, `SELECT max(${quoted(column)}) AS n FROM ${tableRef(target, table)}`);
      const highest = Math.max(issued.get(table) ?? 0, Number(row?.n ?? 0));
      if (highest > 0) await target.client.query('SELECT setval($1::regclass, $2::bigint, true)', [seq, highest]);
    }
    return;
  }
  const auto = await rows<{ name: string }>(target, `SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%'`);
  for (const { name } of auto) {
    const highest = issued.get(name) ?? 0;
    if (highest <= 0) continue;
    const changed = target.sqlite.prepare('UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?').run(highest, name).changes;
    if (changed === 0) target.sqlite.prepare('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(name, highest);
  }
}

let freshCounts: Map<string, number> | undefined;

/** The rows a newly created crm database holds in each table (its identity, for one): not crm data. */
async function rowsOfANewDatabase(): Promise<Map<string, number>> {
  if (freshCounts) return freshCounts;
  const sqlite = new Database(':memory:');
  const db = new Kysely<DB>({ dialect: new CrmSqliteDialect({ database: sqlite }) });
  try {
    await migrateToLatest(db);
    const side: Side = { engine: 'sqlite', sqlite };
    freshCounts = new Map();
    for (const table of (await tablesOf(side)).keys()) {
      const n = await countRows(side, table);
      if (n > 0) freshCounts.set(table, n);
    }
    return freshCounts;
  } finally {
    await db.destroy();
  }
}

/** The tables of an open crm database that hold more rows than a new one does (its crm data). */
async function tablesWithData(side: Side): Promise<{ table: string; rows: number }[]> {
  const fresh = await rowsOfANewDatabase();
  const out: { table: string; rows: number }[] = [];
  for (const table of (await tablesOf(side)).keys()) {
    // The change log only follows the data (on PostgreSQL it logs rows added too), and so do the
    // notes of its pruning: never the only sign of it, and not worth naming.
    if (table === 'row_changes' || PRUNING_NOTES.includes(table)) continue;
    const n = await countRows(side, table);
    if (n > (fresh.get(table) ?? 0)) out.push({ table, rows: n });
  }
  return out;
}

async function withSide<T>(db: Kysely<DB>, fn: (side: Side) => Promise<T>): Promise<T> {
  if (engineOf(db) === 'sqlite') {
    const sqlite = sqliteHandleOf(db);
    if (!sqlite) throw new Error('database copy: no SQLite handle');
    return fn({ engine: 'sqlite', sqlite });
  }
  const { withPostgresClient } = await import('./postgres.js');
  return withPostgresClient(db, (client) => fn({ engine: 'postgres', client }));
}

/** Whether an open crm database holds crm data (for refusing a copy or restore into it). */
export async function crmDataIn(db: Kysely<DB>): Promise<{ table: string; rows: number }[]> {
  return withSide(db, tablesWithData);
}

/** The rows of a table as arrays of values, in `columns` order, in bounded memory. */
async function* readTable(side: Side, table: string, columns: string[]): AsyncGenerator<unknown[]> {
  const text = `SELECT ${columns.map(quoted).join(', ')} FROM ${tableRef(side, table)}`;
  if (side.engine === 'sqlite') {
    yield* side.sqlite.prepare(text).raw(true).iterate() as IterableIterator<unknown[]>;
    return;
  }
  const driver = loadPg();
  const Cursor = loadPgCursor() as CursorClass;
  // Counts and ids (int8) and sums (numeric) as numbers, as the rest of crm reads them.
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === 20 || oid === 1700 ? Number : driver.types.getTypeParser(oid, format as 'text')) as typeof driver.types.getTypeParser,
  };
  const cursor = side.client.query(new Cursor(text, [], { rowMode: 'array', types }));
  try {
    for (;;) {
      const batch = (await cursor.read(BATCH)) as unknown as unknown[][];
      if (batch.length === 0) break;
      yield* batch;
    }
  } finally {
    await cursor.close();
  }
}

/** One value in COPY's text format. */
function copyField(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return `\\\\x${value.toString('hex')}`;
  const text = String(value);
  return /[\\\t\n\r]/.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : text;
}

async function writeTable(target: Side, table: string, columns: string[], source: AsyncIterable<unknown[]>): Promise<number> {
  let count = 0;
  if (target.engine === 'sqlite') {
    const insert = target.sqlite.prepare(`INSERT INTO ${quoted(table)} (${columns.map(quoted).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
    for await (const row of source) {
      insert.run(...row.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v)));
      count++;
    }
    return count;
  }
  const from = loadCopyFrom();
  const stream: Writable = target.client.query(from(`COPY ${tableRef(target, table)} (${columns.map(quoted).join(', ')}) FROM STDIN`));
  let failure: Error | undefined;
  stream.on('error', (error: Error) => {
    failure = error;
  });
  const finished = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  let chunk = '';
  const flush = async () => {
    if (failure) throw failure;
    if (!stream.write(chunk)) await once(stream, 'drain');
    chunk = '';
  };
  try {
    for await (const row of source) {
      chunk += row.map(copyField).join('\t') + '\n';
      count++;
      if (chunk.length >= CHUNK) await flush();
    }
    if (chunk) await flush();
  } catch (error) {
    stream.destroy(error as Error);
    await finished.catch(() => undefined);
    throw error;
  }
  stream.end();
  await finished;
  return count;
}

export interface CopiedTable {
  table: string;
  rows: number;
}

/**
 * Copies every row of `source` into `target` (both open, both at this binary's schema). Refuses a
 * target holding crm data before anything is written (a ValidationError naming `targetName`).
 * `onTable` hears each table as it is done.
 */
export async function copyDatabase(
  source: Kysely<DB>,
  target: Kysely<DB>,
  targetName: string,
  onTable: (done: CopiedTable) => void = () => undefined,
): Promise<CopiedTable[]> {
  return withSide(source, (src) =>
    withSide(target, async (dst) => {
      const data = await tablesWithData(dst);
      if (data.length > 0) {
        const shown = data.slice(0, 3).map((d) => `${d.rows} row${d.rows === 1 ? '' : 's'} in ${d.table}`).join(', ');
        throw new ValidationError(`${targetName} already holds crm data (${shown}${data.length > 3 ? ', …' : ''}); nothing was written`, {
          hint: 'copy into an empty database: a new file, or a new PostgreSQL database (createdb)',
        });
      }
      const srcTables = await tablesOf(src);
      const dstTables = await tablesOf(dst);
      for (const [table, columns] of srcTables) {
        const other = dstTables.get(table);
        if (!other) throw new ValidationError(`the target has no table ${table}; nothing was written`, { hint: 'both databases must be at the same schema version' });
        const missing = columns.filter((c) => !other.includes(c));
        if (missing.length > 0) throw new ValidationError(`the target's table ${table} has no column ${missing.join(', ')}; nothing was written`);
      }
      // The change log's pruning notes count in its positions, which only a file copied to a file
      // keeps (see the identity below): any other copy starts them afresh.
      const positional = new Set(src.engine !== 'sqlite' || dst.engine !== 'sqlite' ? PRUNING_NOTES : []);
      const order = parentsFirst([...srcTables.keys()].filter((t) => !positional.has(t)), await foreignKeysOf(dst));
      const fresh = await rowsOfANewDatabase();

      // The source as of one moment.
      await exec(src, src.engine === 'sqlite' ? 'BEGIN' : 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      let targetOpen = false;
      try {
        if (src.engine === 'sqlite') src.sqlite.prepare('SELECT count(*) FROM sqlite_master').get(); // takes the snapshot now
        const issued = await idsIssued(src);
        let triggers: { name: string; sql: string }[] = [];
        let pgTriggerTables: string[] = [];
        if (dst.engine === 'sqlite') {
          await exec(dst, 'BEGIN IMMEDIATE');
          targetOpen = true;
          dst.sqlite.pragma('defer_foreign_keys = ON');
          triggers = await rows(dst, `SELECT name, sql FROM sqlite_master WHERE type = 'trigger'`);
          for (const t of triggers) dst.sqlite.exec(`DROP TRIGGER ${quoted(t.name)}`);
        } else {
          await exec(dst, 'BEGIN');
          targetOpen = true;
          await exec(dst, 'SET CONSTRAINTS ALL DEFERRED');
          pgTriggerTables = (
            await rows<{ t: string }>(
              dst,
              `SELECT DISTINCT c.relname AS t FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = $1 AND NOT g.tgisinternal`,
              [PG_SCHEMA],
            )
          ).map((r) => r.t);
          for (const t of pgTriggerTables) await exec(dst, `ALTER TABLE ${tableRef(dst, t)} DISABLE TRIGGER USER`);
        }
        // What a new database holds (its identity) gives way to the source's.
        for (const table of fresh.keys()) if (srcTables.has(table)) await exec(dst, `DELETE FROM ${tableRef(dst, table)}`);

        const copied: CopiedTable[] = [];
        for (const table of order) {
          const columns = srcTables.get(table)!;
          const n = await writeTable(dst, table, columns, readTable(src, table, columns));
          const done = { table, rows: n };
          copied.push(done);
          onTable(done);
        }
        await carryIdsIssued(dst, issued);
        // Export cursors count in the change log's positions, which only a file copied to a file
        // keeps as they were (PostgreSQL numbers commits afresh): any other copy is another
        // database to a cursor, which it then refuses rather than misreads.
        if (src.engine !== 'sqlite' || dst.engine !== 'sqlite') {
          await exec(dst, `DELETE FROM ${tableRef(dst, 'database_identity')}`);
          await exec(dst, `INSERT INTO ${tableRef(dst, 'database_identity')} (id) VALUES ('${globalThis.crypto.randomUUID().replace(/-/g, '')}')`);
        }
        if (dst.engine === 'sqlite') for (const t of triggers) dst.sqlite.exec(t.sql);
        else {
          // The deferred foreign-key checks of the rows just written run now: PostgreSQL cannot
          // ALTER a table that still has them pending.
          await exec(dst, 'SET CONSTRAINTS ALL IMMEDIATE');
          for (const t of pgTriggerTables) await exec(dst, `ALTER TABLE ${tableRef(dst, t)} ENABLE TRIGGER USER`);
        }
        for (const { table, rows: n } of copied) {
          const there = await countRows(dst, table);
          if (there !== n) throw new Error(`database copy: ${table} holds ${there} rows after copying ${n}`);
        }
        await exec(dst, 'COMMIT');
        targetOpen = false;
        return copied.sort((a, b) => (a.table < b.table ? -1 : a.table > b.table ? 1 : 0));
      } finally {
        if (targetOpen) await exec(dst, 'ROLLBACK').catch(() => undefined);
        await exec(src, src.engine === 'sqlite' ? 'COMMIT' : 'ROLLBACK').catch(() => undefined);
      }
    }),
  );
}
