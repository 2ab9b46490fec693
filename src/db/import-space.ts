// `crm import` on PostgreSQL. The import pipeline (parsing, validation, customer resolution,
// duplicates, rejects, audit) is the SQLite one, run against a scratch SQLite file (the "import
// space", a private temp file removed afterwards) that holds just what the import reads from the
// shared database: the rows of the tables it writes, and the keys of the customers it resolves.
// What the import added there is then streamed to PostgreSQL with COPY (tab-separated text, 256 KB
// chunks), straight into the tables or, where row-level security applies, into TEMP staging tables
// merged with INSERT … SELECT; the rows it changed are replayed from its audit entry, all in one
// PostgreSQL transaction: a reader sees all of it or none.
//
// Inside that transaction, before anything is read, the import takes an advisory lock for its kind
// (two runs of the same import at once: the second sees the first's rows and adds nothing twice)
// and locks the tables it writes against other writers (SHARE ROW EXCLUSIVE: readers go on), so the
// copy it validated against cannot go stale and the ids it hands out stay free.
import type Database from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { openDatabase, sqliteOf } from './connection.js';
import { postgresPoolOf } from './postgres.js';
import { PG_SCHEMA } from './postgres-ddl.js';
import { withRetry } from './transaction-retry.js';
import type { DB } from './schema.js';
import { highestIdIssued } from './sqlite.js';
import { defersIndexes } from './sqlite-import.js';

export type ImportSpaceKind = 'customers' | 'sales' | 'activities' | 'tickets';

/** Bytes of COPY text sent per write. */
const CHUNK = 256 * 1024;
/** Rows of a mirrored table written to the scratch file per statement. */
const MIRROR_BATCH = 64;

/** The customer columns a file naming customers is resolved with. */
const CUSTOMER_KEYS = ['id', 'email', 'phone_digits', 'external_id'];

interface Mirror {
  table: string;
  /** The columns copied (undefined: all); NOT NULL columns left out are filled with blanks. */
  columns?: string[];
}

/** What each kind of import reads from the shared database. */
const MIRRORS: Record<ImportSpaceKind, Mirror[]> = {
  customers: [{ table: 'config' }, { table: 'customers' }, { table: 'tags' }, { table: 'customer_tags' }, { table: 'customer_fields' }],
  sales: [{ table: 'config' }, { table: 'customers', columns: CUSTOMER_KEYS }, { table: 'sales' }],
  activities: [
    { table: 'config' },
    { table: 'customers', columns: CUSTOMER_KEYS },
    { table: 'activities', columns: ['id', 'customer_id', 'type', 'at', 'summary'] },
  ],
  tickets: [{ table: 'config' }, { table: 'customers', columns: CUSTOMER_KEYS }, { table: 'tickets' }, { table: 'ticket_ratings' }],
};

/** The tables each kind writes, with ids, in the order their new rows go in (referenced tables first). */
const WRITTEN: Record<ImportSpaceKind, string[]> = {
  customers: ['tags', 'customers'],
  sales: ['sales'],
  activities: ['activities'],
  tickets: ['tickets', 'ticket_events', 'ticket_ratings'],
};
/** Tables without ids whose rows belong to a new row of the first table: copied by that table's id. */
const CHILDREN: Record<ImportSpaceKind, Array<{ table: string; parent: string; column: string }>> = {
  customers: [
    { table: 'customer_tags', parent: 'customers', column: 'customer_id' },
    { table: 'customer_fields', parent: 'customers', column: 'customer_id' },
  ],
  sales: [],
  activities: [],
  tickets: [],
};
/** The keys of the rows an audit entry names, for tables without an id. */
const KEYS: Record<string, string[]> = { customer_tags: ['customer_id', 'tag_id'], customer_fields: ['customer_id', 'key'] };

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
const pgTable = (table: string) => `${q(PG_SCHEMA)}.${q(table)}`;

interface ColumnInfo {
  name: string;
  type: string;
  notnull: number;
  dflt_value: unknown;
  pk: number;
}

function columnsOf(sqlite: Database.Database, table: string): ColumnInfo[] {
  return sqlite.prepare('SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)').all(table) as ColumnInfo[];
}

const UNESCAPE: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** One field of COPY's text format, as a string or null. */
function decodeField(field: string): string | null {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  return field.replace(/\\(.)/g, (_, c: string) => UNESCAPE[c] ?? c);
}

const ESCAPE: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A value in COPY's text format. */
function encodeField(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return `\\\\x${value.toString('hex')}`;
  const text = String(value);
  return /[\\\t\n\r]/.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => ESCAPE[c]!) : text;
}

