// Opens a shared PostgreSQL database: a `pg` pool behind Kysely's PostgresDialect, libpq's rules
// for the connection (postgres-url.ts), crm's tables in the schema `crm` (search_path set on every
// connection), a connect timeout, and the failures a person can meet turned into one clear line
// each. Loaded only for postgres:// URLs, so SQLite commands never load `pg`.
import { Kysely, PostgresDialect, sql, type PostgresCursorConstructor } from 'kysely';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ConnectionOptions } from 'node:tls';
import type pg from 'pg';
import { ValidationError } from '../domain/errors.js';
import { POSTGRES_ONLY } from './change-log-postgres.js';
import { PG_SCHEMA } from './postgres-ddl.js';
import { checkAndMigrate } from './migrator.js';
import { loadPg, loadPgCursor } from './pg-driver.js';
import { parsePostgresUrl, type PostgresTarget } from './postgres-url.js';
import { RetryingKysely } from './transaction-retry.js';
import type { DB } from './schema.js';

// pgpass is CommonJS and stays outside the bundle, read from node_modules when ~/.pgpass is asked for (pg itself: pg-driver.ts).
const requireHere = createRequire(import.meta.url);

export const CONNECT_TIMEOUT_MS = 5000;

const targets = new WeakMap<Kysely<DB>, PostgresTarget>();
const pools = new WeakMap<Kysely<DB>, pg.Pool>();

/** A client of the pool behind a PostgreSQL Kysely instance (release it), and the pool (for a cancel). */
export async function postgresClientOf(db: Kysely<DB>): Promise<{ client: pg.PoolClient; pool: pg.Pool }> {
  const pool = pools.get(db);
  if (!pool) throw new Error('postgresClientOf: not a PostgreSQL database');
  return { client: await pool.connect(), pool };
}

/**
 * Runs `fn` on one client of the pool behind a PostgreSQL Kysely instance, for the work Kysely has
 * no words for (COPY, a cursor inside one snapshot): `crm db copy`, backup and restore.
 */
export async function withPostgresClient<T>(db: Kysely<DB>, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const pool = pools.get(db);
  if (!pool) throw new Error('withPostgresClient: not a PostgreSQL database');
  const client = await pool.connect();
  try {
    return await fn(client);
  } finally {
    client.release();
  }
}

/** The `pg` pool behind a PostgreSQL Kysely instance, for the bulk paths that speak COPY (import-space.ts). */
export function postgresPoolOf(db: Kysely<DB>): pg.Pool | undefined {
  return pools.get(db);
}

/** The connection target behind a PostgreSQL Kysely instance (its display URL never holds a password). */
export function postgresTargetOf(db: Kysely<DB>): PostgresTarget | undefined {
  return targets.get(db);
}

