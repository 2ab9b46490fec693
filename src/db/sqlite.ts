// The raw SQLite side of opening a database, without Kysely: what may be opened at all (regular
// files holding a crm database; other applications' files are refused before anything is written),
// the pragmas every connection needs, drafts of new databases, the id high-water mark, and the
// errors that need SQLite to explain them. Read commands on the hot path (`customer list`) use the
// fast open here to skip loading Kysely and the migrator, which is most of crm's start-up time;
// anything unusual (new file, pending or unknown migrations) falls back to the full open in
// connection.ts.
import type Database from 'better-sqlite3';
import { closeSync, existsSync, openSync, readdirSync, readSync, rmSync, statfsSync, statSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { ValidationError } from '../domain/errors.js';
import { APPLIED_MIGRATIONS_SQL, MIGRATION_TABLE } from './applied-migrations.js';
import { applyKey } from './encryption.js';
import { betterSqlite3 } from './sqlite-driver.js';

// Naming better-sqlite3's compiled addon directly skips the `bindings` package's search of a dozen
// paths, which shaves start-up time; when the addon is not where npm puts it, better-sqlite3 finds
// it as usual.
const requireHere = createRequire(import.meta.url);
let addonPath: string | null | undefined;
function nativeBinding(): string | undefined {
  if (addonPath === undefined) {
    try {
      const path = requireHere.resolve('better-sqlite3/build/Release/better_sqlite3.node');
      addonPath = existsSync(path) ? path : null;
    } catch {
      addonPath = null;
    }
  }
  return addonPath ?? undefined;
}

export const BUSY_TIMEOUT_MS = 5000;
/**
 * How long a command waits for another crm that is upgrading the schema: rebuilding a table of a
 * million rows takes seconds, and a command started meanwhile should wait for it, not fail.
 */
export const MIGRATION_BUSY_TIMEOUT_MS = 120_000;
const SQLITE_MAGIC = 'SQLite format 3\u0000';
/** The first migration, which every crm database has applied; another application's file has not. */
const FIRST_MIGRATION = '20261124_0001_initial';

// The build (scripts/build.mjs) lists migrations/index.ts's names here; undefined when running
// from sources, which simply disables the fast path.
declare const __CRM_MIGRATIONS__: readonly string[] | undefined;
const KNOWN_MIGRATIONS: readonly string[] | undefined = typeof __CRM_MIGRATIONS__ === 'undefined' ? undefined : __CRM_MIGRATIONS__;

/** True when the file starts with the SQLite header (or is empty, which SQLite treats as new). */
export function looksLikeSqlite(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(16);
    const read = readSync(fd, buffer, 0, 16, 0);
    if (read === 0) return true;
    return read === 16 && buffer.toString('latin1') === SQLITE_MAGIC;
  } finally {
    closeSync(fd);
  }
}

/** The files SQLite keeps beside a database while it is open or in a transaction. */
export const SQLITE_SIDE_FILES = ['-journal', '-wal', '-shm'];

