// `crm sql`: one read-only statement on a second, read-only connection. Layers of refusal: the
// connection is opened read-only with query_only on, the statement must be a single one that
// SQLite itself calls read-only and that returns rows, and ATTACH/DETACH and PRAGMA (which
// SQLite counts as read-only but which change the connection) are refused by name.
import Database from 'better-sqlite3';
import { applyKey } from '../db/encryption.js';
import { UsageError } from '../domain/errors.js';

export interface QueryColumn {
  name: string;
  /** Every value seen is an integer (or null). */
  integer: boolean;
}

export interface ReadOnlyQuery {
  columns: QueryColumn[];
  rows: Iterable<unknown[]>;
  close(): void;
}

/** The first keyword of a statement, after comments and whitespace. */
export function leadingKeyword(text: string): string {
  const stripped = text.replace(/^(\s+|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)*/, '');
  return (/^[A-Za-z]+/.exec(stripped)?.[0] ?? '').toUpperCase();
}

const REFUSED: Readonly<Record<string, string>> = {
  ATTACH: 'ATTACH would open another database file',
  DETACH: 'DETACH changes the connection',
  PRAGMA: 'PRAGMA statements can change how the database is read or written',
  VACUUM: 'VACUUM rewrites the database file',
  BEGIN: 'transactions are not needed for a read-only query',
  COMMIT: 'transactions are not needed for a read-only query',
  END: 'transactions are not needed for a read-only query',
  ROLLBACK: 'transactions are not needed for a read-only query',
  SAVEPOINT: 'transactions are not needed for a read-only query',
  RELEASE: 'transactions are not needed for a read-only query',
};

const cellValue = (value: unknown) => (Buffer.isBuffer(value) ? `x'${value.toString('hex')}'` : value);

/** Prepares `text` on a read-only connection to `path`; throws a UsageError when it may write. */
export function openReadOnlyQuery(path: string, text: string, key?: Buffer, sample = 200): ReadOnlyQuery {
  if (!text.trim()) throw new UsageError('give a SELECT statement to run', { hint: 'e.g. crm sql "SELECT city, count(*) FROM customers GROUP BY city"' });
  const keyword = leadingKeyword(text);
  const refusal = REFUSED[keyword];
  if (refusal) {
    throw new UsageError(`crm sql runs read-only queries only: ${refusal}`, {
      hint: keyword === 'PRAGMA' ? "read pragmas as tables instead, e.g. SELECT * FROM pragma_table_info('customers')" : 'use a SELECT (or WITH … SELECT) statement',
    });
  }
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    if (key) applyKey(db, key);
    db.pragma('query_only = ON');
    db.pragma('trusted_schema = OFF');
    let stmt: Database.Statement;
    try {
      stmt = db.prepare(text);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/more than one statement/i.test(message)) {
        throw new UsageError('crm sql runs one statement at a time', { hint: 'remove everything after the first statement' });
      }
      throw new UsageError(`the query does not parse: ${message}`);
    }
    if (!stmt.readonly) {
      throw new UsageError(`crm sql runs read-only queries only: this ${keyword || 'statement'} would change the database`, {
        hint: 'change data with the crm commands, which check it and record it in the audit trail',
      });
    }
    if (!stmt.reader) throw new UsageError('the statement returns no rows', { hint: 'use a SELECT (or WITH … SELECT) statement' });
    const names = stmt.columns().map((c) => c.name);
    stmt.raw(true);
    const iterator = (stmt.iterate() as IterableIterator<unknown[]>)[Symbol.iterator]();
    const first: unknown[][] = [];
    for (let i = 0; i < sample; i++) {
      const next = iterator.next();
      if (next.done) break;
      first.push(next.value);
    }
    const columns = names.map((name, i) => ({
      name,
      integer: first.length > 0 && first.every((r) => r[i] === null || (typeof r[i] === 'number' && Number.isInteger(r[i]))) && first.some((r) => r[i] !== null),
    }));
    function* rows(): Generator<unknown[]> {
      for (const row of first) yield row.map(cellValue);
      for (let next = iterator.next(); !next.done; next = iterator.next()) yield next.value.map(cellValue);
    }
    return { columns, rows: rows(), close: () => db.close() };
  } catch (error) {
    db.close();
    if (error instanceof Error && error.name === 'SqliteError') throw new UsageError(`the query failed: ${error.message}`);
    throw error;
  }
}
