// Runs the built `crm` the way a user or a script does, against a temp database: in a worker thread of
// the test process by default (test/helpers/in-process.ts), as a child process where a test needs one.
//
// CRM_TEST_BACKEND=postgres (with a server: `eval "$(scripts/pg-test-server.sh start)"`) gives every
// sandbox a fresh PostgreSQL database on that server instead of a SQLite file: `dbPath` is then its
// URL, `run` passes it as --db, and `query`/`dump` read it through psql. Commands not yet verified on
// PostgreSQL are let through (CRM_PG_UNVERIFIED=1), so the suite shows which ones work there.
import { spawnSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { runInProcess } from './in-process.js';

const requireHere = createRequire(import.meta.url);

export const CRM_BIN = fileURLToPath(new URL('../../bin/crm.js', import.meta.url));

/**
 * CRM_TEST_ENCRYPTED=1 runs the whole suite on encrypted databases: every crm the tests spawn gets
 * CRM_KEY_FILE (unless a test sets its own), so each database it creates is encrypted, and the
 * helpers below open encrypted files with that key for assertions.
 */
export const ENCRYPTED = process.env.CRM_TEST_ENCRYPTED === '1';
export const TEST_KEY = 'correct horse battery staple, test key';
let testKeyFile: string | undefined;
/** A private key file holding TEST_KEY (one per test process). */
export function testKeyPath(): string {
  if (!testKeyFile) {
    testKeyFile = join(mkdtempSync(join(tmpdir(), 'crm-key-')), 'key');
    writeFileSync(testKeyFile, `${TEST_KEY}\n`, { mode: 0o600 });
  }
  return testKeyFile;
}

function isEncrypted(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const head = Buffer.alloc(16);
    const read = readSync(fd, head, 0, 16, 0);
    return read === 16 && head.toString('latin1') !== 'SQLite format 3\u0000';
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens a database file with better-sqlite3 (its options), keyed with `key` (default: the test key)
 * when the file is encrypted. Tests use this instead of importing the driver themselves.
 */
export function openDb(path: string, options: Database.Options & { key?: string } = {}): Database.Database {
  const { key, ...driverOptions } = options;
  const db = new Database(path, driverOptions);
  if (isEncrypted(path)) {
    db.pragma("cipher = 'chacha20'");
    db.pragma(`hexkey = '${Buffer.from(key ?? TEST_KEY).toString('hex')}'`);
  }
  return db;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Kill crm after this many milliseconds (a hang becomes a failed assertion, not a stuck suite). */
  timeout?: number;
  /** Run a real crm process even where the in-process one would do (see needsProcess). */
  process?: boolean;
}

/** A fresh folder with a database path in it; `run` passes `--db` for you. */
export interface Sandbox {
  dir: string;
  dbPath: string;
  run(args: readonly string[], options?: RunOptions): RunResult;
  /** Like run, but fails the test with stderr when the exit code is not 0. */
  ok(args: readonly string[], options?: RunOptions): string;
  /** Opens the database read-only for assertions. */
  query<T = Record<string, unknown>>(sql: string, ...params: unknown[]): T[];
  /** Every row of every table, to compare before and after a failed command. */
  dump(): string;
  /** Writes rows straight into a table (test data crm has no command for), on either engine. */
  insert(table: string, rows: readonly Record<string, unknown>[]): void;
  /** Runs writing SQL (`?` placeholders) straight on the database, on either engine. */
  exec(sql: string, ...params: unknown[]): void;
  /**
   * A new sandbox holding a copy of this one's database as it is now (a file copy on SQLite, a
   * template copy on PostgreSQL): a test that writes starts from a shared fixture without replaying
   * the commands that built it, and leaves the fixture as it was for the other tests.
   */
  clone(): Sandbox;
  cleanup(): void;
}

/** Literal SQL for a value, for the psql-based PostgreSQL helpers. */
function pgLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  return `'${String(value).replace(/'/g, "''")}'`;
}

/** Rows into a PostgreSQL table in one statement; the table's id sequence is moved past them. */
function pgInsert(database: string, table: string, rows: readonly Record<string, unknown>[]): void {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const values = rows.map((row) => `(${columns.map((c) => pgLiteral(row[c])).join(', ')})`).join(',\n');
  let statement = `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values}`;
  if (columns.includes('id')) {
    statement += `; SELECT setval(pg_get_serial_sequence('crm.${table}', 'id'), (SELECT max(id) FROM ${table}))`;
  }
  pgQuery(database, statement);
}

function sqliteInsert(path: string, table: string, rows: readonly Record<string, unknown>[]): void {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const db = openDb(path);
  try {
    const statement = db.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
    db.transaction(() => {
      for (const row of rows) statement.run(...columns.map((c) => (typeof row[c] === 'boolean' ? (row[c] ? 1 : 0) : row[c])));
    })();
  } finally {
    db.close();
  }
}

/** A stable environment: no colour, UTC unless a test says otherwise, no inherited CRM_* vars. */
export function baseEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TZ: 'UTC', NO_COLOR: undefined, FORCE_COLOR: undefined };
  for (const key of Object.keys(env)) if (key.startsWith('CRM_')) delete env[key];
  if (ENCRYPTED) env.CRM_KEY_FILE = testKeyPath();
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/**
 * Why a run needs a real `crm` process rather than the in-process one: a time limit (killing it),
 * another time zone (one per process), the debug pauses (they stop the process), `--version`
 * (answered by bin/crm.js before the bundle loads), or a test that asks for one. CRM_TEST_PROCESS=1
 * spawns every run, as the suite did before.
 */