/** Copies rows of a PostgreSQL table into the scratch file's table of the same name (COPY TO). */
async function mirrorTable(client: pg.PoolClient, sqlite: Database.Database, mirror: Mirror): Promise<void> {
  const info = columnsOf(sqlite, mirror.table);
  const columns = mirror.columns ?? info.map((c) => c.name);
  const fill = info.filter((c) => !columns.includes(c.name) && c.notnull && c.dflt_value === null && !c.pk);
  const numeric = columns.map((name) => /INT|REAL/i.test(info.find((c) => c.name === name)?.type ?? ''));
  const names = [...columns, ...fill.map((c) => c.name)];
  const blanks = fill.map((c) => (/INT|REAL/i.test(c.type) ? 0 : ''));
  const head = `INSERT INTO ${q(mirror.table)} (${names.map(q).join(', ')}) VALUES `;
  const one = `(${names.map(() => '?').join(', ')})`;
  const insert = sqlite.prepare(head + one);
  // MIRROR_BATCH rows to a statement: one statement a row cost a sales import into a database of
  // 1M customers 3.9 s of its 5.3 s mirror.
  const insertMany = sqlite.prepare(head + Array(MIRROR_BATCH).fill(one).join(', '));
  const stream = client.query(copyTo(`COPY (SELECT ${columns.map(q).join(', ')} FROM ${pgTable(mirror.table)}) TO STDOUT`));
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let params: unknown[] = [];
  let held = 0;
  const row = (line: string) => {
    const fields = line.split('\t');
    for (let i = 0; i < fields.length; i++) {
      const v = decodeField(fields[i]!);
      params.push(v !== null && numeric[i] ? Number(v) : v);
    }
    for (const blank of blanks) params.push(blank);
    if (++held === MIRROR_BATCH) {
      insertMany.run(params);
      params = [];
      held = 0;
    }
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const text = rest + decoder.write(chunk);
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      row(text.slice(start, end));
      start = end + 1;
    }
    rest = text.slice(start);
  }
  rest += decoder.end();
  if (rest !== '') row(rest);
  const width = names.length;
  for (let i = 0; i < held; i++) insert.run(params.slice(i * width, (i + 1) * width));
}

/** The highest id PostgreSQL has handed out for a table (its identity, or a larger id put in by hand). */
async function highestPgId(client: pg.PoolClient, table: string): Promise<number> {
  const seq = await client.query<{ seq: string | null }>('SELECT pg_get_serial_sequence($1, $2) AS seq', [pgTable(table), 'id']);
  let issued = 0;
  const name = seq.rows[0]?.seq;
  if (name) {
    const state = await client.query<{ last_value: string; is_called: boolean }>(`SELECT last_value, is_called FROM ${name}`);
    const s = state.rows[0]!;
    issued = s.is_called ? Number(s.last_value) : Number(s.last_value) - 1;
  }
  const max = await client.query<{ max: string | null }>(`SELECT max(id) AS max FROM ${pgTable(table)}`);
  return Math.max(issued, Number(max.rows[0]?.max ?? 0));
}

/**
 * Writes the rows of a scratch query to a PostgreSQL table with COPY: straight into the table when
 * no row-level security policy applies to the importing user (the table's owner, or a database
 * without team roles), else into a TEMP table and then with INSERT … SELECT (COPY FROM is refused
 * on a table whose policies apply). Straight in, 1M customers land in 18 s instead of 23 s.
 */
