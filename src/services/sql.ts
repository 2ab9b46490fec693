// `crm sql`: one read-only statement on a second, read-only connection. Layers of refusal: the
// connection is opened read-only with query_only on, the statement must be a single one that
// SQLite itself calls read-only and that returns rows, and ATTACH/DETACH and PRAGMA (which
// SQLite counts as read-only but which change the connection) are refused by name.
import type { Kysely } from 'kysely';
import { openPostgresQuery } from '../db/postgres-query.js';
import type { DB } from '../db/schema.js';
import { checkStatement, QueryFailedError, QueryTimeoutError, runQueryInChild } from '../db/query-runner.js';
import { UsageError, ValidationError } from '../domain/errors.js';

export interface QueryColumn {
  name: string;
  /** Every value seen is an integer (or null). */
  integer: boolean;
}

export interface ReadOnlyQuery {
  columns: QueryColumn[];
  rows: AsyncIterable<unknown[]>;
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

export interface QueryOptions {
  /** The key of an encrypted database. */
  key?: Buffer | undefined;
  /** Stop the statement after this many seconds of running (default 60). */
  timeoutSeconds?: number;
  /** Rows sampled to decide which columns are integers. */
  sample?: number;
  /** A PostgreSQL database: the query runs there (READ ONLY transaction, statement timeout), not on `path`. */
  postgres?: Kysely<DB> | undefined;
}

function columnsOf(names: string[], first: unknown[][], sample: number | undefined): QueryColumn[] {
  const sampled = first.slice(0, sample ?? 200);
  return names.map((name, i) => ({
    name,
    integer: sampled.length > 0 && sampled.every((r) => r[i] === null || (typeof r[i] === 'number' && Number.isInteger(r[i]))) && sampled.some((r) => r[i] !== null),
  }));
}

async function openPostgres(db: Kysely<DB>, text: string, keyword: string, options: QueryOptions): Promise<ReadOnlyQuery> {
  const query = await openPostgresQuery(db, text, keyword, options.timeoutSeconds ?? 60);
  async function* rows(): AsyncGenerator<unknown[]> {
    yield* query.first;
    for await (const batch of query.rest()) yield* batch;
  }
  return { columns: columnsOf(query.names, query.first, options.sample), rows: rows(), close: () => void query.close() };
}

/**
 * Checks `text` on a read-only connection to `path` (throws a UsageError when it may write), then
 * runs it in a worker that is stopped after `timeoutSeconds` (a ValidationError: exit 1).
 */
export async function openReadOnlyQuery(path: string, text: string, options: QueryOptions = {}): Promise<ReadOnlyQuery> {
  if (!text.trim()) throw new UsageError('give a SELECT statement to run', { hint: 'e.g. crm sql "SELECT city, count(*) FROM customers GROUP BY city"' });
  const keyword = leadingKeyword(text);
  const refusal = REFUSED[keyword];
  if (refusal) {
    throw new UsageError(`crm sql runs read-only queries only: ${refusal}`, {
      hint: keyword === 'PRAGMA' ? "read pragmas as tables instead, e.g. SELECT * FROM pragma_table_info('customers')" : 'use a SELECT (or WITH … SELECT) statement',
    });
  }
  if (options.postgres) return openPostgres(options.postgres, text, keyword, options);
  const check = checkStatement(path, text, options.key);
  if (!check.parses) {
    if (check.several) throw new UsageError('crm sql runs one statement at a time', { hint: 'remove everything after the first statement' });
    throw new UsageError(`the query does not parse: ${check.message}`);
  }
  if (!check.readonly) {
    throw new UsageError(`crm sql runs read-only queries only: this ${keyword || 'statement'} would change the database`, {
      hint: 'change data with the crm commands, which check it and record it in the audit trail',
    });
  }
  if (!check.reader) throw new UsageError('the statement returns no rows', { hint: 'use a SELECT (or WITH … SELECT) statement' });
  const names = check.names;

  // Prepared and checked above; run where it can be stopped.
  const timeoutSeconds = options.timeoutSeconds ?? 60;
  const query = runQueryInChild(path, text, { timeoutSeconds, key: options.key });
  const chunks = query.chunks();
  const fail = (error: unknown): never => {
    if (error instanceof QueryTimeoutError) {
      throw new ValidationError(error.message, { hint: `narrow the query (WHERE, LIMIT) or allow it longer with --timeout SECONDS` });
    }
    if (error instanceof QueryFailedError) throw new UsageError(`the query failed: ${error.message}`);
    throw error;
  };
  let first: unknown[][] = [];
  try {
    const head = await chunks.next();
    if (!head.done) first = head.value;
  } catch (error) {
    fail(error);
  }
  const columns = columnsOf(names, first, options.sample);
  async function* rows(): AsyncGenerator<unknown[]> {
    yield* first;
    try {
      for await (const chunk of chunks) yield* chunk;
    } catch (error) {
      fail(error);
    }
  }
  return {
    columns,
    rows: rows(),
    close: () => {
      void chunks.return(undefined);
      query.stop();
    },
  };
}