function needsProcess(args: readonly string[], options: RunOptions, env: NodeJS.ProcessEnv): boolean {
  if (options.process || options.timeout !== undefined) return true;
  if (process.env.CRM_TEST_PROCESS === '1') return true;
  if ((env.TZ ?? 'UTC') !== 'UTC') return true;
  if (Object.keys(env).some((key) => key.startsWith('CRM_DEBUG'))) return true;
  return args.some((arg) => arg === '--version' || arg === '-V');
}

/** The bundle bin/crm.js loads. */
const CRM_BUNDLE = new URL('../../dist/crm.js', import.meta.url).href;

// The in-process runs read dates in UTC like the spawned ones (baseEnv gives those TZ=UTC).
process.env.TZ ??= 'UTC';

export function runCrm(args: readonly string[], options: RunOptions = {}): RunResult {
  const env = baseEnv(options.env);
  if (!needsProcess(args, options, env)) {
    return runInProcess(CRM_BUNDLE, [process.execPath, CRM_BIN, ...args], env, options.input ?? '', options.cwd, 10 * 60_000);
  }
  return runCrmProcess(args, options);
}

/** Runs crm as a child process, always (exit codes of a real process, signals, start-up). */
export function runCrmProcess(args: readonly string[], options: RunOptions = {}): RunResult {
  const result = spawnSync(process.execPath, [CRM_BIN, ...args], {
    input: options.input ?? '',
    env: baseEnv(options.env),
    cwd: options.cwd,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: options.timeout,
  });
  if (result.error && (result.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw result.error;
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Spawns crm without waiting (for kill -9 and concurrency tests). */
export function spawnCrm(args: readonly string[], options: RunOptions = {}) {
  return spawn(process.execPath, [CRM_BIN, ...args], { env: baseEnv(options.env), cwd: options.cwd });
}

/** Like runCrm, without blocking: for commands that run while the test does something else. */
export function runCrmAsync(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const child = spawnCrm(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? -1 : 0), stdout, stderr }));
  });
}

/** Runs SQL statements on a SQLite file (created when missing), as another application would. */
export function sqliteExec(path: string, statements: string): void {
  const db = openDb(path);
  try {
    db.exec(statements);
  } finally {
    db.close();
  }
}