/** Where this process builds a new database before linking it into place: `.NAME.PID.new` beside NAME. */
export function draftPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.new`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the drafts (and their SQLite files) of crm processes killed while creating `path`.
 * Best effort: a folder crm may not list or change keeps them.
 */
export function removeAbandonedDrafts(path: string): void {
  const name = basename(path).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`^\\.${name}\\.(\\d+)\\.new(?:-journal|-wal|-shm)?$`);
  try {
    for (const entry of readdirSync(dirname(path))) {
      const pid = pattern.exec(entry)?.[1];
      if (pid && Number(pid) !== process.pid && !isRunning(Number(pid))) rmSync(join(dirname(path), entry), { force: true });
    }
  } catch {
    // Left for a later run.
  }
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a named pipe';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Checks what is at `path` before SQLite opens it: false when nothing is there yet; an error for a
 * folder, anything but a regular file (a named pipe would block the open, a device such as
 * /dev/null would get a journal created beside it) and a file that is not SQLite.
 */
export function databaseFileExists(path: string, encrypted = false): boolean {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  if (st.isDirectory()) throw new ValidationError(`${path} is a directory, not a database file`);
  if (!st.isFile()) {
    throw new ValidationError(`${path} is ${kindOf(st)}, not a database file`, {
      hint: 'point --db (or CRM_DB) at a crm database file, or at a new file name to create one',
    });
  }
  // A second link to the file: perhaps the draft of a crm killed just after linking it into place.
  if (st.nlink > 1) removeAbandonedDrafts(path);
  // An encrypted file has no readable header; the key proves what it is when it is opened.
  if (!encrypted && !looksLikeSqlite(path)) {
    throw new ValidationError(`${path} is not a SQLite database`, {
      hint: 'point --db (or CRM_DB) at a crm database, or at a new file name to create one',
    });
  }
  return true;
}

/** What a SQLite file holds: crm's schema, nothing at all, or another application's tables. */
export type FileContents = 'crm' | 'empty' | 'foreign';

export interface OpenedSqlite {
  sqlite: Database.Database;
  contents: FileContents;
  /** crm's applied migrations, by name (none unless `contents` is `crm`). */
  applied: string[];
}

export interface OpenSqliteOptions {
  readonly?: boolean;
  /** Accept a file without tables (0 bytes, or SQLite with an empty schema): `crm init`. */
  allowEmpty?: boolean;
  /** Accept another application's SQLite file: `crm init --force`. */
  allowForeign?: boolean;
  /** The key of an encrypted file (or of a new one, which is then created encrypted). */
  key?: Buffer | undefined;
}

function connect(path: string, readonly: boolean, key: Buffer | undefined): Database.Database {
  const binding = nativeBinding();
  const sqlite = new (betterSqlite3())(path, {
    readonly,
    fileMustExist: true,
    timeout: BUSY_TIMEOUT_MS,
    ...(binding ? { nativeBinding: binding } : {}),
  });
  try {
    if (key) applyKey(sqlite, key);
    sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  } catch (error) {
    sqlite.close();
    throw error;
  }
  return sqlite;
}

function readContents(sqlite: Database.Database): { contents: FileContents; applied: string[] } {
  const schema = sqlite
    .prepare(`SELECT count(*) AS objects, coalesce(sum(type = 'table' AND name = '${MIGRATION_TABLE}'), 0) AS bookkeeping FROM sqlite_master WHERE substr(name, 1, 7) <> 'sqlite_'`)
    .get() as { objects: number; bookkeeping: number };
  if (schema.objects === 0) return { contents: 'empty', applied: [] };
  if (schema.bookkeeping === 0) return { contents: 'foreign', applied: [] };
  let applied: string[];
  try {
    applied = sqlite.prepare(APPLIED_MIGRATIONS_SQL.names).pluck().all() as string[];
  } catch {
    return { contents: 'foreign', applied: [] };
  }
  return applied.includes(FIRST_MIGRATION) ? { contents: 'crm', applied } : { contents: 'foreign', applied: [] };
}

function refusal(path: string, contents: FileContents): ValidationError {
  if (contents === 'empty') {
    return new ValidationError(`${path} is an empty file, not a crm database`, {
      hint: 'run `crm init` with the same --db to set it up as one, or point --db at a new file name',
    });
  }
  return new ValidationError(`${path} is another application's SQLite database, not a crm database; it was left as it is`, {
    hint: 'point --db (or CRM_DB) at a crm database or a new file name (`crm init --force` adds crm\'s tables to this file)',
  });
}

/** Write-ahead logging, so readers never wait for a writer (set once crm's schema is in the file). */
export function useWriteAheadLog(sqlite: Database.Database): void {
  if (sqlite.readonly) return;
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
}

/**
 * Opens an existing SQLite file with crm's pragmas (busy timeout, foreign keys, WAL), after
 * checking that it holds a crm database. Another application's file, or an empty one unless
 * allowed, is refused before anything is written to it: it is read on a connection that changes
 * nothing (read-only when a write-ahead log is there, so closing does not fold that log in), and
 * write-ahead logging is switched on only for a file that already holds crm's schema.
 */