async function pushRows(client: pg.PoolClient, sqlite: Database.Database, table: string, columns: string[], select: string, params: unknown[]): Promise<number> {
  const list = columns.map(q).join(', ');
  const policed = await client.query<{ active: boolean }>('SELECT row_security_active($1::regclass) AS active', [pgTable(table)]);
  const direct = !policed.rows[0]!.active;
  const stage = q(`crm_import_${table}`);
  if (!direct) await client.query(`CREATE TEMP TABLE ${stage} ON COMMIT DROP AS SELECT ${list} FROM ${pgTable(table)} WITH NO DATA`);
  // A customer imported without an owner belongs to whoever imports it, as with `customer add`
  // (and an own-only member's row-level security policy admits only their own).
  const ownerAt = table === 'customers' ? columns.indexOf('owner') : -1;
  const owner = ownerAt >= 0 ? encodeField((await client.query<{ user: string }>('SELECT session_user AS "user"')).rows[0]!.user) : null;
  const stream = client.query(copyFrom(`COPY ${direct ? pgTable(table) : stage} (${list}) FROM STDIN`));
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  let chunk = '';
  let rows = 0;
  const send = async () => {
    if (!stream.write(chunk)) await new Promise((resolve) => stream.once('drain', resolve));
    chunk = '';
  };
  for (const values of sqlite.prepare(select).raw().iterate(...params) as Iterable<unknown[]>) {
    let line = '';
    for (let i = 0; i < values.length; i++) line += (i === 0 ? '' : '\t') + (i === ownerAt && owner !== null && values[i] === null ? owner : encodeField(values[i]));
    chunk += `${line}\n`;
    rows++;
    if (chunk.length >= CHUNK) await send();
  }
  if (chunk !== '') await send();
  stream.end();
  await done;
  if (direct) return rows;
  if (rows > 0) await client.query(`INSERT INTO ${pgTable(table)} (${list}) SELECT ${list} FROM ${stage}`);
  await client.query(`DROP TABLE ${stage}`);
  return rows;
}

/**
 * Drops the indexes of a PostgreSQL table that no constraint owns (the primary key and unique
 * constraints stay, as does an index a foreign key refers to) and the table's own foreign keys, and
 * returns the statements that make them again. A big import then writes its rows first and builds
 * each index with one sort, as pg_restore does, instead of a random B-tree insert per row; and each
 * foreign key is checked with one join instead of a lookup (and a lock on the row it names) per row.
 * 1M customers into an empty database: 18.3 s instead of 22.2 s; 1M sales naming them by email:
 * 29.1 s instead of 57.4 s, most of it the per-row key checks.
 *
 * Dropping them locks the table against readers until the commit (ACCESS EXCLUSIVE), so this is
 * done only for a big import, only by a member of the table's owner (no one else may), and only once
 * it holds all its tables (lockAllOrNone); readers wait, then see all of it. Nothing stays undone: they are made again in the same transaction, where
 * the database checks every row against them, and a failed import rolls their drop back with the rest.
 */
async function deferIndexes(client: pg.PoolClient, tables: readonly string[]): Promise<string[]> {
  const owned: string[] = [];
  for (const table of tables) {
    const owner = await client.query<{ owns: boolean }>("SELECT pg_has_role(relowner, 'USAGE') AS owns FROM pg_class WHERE oid = $1::regclass", [pgTable(table)]);
    if (owner.rows[0]?.owns) owned.push(table);
  }
  if (owned.length === 0 || !(await lockAllOrNone(client, owned))) return [];
  const rebuild: string[] = [];
  for (const table of owned) {
    const indexes = await client.query<{ name: string; def: string }>(
      `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)`,
      [pgTable(table)],
    );
    const keys = await client.query<{ name: string; def: string }>("SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f'", [pgTable(table)]);
    for (const index of indexes.rows) await client.query(`DROP INDEX ${pgTable(index.name)}`);
    for (const key of keys.rows) await client.query(`ALTER TABLE ${pgTable(table)} DROP CONSTRAINT ${q(key.name)}`);
    rebuild.push(...indexes.rows.map((index) => index.def), ...keys.rows.map((key) => `ALTER TABLE ${pgTable(table)} ADD CONSTRAINT ${q(key.name)} ${key.def}`));
  }
  return rebuild;
}

/** How long a big import tries to hold its tables alone before it writes with their indexes in place. */
const DEFER_LOCK_WAIT_MS = 5000;

/**
 * Takes ACCESS EXCLUSIVE locks on all of `tables` or on none. Waiting for one while holding another
 * closed a circle with a reader that held the one and waited for the other (seen in CI: `crm export`
 * failed with "deadlock detected"). So each try takes them all without waiting (NOWAIT) and, when any
 * is busy, gives back what it took (the savepoint) and tries again shortly. False after
 * DEFER_LOCK_WAIT_MS of busy tables: the import then keeps the indexes, slower but never in anyone's way.
 */
async function lockAllOrNone(client: pg.PoolClient, tables: readonly string[]): Promise<boolean> {
  const deadline = Date.now() + DEFER_LOCK_WAIT_MS;
  for (;;) {
    await client.query('SAVEPOINT crm_import_defer');
    try {
      await client.query(`LOCK TABLE ${tables.map(pgTable).join(', ')} IN ACCESS EXCLUSIVE MODE NOWAIT`);
      await client.query('RELEASE SAVEPOINT crm_import_defer');
      return true;
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT crm_import_defer');
      await client.query('RELEASE SAVEPOINT crm_import_defer');
      if ((error as { code?: string }).code !== '55P03') throw error;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
    }
  }
}

