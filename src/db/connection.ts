// Opens the one SQLite file. A new database is built beside its final name and linked into place
// only once its schema is complete, so a path holds either nothing or a whole crm database: a
// command killed on first use leaves no half-made file behind. An existing file is checked before
// anything is written to it: folders, pipes and devices, files that are not SQLite, and SQLite
// files of other applications are refused and left exactly as they were (`crm init` takes an empty
// file; `crm init --force` adds crm's tables to another application's file). Then the pragmas every
// command relies on (WAL, busy timeout, foreign keys), and the schema brought up to date.
import type Database from 'better-sqlite3';
import { Kysely } from 'kysely';
import { chmodSync, closeSync, linkSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ValidationError } from '../domain/errors.js';
import type { DB } from './schema.js';
import { migrateToLatest, schemaStatus } from './migrator.js';
import { CrmSqliteDialect } from './sqlite-dialect.js';
import { databaseFileExists, draftPath, openSqlite, removeAbandonedDrafts, SQLITE_SIDE_FILES, useWriteAheadLog } from './sqlite.js';
import { checkDatabaseTarget, isPostgresUrl } from './postgres-url.js';

export { BUSY_TIMEOUT_MS, looksLikeSqlite } from './sqlite.js';

const handles = new WeakMap<Kysely<DB>, Database.Database>();

/** The better-sqlite3 handle behind a Kysely instance, for bulk paths that need prepared statements. */
export function sqliteOf(db: Kysely<DB>): Database.Database {
  const handle = handles.get(db);
  if (!handle) {
    // The commands that still read the SQLite file directly (issue 14 moves them behind src/db).
    throw new ValidationError('this command is not yet available on PostgreSQL', { hint: 'run it on a SQLite database (--db FILE) for now' });
  }
  return handle;
}

/** The better-sqlite3 handle behind a Kysely instance, or undefined (PostgreSQL, a transaction). */
export function sqliteHandleOf(db: Kysely<DB>): Database.Database | undefined {
  return handles.get(db);
}

function kyselyOver(sqlite: Database.Database): Kysely<DB> {
  const db = new Kysely<DB>({ dialect: new CrmSqliteDialect({ database: sqlite }) });
  handles.set(db, sqlite);
  return db;
}

export interface OpenOptions {
  readonly?: boolean;
  /** The environment a postgres:// URL reads PG* variables from (default: the process's). */
  env?: NodeJS.ProcessEnv;
  /** The key of an encrypted file (or of a new file, which is then created encrypted). */
  key?: Buffer | undefined;
  /** Apply pending migrations (default true). `crm db status` opens without migrating. */
  migrate?: boolean;
  /** `crm init`: an existing empty file (0 bytes, or SQLite without tables) may become the database. */
  init?: boolean;
  /** `crm init --force`: add crm's tables to another application's SQLite file. */
  force?: boolean;
}

/**
 * Creates the database at `path` (folder 0700, file 0600): built and migrated in a draft beside it,
 * then linked into place. When another crm creates it first, theirs is kept and the draft dropped.
 */
async function createDatabase(path: string, key: Buffer | undefined): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  removeAbandonedDrafts(path);
  const draft = draftPath(path);
  try {
    try {
      closeSync(openSync(draft, 'wx', 0o600));
    } catch (error) {
      // Reported as the database's path: the draft's name means nothing to the user.
      throw Object.assign(error as Error, { path });
    }
    chmodSync(draft, 0o600);
    const db = kyselyOver(openSqlite(draft, { allowEmpty: true, key }).sqlite);
    try {
      await migrateToLatest(db);
    } finally {
      await db.destroy();
    }
    try {
      linkSync(draft, path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return;
      // A file system without hard links: a rename, which replaces a file created meanwhile.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error;
      if (!databaseFileExists(path, Boolean(key))) renameSync(draft, path);
    }
  } finally {
    for (const suffix of ['', ...SQLITE_SIDE_FILES]) rmSync(`${draft}${suffix}`, { force: true });
  }
}

export async function openDatabase(path: string, options: OpenOptions = {}): Promise<Kysely<DB>> {
  if (isPostgresUrl(path)) {
    const { openPostgresDatabase } = await import('./postgres.js');
    return openPostgresDatabase(path, { env: options.env ?? process.env, migrate: options.migrate });
  }
  checkDatabaseTarget(path);
  if (!databaseFileExists(path, Boolean(options.key))) {
    if (options.readonly) throw new ValidationError(`no database at ${path}`);
    await createDatabase(path, options.key);
  }
  const { sqlite, contents } = openSqlite(path, { readonly: options.readonly, allowEmpty: options.init, allowForeign: options.force, key: options.key });
  const db = kyselyOver(sqlite);
  try {
    const status = await schemaStatus(db);
    if (status.unknown.length > 0) {
      throw new ValidationError(`${path} was written by a newer crm (schema ${status.unknown.at(-1)})`, {
        hint: 'upgrade crm to open this database',
      });
    }
    if (options.migrate !== false && status.pending.length > 0) {
      try {
        await migrateToLatest(db);
      } catch (error) {
        // Another application's tables may clash with crm's: its file stays as it was.
        if (contents !== 'foreign' || !(error instanceof Error)) throw error;
        throw new ValidationError(`crm's tables cannot be added to ${path}: ${error.message}`, { hint: 'nothing was changed; use another --db path' });
      }
    }
    // An empty or adopted file switches to write-ahead logging once it holds crm's schema.
    if (contents !== 'crm') useWriteAheadLog(sqlite);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}
