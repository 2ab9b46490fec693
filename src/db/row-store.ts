// Row reads and writes by table name and key, for `crm undo`, which puts back whatever rows an
// audit entry names. On SQLite they are prepared statements on the raw connection (thousands of
// rows take milliseconds, not seconds), inside the caller's transaction on that same connection;
// on PostgreSQL they run on the caller's transaction. Table and column names reaching the SQL text
// were checked against the schema by the caller (tableColumns); every value is a parameter.
import { CompiledQuery, type Kysely } from 'kysely';
import type Database from 'better-sqlite3';
import { sqliteHandleOf } from './connection.js';
import { engineOf, toPostgres } from './dialect.js';
import { PG_SCHEMA } from './postgres-ddl.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;
type Values = Record<string, unknown>;
type Bindable = string | number | bigint | Buffer | null;

export interface RowStore {
  read(table: string, key: Values): Promise<Values | undefined>;
  /** Rows removed. */
  remove(table: string, key: Values): Promise<number>;
  insert(table: string, values: Values): Promise<void>;
  update(table: string, key: Values, values: Values): Promise<void>;
  /** Rows removed with ids first..last. */
  removeRange(table: string, first: number, last: number): Promise<number>;
  /** Rows of a statement with `?` placeholders. */
  query<R>(sql: string, params: readonly unknown[]): Promise<R[]>;
  record(logId: number, table: string, rowId: number, op: 'insert' | 'update' | 'delete', before: Values | null, after: Values | null): Promise<void>;
}

const bind = (values: Values) => Object.values(values).map((v) => (v === undefined ? null : v) as Bindable);
const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
const where = (key: Values) =>
  Object.keys(key)
    .map((c) => `${q(c)} = ?`)
    .join(' AND ');

const SQL = {
  read: (table: string, key: Values) => `SELECT * FROM ${q(table)} WHERE ${where(key)}`,
  remove: (table: string, key: Values) => `DELETE FROM ${q(table)} WHERE ${where(key)}`,
  insert: (table: string, values: Values) =>
    `INSERT INTO ${q(table)} (${Object.keys(values).map(q).join(', ')}) VALUES (${Object.keys(values)
      .map(() => '?')
      .join(', ')})`,
  update: (table: string, key: Values, values: Values) =>
    `UPDATE ${q(table)} SET ${Object.keys(values)
      .map((c) => `${q(c)} = ?`)
      .join(', ')} WHERE ${where(key)}`,
  removeRange: (table: string) => `DELETE FROM ${q(table)} WHERE id BETWEEN ? AND ?`,
  record: 'INSERT INTO audit_change (log_id, table_name, row_id, op, before, after) VALUES (?, ?, ?, ?, ?, ?)',
};

function sqliteStore(sqlite: Database.Database): RowStore {
  const statements = new Map<string, Database.Statement>();
  const prepare = (text: string) => {
    let stmt = statements.get(text);
    if (!stmt) {
      stmt = sqlite.prepare(text);
      statements.set(text, stmt);
    }
    return stmt;
  };
  return {
    read: async (table, key) => prepare(SQL.read(table, key)).get(...bind(key)) as Values | undefined,
    remove: async (table, key) => prepare(SQL.remove(table, key)).run(...bind(key)).changes,
    insert: async (table, values) => void prepare(SQL.insert(table, values)).run(...bind(values)),
    update: async (table, key, values) => void prepare(SQL.update(table, key, values)).run(...bind(values), ...bind(key)),
    removeRange: async (table, first, last) => prepare(SQL.removeRange(table)).run(first, last).changes,
    query: async <R>(text: string, params: readonly unknown[]) => prepare(text).all(...params) as R[],
    record: async (logId, table, rowId, op, before, after) =>
      void prepare(SQL.record).run(logId, table, rowId, op, before ? JSON.stringify(before) : null, after ? JSON.stringify(after) : null),
  };
}

function kyselyStore(db: AnyDb): RowStore {
  const run = async <R>(text: string, params: readonly unknown[]) => db.executeQuery<R>(CompiledQuery.raw(toPostgres(text), [...params]));
  return {
    read: async (table, key) => (await run<Values>(SQL.read(table, key), bind(key))).rows[0],
    remove: async (table, key) => Number((await run(SQL.remove(table, key), bind(key))).numAffectedRows ?? 0n),
    insert: async (table, values) => void (await run(SQL.insert(table, values), bind(values))),
    update: async (table, key, values) => void (await run(SQL.update(table, key, values), [...bind(values), ...bind(key)])),
    removeRange: async (table, first, last) => Number((await run(SQL.removeRange(table), [first, last])).numAffectedRows ?? 0n),
    query: async <R>(text: string, params: readonly unknown[]) => (await run<R>(text, params)).rows,
    record: async (logId, table, rowId, op, before, after) =>
      void (await run(SQL.record, [logId, table, rowId, op, before ? JSON.stringify(before) : null, after ? JSON.stringify(after) : null])),
  };
}

/**
 * The row store for a write inside transaction `trx` of `root`: SQLite's raw handle behind root
 * (the same connection the transaction runs on), or the PostgreSQL transaction itself.
 */
export function rowStoreOf(root: AnyDb, trx: AnyDb = root): RowStore {
  const sqlite = engineOf(root) === 'sqlite' ? sqliteHandleOf(root) : undefined;
  return sqlite ? sqliteStore(sqlite) : kyselyStore(trx);
}

/** The column names of one of crm's tables (none when there is no such table). */
export async function tableColumns(db: AnyDb, table: string): Promise<string[]> {
  const query =
    engineOf(db) === 'postgres'
      ? CompiledQuery.raw('SELECT column_name AS name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position', [PG_SCHEMA, table])
      : CompiledQuery.raw('SELECT name FROM pragma_table_info(?)', [table]);
  return (await db.executeQuery<{ name: string }>(query)).rows.map((r) => r.name);
}

/**
 * Foreign keys checked when the transaction commits rather than per statement, for the rest of the
 * transaction (SQLite's defer_foreign_keys; on PostgreSQL crm's foreign keys are declared
 * DEFERRABLE, see postgres-ddl.ts).
 */
export async function deferForeignKeys(trx: AnyDb): Promise<void> {
  const text = engineOf(trx) === 'postgres' ? 'SET CONSTRAINTS ALL DEFERRED' : 'PRAGMA defer_foreign_keys = ON';
  await trx.executeQuery(CompiledQuery.raw(text, []));
}

/** True for the engine's "a foreign key is not satisfied" error. */
export function isForeignKeyViolation(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'SqliteError') return /FOREIGN KEY/.test(error.message);
  return (error as { code?: unknown }).code === '23503';
}

/** True for an error the database engine raised about a statement (not a bug of ours). */
export function isStatementError(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  if (error.name === 'SqliteError') return true;
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string';
}