/** Replays one row change of the scratch audit entry on PostgreSQL. */
async function replayChange(client: pg.PoolClient, table: string, rowId: number, op: string, after: Record<string, unknown>): Promise<void> {
  const keys = KEYS[table] ?? ['id'];
  const values = { ...after };
  if (!KEYS[table]) values.id = rowId;
  const columns = Object.keys(values);
  if (op === 'insert') {
    const text = `INSERT INTO ${pgTable(table)} (${columns.map(q).join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`;
    await client.query(text, columns.map((c) => values[c]));
    return;
  }
  const set = columns.filter((c) => !keys.includes(c));
  const text = `UPDATE ${pgTable(table)} SET ${set.map((c, i) => `${q(c)} = $${i + 1}`).join(', ')} WHERE ${keys
    .map((k, i) => `${q(k)} = $${set.length + i + 1}`)
    .join(' AND ')}`;
  await client.query(text, [...set.map((c) => values[c]), ...keys.map((k) => values[k])]);
}

/** The scratch file's audit entry copied into PostgreSQL's trail: its new id there. */
async function pushAudit(client: pg.PoolClient, sqlite: Database.Database, logId: number): Promise<number> {
  const entry = sqlite.prepare('SELECT * FROM audit_log WHERE id = ?').get(logId) as Record<string, unknown>;
  const columns = Object.keys(entry).filter((c) => c !== 'id');
  const inserted = await client.query<{ id: string }>(
    `INSERT INTO ${pgTable('audit_log')} (${columns.map(q).join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`,
    columns.map((c) => entry[c]),
  );
  const pgLogId = Number(inserted.rows[0]!.id);
  for (const table of ['audit_change', 'audit_range']) {
    const columns = columnsOf(sqlite, table)
      .map((c) => c.name)
      .filter((c) => c !== 'id');
    const select = `SELECT ${columns.map((c) => (c === 'log_id' ? `${pgLogId} AS log_id` : q(c))).join(', ')} FROM ${q(table)} WHERE log_id = ? ORDER BY id`;
    await pushRows(client, sqlite, table, columns, select, [logId]);
  }
  return pgLogId;
}

export interface SpaceResult {
  /** The audit entry in the scratch file (null: nothing was written). */
  auditId: number | null;
}

/**
 * Takes the import's table locks. They are taken one table at a time, and a command that wrote one
 * of them (a customer's fields) and goes on to another (the customer's row) can close a circle with
 * them: the server then aborts one side (40P01). When that is the import, only this step is undone
 * (a savepoint) and tried again after a short random pause; the other side, aborted, is retried as
 * every PostgreSQL transaction is (transaction-retry.ts).
 */
async function lockTables(client: pg.PoolClient, statements: readonly string[]): Promise<void> {
  await withRetry(async () => {
    await client.query('SAVEPOINT crm_import_locks');
    try {
      for (const statement of statements) await client.query(statement);
      await client.query('RELEASE SAVEPOINT crm_import_locks');
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT crm_import_locks');
      throw error;
    }
  });
}

/**
 * Runs `run` (the SQLite import) against a scratch file mirroring what an import of `kind` reads
 * from the PostgreSQL database `db`, then writes what it added and changed to `db` in one
 * transaction (unless `dryRun`). Returns run's result with the audit id of the PostgreSQL entry.
 */