/** Reads rows from any SQLite file, read-only. */
export function sqliteQuery<T = Record<string, unknown>>(path: string, sql: string, ...params: unknown[]): T[] {
  const db = openDb(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

export interface HeldLock {
  /** Commits the holder's transaction and waits for its process to end. */
  release(): Promise<void>;
}

/**
 * Another process (not crm) that starts a write transaction on `path` (BEGIN IMMEDIATE), runs
 * `statements` in it and keeps the write lock until released: what a long import looks like to
 * everyone else. Resolves once the lock is held.
 */
export function holdWriteLock(path: string, statements = ''): Promise<HeldLock> {
  if (/^postgres(ql)?:\/\//.test(path)) return holdPostgresTransaction(path, statements);
  const script = `
    const Database = require(process.argv[1]);
    const db = new Database(process.argv[2], { timeout: 10000 });
    if (process.argv[4]) { db.pragma("cipher = 'chacha20'"); db.pragma("hexkey = '" + process.argv[4] + "'"); }
    db.exec('BEGIN IMMEDIATE');
    db.exec(process.argv[3]);
    process.stdout.write('locked\\n');
    process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.exit(0); });`;
  const child = spawn(process.execPath, ['-e', script, requireHere.resolve('better-sqlite3'), path, statements, isEncrypted(path) ? Buffer.from(TEST_KEY).toString('hex') : ''], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ended = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => reject(new Error(`the lock holder exited (${code}) before taking the lock`)));
    child.stdout.once('data', () =>
      resolve({
        release: async () => {
          child.stdin.write('commit\n');
          await ended;
        },
      }),
    );
  });
}

/**
 * On PostgreSQL there is no lock on the whole database: another session (not crm) opens a
 * transaction, runs `statements` in it (taking the row locks they take) and keeps it open until
 * released. Resolves once the statements have run.
 */
function holdPostgresTransaction(url: string, statements: string): Promise<HeldLock> {
  const script = `
    const { Client } = require(process.argv[1]);
    const client = new Client({ connectionString: process.argv[2] });
    (async () => {
      await client.connect();
      await client.query('SET search_path = crm, public');
      await client.query('BEGIN');
      if (process.argv[3]) await client.query(process.argv[3]);
      process.stdout.write('locked\\n');
      process.stdin.once('data', async () => { await client.query('COMMIT'); await client.end(); process.exit(0); });
    })().catch((error) => { console.error(error.message); process.exit(1); });`;
  const child = spawn(process.execPath, ['-e', script, requireHere.resolve('pg'), url, statements], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ended = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => reject(new Error(`the transaction holder exited (${code}) before its statements ran`)));
    child.stdout.once('data', () =>
      resolve({
        release: async () => {
          child.stdin.write('commit\n');
          await ended;
        },
      }),
    );
  });
}

/** The test server's admin URL (scripts/pg-test-server.sh), or undefined when none was started. */
export const PG_TEST_URL: string | undefined = process.env.CRM_TEST_PG_URL || undefined;

/** True when this run puts every sandbox on PostgreSQL. */
export const ON_POSTGRES = process.env.CRM_TEST_BACKEND === 'postgres';
if (ON_POSTGRES && !PG_TEST_URL) throw new Error('CRM_TEST_BACKEND=postgres needs a server: eval "$(scripts/pg-test-server.sh start)"');

/** The test server's URL with another database name. */
export function pgUrl(database: string, base = PG_TEST_URL!): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * Runs SQL on the test server with psql (synchronous, like the SQLite helpers), as JSON rows.
 * `?` placeholders take the params as quoted literals.
 */
export function pgQuery<T = Record<string, unknown>>(database: string, sql: string, ...params: unknown[]): T[] {
  let i = 0;
  const text = params.length === 0 ? sql : sql.replace(/\?/g, () => {
    const value = params[i++];
    if (value === null || value === undefined) return 'NULL';
    if (typeof value === 'number' || typeof value === 'bigint') return String(value);
    return `'${String(value).replace(/'/g, "''")}'`;
  });
  const statement = /^\s*(SELECT|WITH|VALUES)\b/i.test(text)
    ? `SELECT coalesce(json_agg(row_to_json(q)), '[]') FROM (${text}) q`
    : text;
  const result = spawnSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', pgUrl(database), '-c', 'SET search_path = crm, public', '-c', statement], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`psql failed: ${result.stderr}\n${statement}`);
  const out = result.stdout.trim();
  return /^\s*(SELECT|WITH|VALUES)\b/i.test(text) ? (JSON.parse(out || '[]') as T[]) : [];
}

/**
 * Every crm table of a database on the test server, rows ordered by the first column (ties by the
 * rest, so rows keyed by several columns come in key order, whatever order they were written in),
 * in one psql run.
 */
export function pgDump(database: string): string {
  const script = `SET search_path = crm, public;
SELECT format('SELECT %L || '':'' || coalesce((SELECT json_agg(t)::text FROM (SELECT r.* FROM crm.%I r ORDER BY 1, r) t), ''[]'')', tablename, tablename)
FROM pg_tables WHERE schemaname = 'crm' ORDER BY tablename COLLATE "C" \\gexec
`;
  const result = spawnSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', pgUrl(database)], { input: script, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`psql failed: ${result.stderr}`);
  return result.stdout;
}

