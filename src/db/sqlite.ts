// The raw SQLite side of opening a database, without Kysely: file checks, the pragmas every
// connection needs, and a quick "is the schema exactly current?" test. Read commands on the hot
// path (`customer list`) use it to skip loading Kysely and the migrator, which is most of crm's
// start-up time; anything unusual (new file, pending or unknown migrations) falls back to the full
// open in connection.ts.
import type Database from 'better-sqlite3';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { applyKey } from './encryption.js';

// better-sqlite3 is CommonJS: require() loads it without the ESM loader's export scan, and naming
// its compiled addon directly skips the `bindings` package's search of a dozen paths. Both shave
// start-up time; when the addon is not where npm puts it, better-sqlite3 finds it as usual.
const requireHere = createRequire(import.meta.url);
const BetterSqlite3 = requireHere('better-sqlite3') as typeof Database;
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
const SQLITE_MAGIC = 'SQLite format 3\u0000';

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

/**
 * Opens the file with crm's pragmas: busy timeout, foreign keys, WAL when writable. With a `key`
 * the connection is keyed first (an encrypted file, or a new one to be created encrypted).
 */
export function openSqlite(path: string, options: { readonly?: boolean; key?: Buffer | undefined } = {}): Database.Database {
  const binding = nativeBinding();
  const sqlite = new BetterSqlite3(path, {
    readonly: options.readonly ?? false,
    fileMustExist: true,
    timeout: BUSY_TIMEOUT_MS,
    ...(binding ? { nativeBinding: binding } : {}),
  });
  try {
    if (options.key) applyKey(sqlite, options.key);
    sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    sqlite.pragma('foreign_keys = ON');
    if (!options.readonly && !sqlite.readonly) {
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = NORMAL');
    }
  } catch (error) {
    sqlite.close();
    throw error;
  }
  return sqlite;
}

/**
 * The fast open: a handle when `path` is an existing SQLite file whose applied migrations are
 * exactly the ones this build knows; otherwise undefined (the caller takes the full path, which
 * creates, migrates or explains what is wrong).
 */
export function openCurrentSqlite(path: string, key?: Buffer): Database.Database | undefined {
  if (!KNOWN_MIGRATIONS) return undefined;
  try {
    if (!key && !looksLikeSqlite(path)) return undefined;
  } catch {
    return undefined;
  }
  let sqlite: Database.Database | undefined;
  try {
    sqlite = openSqlite(path, { key });
    const hasTable = sqlite.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'kysely_migration'").pluck().get();
    const applied = hasTable ? (sqlite.prepare('SELECT name FROM kysely_migration ORDER BY name').pluck().all() as string[]) : [];
    const known = [...KNOWN_MIGRATIONS].sort();
    if (applied.length === known.length && applied.every((name, i) => name === known[i])) return sqlite;
  } catch {
    // Whatever went wrong, the full open reports it properly.
  }
  sqlite?.close();
  return undefined;
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