function tlsOptions(target: PostgresTarget): false | ConnectionOptions {
  const ca = target.sslrootcert ? readFileSync(target.sslrootcert, 'utf8') : undefined;
  switch (target.sslmode) {
    case 'disable':
    case 'allow':
    case 'prefer':
      // pg cannot fall back from TLS to plain text as libpq does: these connect without TLS.
      return false;
    case 'require':
      // libpq: encrypted, server not verified — unless a root certificate is given (then as verify-ca).
      return ca ? { ca, rejectUnauthorized: true, checkServerIdentity: () => undefined } : { rejectUnauthorized: false };
    case 'verify-ca':
      return { ca, rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { ca, rejectUnauthorized: true, servername: target.host };
  }
}

/** ~/.pgpass (or PGPASSFILE), asked only when neither the URL nor PGPASSWORD gave a password. */
function passwordFromPgpass(target: PostgresTarget): () => Promise<string | undefined> {
  return () =>
    new Promise((resolve) => {
      const pgpass = requireHere('pgpass') as (info: object, cb: (password: string | undefined) => void) => void;
      pgpass({ host: target.host, port: target.port, database: target.database, user: target.user }, resolve);
    });
}

interface PgError extends Error {
  code?: string;
  severity?: string;
}

/** The sentence for a failed connection attempt; the password is never part of it. */
export function describeConnectFailure(error: unknown, target: PostgresTarget): ValidationError {
  const e = error as PgError;
  const where = `${target.host}:${target.port}`;
  const message = e?.message ?? String(error);
  const code = e?.code;
  if (code === 'ECONNREFUSED') {
    return new ValidationError(`cannot reach the PostgreSQL server at ${where}: connection refused`, { hint: 'check the host and port, and that the server is running' });
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new ValidationError(`cannot reach the PostgreSQL server at ${where}: no such host`, { hint: 'check the host name in --db / CRM_DB or PGHOST' });
  }
  if (code === 'ETIMEDOUT' || /timeout/i.test(message)) {
    return new ValidationError(`cannot reach the PostgreSQL server at ${where}: no answer within ${CONNECT_TIMEOUT_MS / 1000} s`, { hint: 'check the host and port, and any firewall between you and the server' });
  }
  if (code === '28P01') {
    return new ValidationError(`the PostgreSQL server at ${where} refused the password for user "${target.user}"`, { hint: 'check PGPASSWORD or your ~/.pgpass entry (host:port:database:user:password)' });
  }
  if (/client password must be a string|no password/i.test(message)) {
    return new ValidationError(`the PostgreSQL server at ${where} asks for a password for user "${target.user}" and none was given`, { hint: 'set PGPASSWORD or add a line to ~/.pgpass (host:port:database:user:password, mode 0600)' });
  }
  if (code === '3D000') {
    return new ValidationError(`the database "${target.database}" does not exist on the PostgreSQL server at ${where}`, { hint: `create it first, e.g. createdb -h ${target.host} -p ${target.port} -U ${target.user} ${target.database}` });
  }
  if (/does not support SSL/i.test(message)) {
    return new ValidationError(`the PostgreSQL server at ${where} does not accept TLS connections, and sslmode=${target.sslmode} requires one`, { hint: 'turn TLS on in the server, or use sslmode=disable on a trusted network' });
  }
  if (/certificate|self.signed|altname/i.test(message) || /CERT|ERR_TLS/.test(code ?? '')) {
    return new ValidationError(`the PostgreSQL server's certificate at ${where} was not accepted (sslmode=${target.sslmode}): ${message}`, { hint: 'give the CA that signed it with sslrootcert=FILE (or PGSSLROOTCERT)' });
  }
  if (code === '28000' || code === '42501') {
    return new ValidationError(`the PostgreSQL server at ${where} refused user "${target.user}": ${message}`, { hint: 'ask the database administrator for access' });
  }
  return new ValidationError(`cannot connect to PostgreSQL at ${where}: ${message}`);
}

/** A pool for the target; no connection is made until the first query. */
function createPool(target: PostgresTarget): pg.Pool {
  const driver = loadPg();
  // bigint (int8: counts, ids, cents) and numeric (sums) come back as numbers, as SQLite gives them.
  const toNumber = (text: string) => Number(text);
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === 20 || oid === 1700 ? toNumber : driver.types.getTypeParser(oid, format as 'text')) as typeof driver.types.getTypeParser,
  };
  // A client whose connection fails on our side (no password to give) leaves its socket open and the
  // process waiting on it: close the socket whenever connecting fails.
  class ClosingClient extends driver.Client {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    override connect(callback?: any): any {
      if (!callback) return super.connect();
      super.connect((error: Error | null) => {
        if (error) (this as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
        callback(error, this);
      });
    }
  }
  const pool = new driver.Pool({
    Client: ClosingClient,
    host: target.host,
    port: target.port,
    user: target.user,
    database: target.database,
    // pg treats an undefined password as none given, and its SCRAM step then says so (mapped above).
    password: target.password ?? (passwordFromPgpass(target) as () => Promise<string>),
    ssl: tlsOptions(target),
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // `public` after crm's own schema only so an extension installed there (citext) is found.
    options: `-c search_path=${PG_SCHEMA},public`,
    application_name: 'crm',
    max: 4,
    types,
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  return pool;
}

export interface PostgresOpenOptions {
  env: NodeJS.ProcessEnv;
}

/** Connects (failing fast with a clear line) and returns the Kysely instance; no schema work. */
export async function connectPostgres(url: string, options: PostgresOpenOptions): Promise<Kysely<DB>> {
  const target = parsePostgresUrl(url, options.env);
  const pool = createPool(target);
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw describeConnectFailure(error, target);
  }
  // Every transaction that loses a serialization or deadlock race is run again (transaction-retry.ts).
  const db: Kysely<DB> = new RetryingKysely<DB>({ dialect: new PostgresDialect({ pool, cursor: loadPgCursor() as PostgresCursorConstructor }) });
  targets.set(db, target);
  pools.set(db, pool);
  return db;
}

export interface PostgresStatus {
  url: string;
  serverVersion: string;
  schema: string;
  sizeBytes: number;
  tables: { table: string; rows: number }[];
}

/** The server version, crm's tables with their row counts, and their size on disk. */
export async function postgresStatus(db: Kysely<DB>): Promise<PostgresStatus> {
  const target = targets.get(db);
  const version = await sql<{ v: string }>`SELECT current_setting('server_version') AS v`.execute(db);
  const names = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ${PG_SCHEMA} AND c.relkind = 'r' AND c.relname NOT LIKE 'kysely_%' ORDER BY c.relname COLLATE "C"`.execute(db);
  const tables: { table: string; rows: number }[] = [];
  for (const { name } of names.rows) {
    if (POSTGRES_ONLY.tables.has(name)) continue; // bookkeeping of the change log, not crm's data
    const count = await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.id(PG_SCHEMA, name)}`.execute(db);
    tables.push({ table: name, rows: Number(count.rows[0]?.n ?? 0) });
  }
  const size = await sql<{ bytes: number | null }>`
    SELECT sum(pg_total_relation_size(c.oid)) AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ${PG_SCHEMA} AND c.relkind = 'r'`.execute(db);
  return {
    url: target?.display ?? '',
    serverVersion: version.rows[0]?.v ?? '',
    schema: PG_SCHEMA,
    sizeBytes: Number(size.rows[0]?.bytes ?? 0),
    tables,
  };
}

/**
 * Connects, checks the schema this binary knows against the one in the database, and (unless
 * `migrate` is false) brings it up to date — all migrations in one transaction, under Kysely's
 * advisory lock, so two `crm init` at once apply each migration once.
 */
export async function openPostgresDatabase(url: string, options: PostgresOpenOptions & { migrate?: boolean }): Promise<Kysely<DB>> {
  const db = await connectPostgres(url, options);
  try {
    await checkAndMigrate(db, targets.get(db)!.display, options.migrate);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}