export function openSqlite(path: string, options: OpenSqliteOptions = {}): OpenedSqlite {
  const readonly = options.readonly ?? false;
  const logPresent = !readonly && existsSync(`${path}-wal`);
  let sqlite = connect(path, readonly || logPresent, options.key);
  try {
    const { contents, applied } = readContents(sqlite);
    if ((contents === 'empty' && !options.allowEmpty) || (contents === 'foreign' && !options.allowForeign)) throw refusal(path, contents);
    if (logPresent) {
      sqlite.close();
      sqlite = connect(path, false, options.key);
    }
    sqlite.pragma('foreign_keys = ON');
    if (contents === 'crm') useWriteAheadLog(sqlite);
    return { sqlite, contents, applied };
  } catch (error) {
    if (sqlite.open) sqlite.close();
    throw error;
  }
}

/**
 * Throws unless `path` is free to hold a crm database: nothing there, an empty file, or a crm
 * database (`crm db restore` replaces it, and must not replace another application's file).
 */
export function checkCrmDatabaseOrNothing(path: string, key?: Buffer): void {
  if (databaseFileExists(path, Boolean(key))) openSqlite(path, { allowEmpty: true, key }).sqlite.close();
}

/**
 * The fast open: a handle when `path` is an existing crm database whose applied migrations are
 * exactly the ones this build knows; otherwise undefined (the caller takes the full path, which
 * creates, migrates or explains what is wrong).
 */
export function openCurrentSqlite(path: string, key?: Buffer): Database.Database | undefined {
  if (!KNOWN_MIGRATIONS) return undefined;
  let opened: OpenedSqlite;
  try {
    if (!databaseFileExists(path, Boolean(key))) return undefined;
    opened = openSqlite(path, { key });
  } catch {
    // Whatever went wrong, the full open reports it properly.
    return undefined;
  }
  const known = [...KNOWN_MIGRATIONS].sort();
  const { sqlite, applied } = opened;
  if (applied.length === known.length && applied.every((name, i) => name === known[i])) return sqlite;
  sqlite.close();
  return undefined;
}

/** Less free space than this beside a file SQLite failed to write means the disk is full. */
const NEARLY_FULL_BYTES = 1 << 20;

function nearlyFull(dir: string): boolean {
  try {
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize < NEARLY_FULL_BYTES;
  } catch {
    return false;
  }
}

/**
 * A full disk does not always reach us as SQLITE_FULL: when SQLite cannot grow the shared-memory
 * index of the write-ahead log (which even a read needs), or a journal, it reports a plain
 * "disk I/O error". Such an error, with the database's disk (or the temporary folder's) full,
 * becomes one that says so; undefined for any other error.
 */
export function diskFullError(error: unknown, path: string): ValidationError | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (!(error instanceof Error) || typeof code !== 'string' || !code.startsWith('SQLITE_IOERR')) return undefined;
  const folder = dirname(resolve(path));
  if (!nearlyFull(folder) && !nearlyFull(tmpdir())) return undefined;
  return new ValidationError(`the disk is full (${error.message})`, {
    hint: `free some space on the disk that holds ${folder} and try again; nothing was changed`,
  });
}

/**
 * The highest id `table` has handed out, deleted rows included (AUTOINCREMENT keeps it in
 * sqlite_sequence): for code that numbers rows itself, so it never reuses an id either.
 */
export function highestIdIssued(sqlite: Database.Database, table: string): number {
  const quoted = `"${table.replace(/"/g, '""')}"`;
  const sql = `SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0), coalesce((SELECT max(id) FROM ${quoted}), 0))`;
  return Number(sqlite.prepare(sql).pluck().get(table) as number | bigint);
}

/**
 * For a connection about to read a large part of the file once (a segment over a million
 * customers): SQLite's own 2 MB page cache instead of the 16 MB better-sqlite3 sets up. A single
 * pass gains nothing from a bigger cache, and filling one costs page faults (about 20% of the CPU
 * of such a read). A memory map was a little faster still but counts the mapped file in the RSS.
 */
export function preferSinglePassReads(sqlite: Database.Database): void {
  sqlite.pragma('cache_size = -2000');
}