/** Creates a database on the test server (empty, or a copy of `template`) and returns its name. */
export function createPgDatabase(prefix = 'crm_test', template?: string): string {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  if (!template) {
    pgQuery('postgres', `CREATE DATABASE ${name}`);
    return name;
  }
  // A template must have no other sessions; the server may still be closing those of a crm that
  // has just exited, so a busy template is tried again for a little while.
  for (let attempt = 0; ; attempt++) {
    try {
      pgQuery('postgres', `CREATE DATABASE ${name} TEMPLATE ${template}`);
      break;
    } catch (error) {
      if (attempt >= 50 || !/is being accessed by other users/.test(String(error))) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
  return name;
}

export function dropPgDatabase(name: string): void {
  pgQuery('postgres', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  // Its team's group roles (issue 15) are the server's, not the database's: they go too.
  pgQuery('postgres', `DO $$ DECLARE r text; BEGIN
    FOR r IN SELECT rolname FROM pg_roles WHERE starts_with(rolname, '${name}_crm_') LOOP
      -- A copy of the database (CREATE DATABASE … TEMPLATE) still holds grants to them: then they stay.
      BEGIN EXECUTE format('DROP ROLE %I', r); EXCEPTION WHEN dependent_objects_still_exist THEN NULL; END;
    END LOOP; END $$`);
}

function pgSandbox(template?: string): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'crm-test-'));
  const database = createPgDatabase('crm_test', template);
  const dbPath = pgUrl(database);
  const unverified = { CRM_PG_UNVERIFIED: '1' };
  const box: Sandbox = {
    dir,
    dbPath,
    run: (args, options = {}) => runCrm(['--db', dbPath, ...args], { cwd: dir, ...options, env: { ...unverified, ...options.env } }),
    ok(args, options) {
      const result = box.run(args, options);
      if (result.code !== 0) throw new Error(`crm ${args.join(' ')} exited ${result.code}\n${result.stderr}`);
      return result.stdout;
    },
    query: <T>(sql: string, ...params: unknown[]) => pgQuery<T>(database, sql, ...params),
    dump: () => pgDump(database),
    insert: (table, rows) => pgInsert(database, table, rows),
    exec: (sql, ...params) => void pgQuery(database, sql, ...params),
    clone: () => pgSandbox(database),
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
      dropPgDatabase(database);
    },
  };
  return box;
}

/** The names of crm's tables in the sandbox's database (its own, not the engine's). */
export function tableNames(box: Sandbox): string[] {
  const rows = ON_POSTGRES
    ? box.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'crm' AND tablename NOT LIKE 'kysely_%' ORDER BY tablename COLLATE \"C\"")
    : box.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
  return rows.map((r) => r.name);
}

export function sandbox(): Sandbox {
  if (ON_POSTGRES) return pgSandbox();
  return sqliteSandbox();
}

/** A SQLite sandbox: a fresh folder, with a copy of the database file at `from` when given. */
function sqliteSandbox(from?: string): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'crm-test-'));
  const dbPath = join(dir, 'crm.db');
  if (from && existsSync(from)) {
    for (const suffix of ['', '-wal']) if (existsSync(from + suffix)) copyFileSync(from + suffix, dbPath + suffix);
  }
  const box: Sandbox = {
    dir,
    dbPath,
    run: (args, options = {}) => runCrm(['--db', dbPath, ...args], { cwd: dir, ...options }),
    ok(args, options) {
      const result = box.run(args, options);
      if (result.code !== 0) {
        throw new Error(`crm ${args.join(' ')} exited ${result.code}\n${result.stderr}`);
      }
      return result.stdout;
    },
    query<T>(sql: string, ...params: unknown[]): T[] {
      const db = openDb(dbPath, { readonly: true, fileMustExist: true });
      try {
        return db.prepare(sql).all(...params) as T[];
      } finally {
        db.close();
      }
    },
    dump() {
      const db = openDb(dbPath, { readonly: true, fileMustExist: true });
      try {
        const tables = db
          .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
          .all() as { name: string }[];
        return tables
          .map(({ name }) => `${name}\n${JSON.stringify(db.prepare(`SELECT * FROM "${name}" ORDER BY 1`).all())}`)
          .join('\n');
      } finally {
        db.close();
      }
    },
    insert: (table, rows) => sqliteInsert(dbPath, table, rows),
    exec(sql, ...params) {
      const db = openDb(dbPath);
      try {
        db.prepare(sql).run(...params);
      } finally {
        db.close();
      }
    },
    clone: () => sqliteSandbox(dbPath),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
  return box;
}
