// Opens the one SQLite file: creates it private (0600) in a private folder on first use, refuses
// files that are not SQLite before touching them, sets the pragmas every command relies on (WAL,
// busy timeout, foreign keys), and brings the schema up to date.
import type Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { closeSync, mkdirSync, openSync, statSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ValidationError } from '../domain/errors.js';
import type { DB } from './schema.js';
import { checkAndMigrate } from './migrator.js';
import { looksLikeSqlite, openSqlite } from './sqlite.js';
import { checkDatabaseTarget, isPostgresUrl } from './postgres-url.js';

export { BUSY_TIMEOUT_MS, looksLikeSqlite } from './sqlite.js';

/** Where the database lives: `--db`, else `$CRM_DB`, else the XDG data folder. */
export function resolveDbPath(flag: string | undefined, env: NodeJS.ProcessEnv, home: string): string {
  if (flag) return flag;
  if (env.CRM_DB) return env.CRM_DB;
  const dataHome = env.XDG_DATA_HOME || join(home, '.local', 'share');
  return join(dataHome, 'crm', 'crm.db');
}

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

export interface OpenOptions {
  readonly?: boolean;
  /** The environment a postgres:// URL reads PG* variables from (default: the process's). */
  env?: NodeJS.ProcessEnv;
  /** Apply pending migrations (default true). `crm db status` opens without migrating. */
  migrate?: boolean;
}

/** Creates the folder (0700) and an empty file (0600) if the database does not exist yet. */
function ensureFile(path: string): void {
  let exists = true;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new ValidationError(`${path} is a directory, not a database file`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    exists = false;
  }
  if (exists) {
    if (!looksLikeSqlite(path)) {
      throw new ValidationError(`${path} is not a SQLite database`, {
        hint: 'point --db (or CRM_DB) at a crm database, or at a new file name to create one',
      });
    }
    return;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'wx', 0o600));
  chmodSync(path, 0o600);
}

export async function openDatabase(path: string, options: OpenOptions = {}): Promise<Kysely<DB>> {
  if (isPostgresUrl(path)) {
    const { openPostgresDatabase } = await import('./postgres.js');
    return openPostgresDatabase(path, { env: options.env ?? process.env, migrate: options.migrate });
  }
  checkDatabaseTarget(path);
  if (!options.readonly) ensureFile(path);
  else if (!looksLikeSqlite(path)) throw new ValidationError(`${path} is not a SQLite database`);
  const sqlite = openSqlite(path, { readonly: options.readonly });
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
  handles.set(db, sqlite);
  try {
    await checkAndMigrate(db, path, options.migrate);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}
