// `crm sql` on PostgreSQL: one statement in a READ ONLY transaction with a statement timeout, its
// rows read through a cursor. Only SELECT, WITH, VALUES and TABLE statements are sent (SET could
// lift the timeout); the READ ONLY transaction refuses any write hidden inside one (WITH … DELETE),
// and the extended protocol refuses a second statement. A query that outlives the timeout by a
// moment (a function that changed the setting) is cancelled from another connection.
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { UsageError, ValidationError } from '../domain/errors.js';
import { loadPg, loadPgCursor } from './pg-driver.js';
import type { DB } from './schema.js';


/** The part of pg-cursor used here (loaded at run time, beside pg). */
interface CursorLike extends pg.Submittable {
  read(rows: number): Promise<unknown[]>;
  close(): Promise<void>;
}
type CursorClass = new (text: string, values: unknown[], config: { rowMode: 'array'; types: unknown }) => CursorLike;

const READING = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE']);
const WRITING = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'CREATE', 'DROP', 'ALTER', 'TRUNCATE', 'GRANT', 'REVOKE', 'COPY', 'CALL', 'DO', 'LOCK', 'REINDEX', 'CLUSTER', 'COMMENT', 'REFRESH', 'IMPORT', 'SECURITY', 'REPLACE', 'UPSERT']);
const BATCH = 500;

export interface PostgresQuery {
  names: string[];
  first: unknown[][];
  rest(): AsyncGenerator<unknown[][]>;
  close(): Promise<void>;
}

interface PgError extends Error {
  code?: string;
}

function plain(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) return JSON.stringify(value);
  return value;
}

function translate(error: unknown, keyword: string, seconds: number, timedOut: boolean): Error {
  const e = error as PgError;
  const message = e?.message ?? String(error);
  if (e?.code === '57014' || timedOut) {
    return new ValidationError(`the query ran longer than ${seconds} s and was stopped`, { hint: 'narrow the query (WHERE, LIMIT) or allow it longer with --timeout SECONDS' });
  }
  if (e?.code === '25006') {
    return new UsageError(`crm sql runs read-only queries only: this ${keyword || 'statement'} would change the database`, {
      hint: 'change data with the crm commands, which check it and record it in the audit trail',
    });
  }
  if (/multiple commands/i.test(message)) return new UsageError('crm sql runs one statement at a time', { hint: 'remove everything after the first statement' });
  const table = e?.code === '42P01' ? /relation "([^"]+)" does not exist/.exec(message) : null;
  if (table) return new UsageError(`the query does not parse: no such table: ${table[1]}`);
  const column = e?.code === '42703' ? /column "?([^" ]+)"? does not exist/.exec(message) : null;
  if (column) return new UsageError(`the query does not parse: no such column: ${column[1]}`);
  if (e?.code?.startsWith('42')) return new UsageError(`the query does not parse: ${message}`);
  return new UsageError(`the query failed: ${message}`);
}

/** Starts `text` (already checked for its first keyword) on its own connection. */
export async function openPostgresQuery(db: Kysely<DB>, text: string, keyword: string, timeoutSeconds: number): Promise<PostgresQuery> {
  if (WRITING.has(keyword)) throw translate({ code: '25006' }, keyword, timeoutSeconds, false);
  if (!READING.has(keyword)) {
    throw new UsageError(`crm sql runs read-only queries only: ${keyword || 'this statement'} is not a query`, { hint: 'use a SELECT (or WITH … SELECT) statement' });
  }
  const { postgresClientOf } = await import('./postgres.js');
  const { client, pool } = await postgresClientOf(db);
  const driver = loadPg();
  const Cursor = loadPgCursor() as CursorClass;
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === 20 || oid === 1700 ? Number : driver.types.getTypeParser(oid, format as 'text')) as typeof driver.types.getTypeParser,
  };
  const ms = Math.max(1, Math.round(timeoutSeconds * 1000));
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  let cursor: CursorLike | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    if (timer) clearTimeout(timer);
    try {
      if (cursor) await cursor.close().catch(() => undefined);
      await client.query('ROLLBACK');
      client.release();
    } catch (error) {
      client.release(error as Error);
    }
  };
  try {
    await client.query('BEGIN READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${ms}`);
    const pid = (client as unknown as { processID: number }).processID;
    timer = setTimeout(() => {
      timedOut = true;
      void pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
    }, ms + 1000);
    timer.unref();
    cursor = client.query(new Cursor(text, [], { rowMode: 'array', types }));
    const read = async (): Promise<unknown[][]> => ((await cursor!.read(BATCH)) as unknown as unknown[][]).map((row) => row.map(plain));
    const first = await read();
    const fields = ((cursor as unknown as { _result?: { fields?: { name: string }[] } })._result?.fields ?? []).map((f) => f.name);
    return {
      names: fields,
      first,
      rest: async function* () {
        try {
          for (;;) {
            const batch = await read();
            if (batch.length === 0) return;
            yield batch;
          }
        } catch (error) {
          throw translate(error, keyword, timeoutSeconds, timedOut);
        }
      },
      close,
    };
  } catch (error) {
    await close();
    throw translate(error, keyword, timeoutSeconds, timedOut);
  }
}