export async function importThroughSpace<R extends SpaceResult>(db: Kysely<DB>, kind: ImportSpaceKind, dryRun: boolean, run: (scratch: Kysely<DB>) => Promise<R>): Promise<R> {
  const pool = postgresPoolOf(db);
  if (!pool) throw new Error('importThroughSpace: not a PostgreSQL database');
  const dir = mkdtempSync(join(tmpdir(), 'crm-import-'));
  const client = await pool.connect();
  let scratch: Kysely<DB> | undefined;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`crm import ${kind}`]);
    const written = [...WRITTEN[kind], ...CHILDREN[kind].map((c) => c.table)];
    await lockTables(client, [
      `LOCK TABLE ${written.map(pgTable).join(', ')} IN SHARE ROW EXCLUSIVE MODE`,
      ...(written.includes('customers') ? [] : [`LOCK TABLE ${pgTable('customers')} IN SHARE MODE`]),
    ]);

    scratch = await openDatabase(join(dir, 'space.db'));
    const sqlite = sqliteOf(scratch);
    sqlite.pragma('synchronous = OFF');
    sqlite.pragma('foreign_keys = OFF');
    // The change log is PostgreSQL's business (its triggers log the rows as they land there); the
    // scratch file keeps no history.
    for (const name of sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").pluck().all() as string[]) sqlite.exec(`DROP TRIGGER ${q(name)}`);
    sqlite.exec('BEGIN');
    // The mirrored rows go in without the tables' secondary indexes, which are then built with one
    // sort each: for the keys of 1M customers (a sales import), 0.8 s less than an index entry a row.
    const mirrored = MIRRORS[kind].map((m) => m.table);
    const indexes = sqlite
      .prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${mirrored.map(() => '?').join(', ')})`)
      .all(...mirrored) as Array<{ name: string; sql: string }>;
    for (const index of indexes) sqlite.exec(`DROP INDEX ${q(index.name)}`);
    for (const mirror of MIRRORS[kind]) await mirrorTable(client, sqlite, mirror);
    for (const index of indexes) sqlite.exec(index.sql);
    const before = new Map<string, number>();
    for (const table of WRITTEN[kind]) {
      const issued = await highestPgId(client, table);
      before.set(table, issued);
      sqlite.prepare('DELETE FROM sqlite_sequence WHERE name = ?').run(table);
      sqlite.prepare('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(table, issued);
    }
    sqlite.exec('COMMIT');
    sqlite.pragma('foreign_keys = ON');

    const result = await run(scratch);
    if (dryRun || result.auditId === null) {
      await client.query('ROLLBACK');
      return { ...result, auditId: null };
    }
    const all = (table: string) => columnsOf(sqlite, table).map((c) => c.name);
    // The tables this import adds enough rows to (by the SQLite import's own rule) to defer their indexes.
    const big = (table: string, column: string, first: number) => {
      const count = (test: string) => sqlite.prepare(`SELECT count(*) FROM ${q(table)} WHERE ${q(column)} ${test}`).pluck().get(first) as number;
      return defersIndexes(count('>= ?'), count('< ?'));
    };
    const rebuild = await deferIndexes(client, [
      ...WRITTEN[kind].filter((table) => big(table, 'id', before.get(table)! + 1)),
      ...CHILDREN[kind].filter((child) => big(child.table, child.column, before.get(child.parent)! + 1)).map((child) => child.table),
    ]);
    for (const table of WRITTEN[kind]) {
      const first = before.get(table)! + 1;
      const last = highestIdIssued(sqlite, table);
      if (last < first) continue;
      const columns = all(table);
      await pushRows(client, sqlite, table, columns, `SELECT ${columns.map(q).join(', ')} FROM ${q(table)} WHERE id >= ? ORDER BY id`, [first]);
      const seq = await client.query<{ seq: string | null }>('SELECT pg_get_serial_sequence($1, $2) AS seq', [pgTable(table), 'id']);
      if (seq.rows[0]?.seq) await client.query('SELECT setval($1, $2)', [seq.rows[0].seq, last]);
    }
    // The new rows' tags, fields and ratings need no change-log entry of their own: the rows are
    // logged as added (the mark is gone again before commit, so no one else ever sees it).
    for (const table of new Set(CHILDREN[kind].map((c) => c.parent))) {
      await client.query(`INSERT INTO ${pgTable('change_fresh_rows')} (table_name, first_id) VALUES ($1, $2)`, [table, before.get(table)! + 1]);
    }
    for (const child of CHILDREN[kind]) {
      const columns = all(child.table);
      const first = before.get(child.parent)! + 1;
      await pushRows(client, sqlite, child.table, columns, `SELECT ${columns.map(q).join(', ')} FROM ${q(child.table)} WHERE ${q(child.column)} >= ?`, [first]);
    }
    // The changes to rows that were there before are replayed with every index and key in place.
    for (const statement of rebuild) await client.query(statement);
    const changes = sqlite
      .prepare("SELECT table_name, row_id, op, after FROM audit_change WHERE log_id = ? AND op IN ('insert', 'update') ORDER BY id")
      .all(result.auditId) as Array<{ table_name: string; row_id: number; op: string; after: string }>;
    for (const c of changes) await replayChange(client, c.table_name, c.row_id, c.op, JSON.parse(c.after) as Record<string, unknown>);
    const auditId = await pushAudit(client, sqlite, result.auditId);
    await client.query(`DELETE FROM ${pgTable('change_fresh_rows')}`);
    await client.query('COMMIT');
    return { ...result, auditId };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
    await scratch?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
