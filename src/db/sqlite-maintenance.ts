// The SQLite file as a file: its tables and journal mode, integrity checks, optimising, online
// backups, reading a candidate backup, making a copy self-contained, and purging freed pages.
// postgres-maintenance.ts is its PostgreSQL counterpart; the services decide what to do with
// the answers (which findings fail `db check`, which file may be restored) and never see a handle.
import type Database from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { appliedMigrations } from './applied-migrations.js';
import { sqliteHandleOf, sqliteOf } from './connection.js';
import { applyKey, copyEncryptedFile, writeKeyedCopy } from './encryption.js';
import type { DB } from './schema.js';
import { betterSqlite3 } from './sqlite-driver.js';

export interface SqliteFinding {
  check: 'integrity' | 'foreign_keys';
  status: 'ok' | 'problem';
  detail: string;
}

/** Every table of ours with its row count (SQLite's own and Kysely's bookkeeping left out), by name. */
export function sqliteTableCounts(db: Kysely<DB>): Array<{ table: string; rows: number }> {
  const sqlite = sqliteOf(db);
  const names = sqlite
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'kysely_%' ORDER BY name")
    .pluck()
    .all() as string[];
  // Names come from sqlite_master, not from the user; quoted as identifiers all the same.
  return names.map((table) => ({ table, rows: Number(sqlite.prepare(`SELECT count(*) FROM "${table.replace(/"/g, '""')}"`).pluck().get()) }));
}

export function sqliteJournalMode(db: Kysely<DB>): string {
  return String(sqliteOf(db).pragma('journal_mode', { simple: true }));
}

/**
 * PRAGMA integrity_check and foreign_key_check as findings. A check that cannot even run on a
 * damaged file is itself a problem finding, and the next check still runs.
 */
export function sqliteIntegrity(db: Kysely<DB>): SqliteFinding[] {
  const sqlite = sqliteOf(db);
  const findings: SqliteFinding[] = [];
  const attempt = (check: SqliteFinding['check'], run: () => void) => {
    try {
      run();
    } catch (error) {
      findings.push({ check, status: 'problem', detail: `the check could not finish: ${(error as Error).message}` });
    }
  };
  attempt('integrity', () => {
    const integrity = sqlite.pragma('integrity_check') as { integrity_check: string }[];
    const messages = integrity.map((r) => r.integrity_check).filter((m) => m !== 'ok');
    if (messages.length === 0) findings.push({ check: 'integrity', status: 'ok', detail: 'the file is intact' });
    for (const message of messages) findings.push({ check: 'integrity', status: 'problem', detail: message });
  });
  attempt('foreign_keys', () => {
    const orphans = sqlite.pragma('foreign_key_check') as { table: string; rowid: number | null; parent: string; fkid: number }[];
    if (orphans.length === 0) findings.push({ check: 'foreign_keys', status: 'ok', detail: 'every reference points at an existing row' });
    for (const o of orphans) {
      findings.push({ check: 'foreign_keys', status: 'problem', detail: `${o.table} row ${o.rowid ?? '?'} points at a missing ${o.parent} row` });
    }
  });
  return findings;
}

/** PRAGMA quick_check: what it found besides `ok` (empty when the file passes); throws when it cannot run. */
export function sqliteQuickCheck(db: Kysely<DB>): string[] {
  const rows = sqliteOf(db).pragma('quick_check') as { quick_check: string }[];
  return rows.map((r) => r.quick_check).filter((m) => m !== 'ok');
}

/** Refreshes planner statistics, rebuilds the file (reclaiming free pages) and folds the WAL into it. */
export function optimizeSqlite(db: Kysely<DB>): void {
  const sqlite = sqliteOf(db);
  sqlite.exec('ANALYZE');
  sqlite.pragma('optimize');
  sqlite.exec('VACUUM');
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
}

/**
 * Folds the WAL into the file, rebuilds it with VACUUM and folds again, so erased bytes are gone from
 * the file and its log. False when another connection kept the WAL from being emptied; true at once
 * on PostgreSQL (no file of ours). On failure throws an Error whose message says why in words
 * ("the disk is full", or the driver's message).
 */
export function purgeSqliteFreePages(db: Kysely<DB>): boolean {
  const sqlite = sqliteHandleOf(db);
  if (!sqlite) return true;
  try {
    sqlite.pragma('wal_checkpoint(TRUNCATE)');
    sqlite.exec('VACUUM');
    const [result] = sqlite.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
    return !result || result.busy === 0;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new Error(code === 'SQLITE_FULL' ? 'the disk is full' : error instanceof Error ? error.message : String(error));
  }
}

/** A backup is one self-contained file: no write-ahead log, so opening it (even read-only) leaves no -wal/-shm beside it. */
export function makeSelfContained(path: string): void {
  const copy = new (betterSqlite3())(path, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
}

/**
 * Copies the open database to `target` (an existing private temp file): with the online backup API
 * (a consistent copy while others read and write), made self-contained; with a key on either side
 * written encrypted as it is copied (VACUUM INTO), never plain on disk; or, `salvage` of an
 * encrypted file, byte for byte under its own key.
 */
export async function copyOpenSqlite(db: Kysely<DB>, target: string, keys: { source?: Buffer | undefined; target?: Buffer | undefined; salvage?: boolean }): Promise<void> {
  const sqlite = sqliteOf(db);
  if (keys.salvage && keys.source) {
    copyEncryptedFile(sqlite, target);
  } else if (keys.source || keys.target) {
    writeKeyedCopy(sqlite.name, keys.source, target, keys.target);
  } else {
    await sqlite.backup(target);
    makeSelfContained(target);
  }
}

/** Copies the SQLite file `source` to `target` with the backup API, which also takes in its own WAL. */
export async function copySqliteFile(source: string, target: string): Promise<void> {
  const file = new (betterSqlite3())(source, { readonly: true, fileMustExist: true });
  try {
    await file.backup(target);
  } finally {
    file.close();
  }
}

/**
 * Readies the live file at `path` to be replaced: folds its WAL in and leaves WAL mode, which needs
 * it idle (waiting up to 5 s), so a running crm makes this fail rather than lose its writes.
 */
export function settleForReplacement(path: string, key: Buffer | undefined): void {
  const live = new (betterSqlite3())(path, { fileMustExist: true, timeout: 5000 });
  try {
    if (key) applyKey(live, key);
    live.pragma('wal_checkpoint(TRUNCATE)');
    live.pragma('journal_mode = DELETE');
  } finally {
    live.close();
  }
}

/** What can be read from a SQLite file that might be a crm database; each read may throw. */
export interface SqliteFileFacts {
  appliedMigrations(): string[];
  /** `ok`, or the first thing PRAGMA quick_check found. */
  quickCheck(): string;
  customers(): number;
}

/** Opens `file` read-only (keyed when `key` is given), hands `read` its facts, and closes it. */
export function readSqliteFile<T>(file: string, key: Buffer | undefined, read: (facts: SqliteFileFacts) => T): T {
  let source: Database.Database | undefined;
  try {
    source = new (betterSqlite3())(file, { readonly: true, fileMustExist: true });
    if (key) applyKey(source, key);
    const sqlite = source;
    return read({
      appliedMigrations: () => appliedMigrations(sqlite),
      quickCheck: () => String(sqlite.pragma('quick_check', { simple: true })),
      customers: () => Number(sqlite.prepare('SELECT count(*) FROM customers').pluck().get()),
    });
  } finally {
    source?.close();
  }
}
