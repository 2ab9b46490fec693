// The database file itself: status, integrity checks, optimisation, online backups and restores.
// Backups use SQLite's online backup API (a consistent copy while others read and write);
// a restore checks the candidate is a crm database, then swaps it in with a rename. What is
// particular to each engine is asked of src/db (sqlite-maintenance.ts, postgres-maintenance.ts).
import type { Kysely } from 'kysely';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { looksLikeSqlite } from '../db/connection.js';
import { appliedMigrations } from '../db/applied-migrations.js';
import { engineOf } from '../db/engine.js';
import { pruneChangeLog } from '../db/change-log-prune.js';
import { createTempBeside, keepModeOf, releaseTemp } from '../db/private-files.js';
import { CIPHER_DESCRIPTION, fileState, writeKeyedCopy } from '../db/encryption.js';
import type { DB } from '../db/schema.js';
import {
  copyOpenSqlite,
  copySqliteFile,
  makeSelfContained,
  optimizeSqlite,
  readSqliteFile,
  settleForReplacement,
  sqliteIntegrity,
  sqliteJournalMode,
  sqliteQuickCheck,
  sqliteTableCounts,
} from '../db/sqlite-maintenance.js';
import { ValidationError } from '../domain/errors.js';
import { migrations } from '../../migrations/index.js';
import { beginAudit, type WriteMeta } from './audit.js';
import { getSetting } from './config.js';

/** Size of the main file plus its write-ahead log, in bytes. */
export function fileSize(path: string): number {
  let total = 0;
  for (const file of [path, `${path}-wal`]) {
    try {
      total += statSync(file).size;
    } catch {
      // no such file
    }
  }
  return total;
}

export interface TableCount {
  table: string;
  rows: number;
}

export interface DatabaseStatus {
  path: string;
  sizeBytes: number;
  schemaVersion: string | null;
  applied: number;
  pending: string[];
  journalMode: string;
  /** `no`, or the cipher the file is encrypted with (never the key). */
  encryption: string;
  tables: TableCount[];
}

export async function databaseStatus(db: Kysely<DB>, path: string, pending: string[], applied: string[]): Promise<DatabaseStatus> {
  return {
    path,
    sizeBytes: fileSize(path),
    schemaVersion: applied.at(-1) ?? null,
    applied: applied.length,
    pending,
    journalMode: sqliteJournalMode(db),
    encryption: fileState(path) === 'encrypted' ? CIPHER_DESCRIPTION : 'no',
    tables: sqliteTableCounts(db),
  };
}

export interface CheckFinding {
  /** Which check: `integrity`, `foreign_keys` (issue 8 adds data-quality checks). */
  check: string;
  /** `ok`, `problem` (exit 1) or `warning`. */
  status: 'ok' | 'problem' | 'warning';
  detail: string;
}

export interface CheckResult {
  ok: boolean;
  findings: CheckFinding[];
}

/**
 * The engine's integrity and foreign-key checks, as findings; `ok` is false on any problem. A check
 * that cannot even run on a damaged file is itself a problem finding, and the next check still runs.
 */
export async function checkDatabase(db: Kysely<DB>): Promise<CheckResult> {
  const findings: CheckFinding[] = engineOf(db) === 'postgres' ? await (await import('../db/postgres-maintenance.js')).postgresIntegrity(db) : sqliteIntegrity(db);
  return { ok: findings.every((f) => f.status !== 'problem'), findings };
}

/** PRAGMA quick_check: null when the file passes, else what it found (first lines). */
export function quickCheckProblem(db: Kysely<DB>): string | null {
  try {
    const messages = sqliteQuickCheck(db);
    if (messages.length === 0) return null;
    return messages.slice(0, 3).join('; ') + (messages.length > 3 ? ` (and ${messages.length - 3} more)` : '');
  } catch (error) {
    return (error as Error).message;
  }
}

export interface OptimizeResult {
  beforeBytes: number;
  afterBytes: number;
  /** Change-log entries pruned, being older than keepDays (setting change_log_days). */
  changeLog: { pruned: number; keepDays: number; allowed: boolean };
}

/**
 * Prunes the change log to its kept window, then refreshes planner statistics, folds the WAL into
 * the file and reclaims free pages (the pruned entries' among them).
 */
export async function optimizeDatabase(db: Kysely<DB>, path: string, now: Date): Promise<OptimizeResult> {
  const keepDays = Number(await getSetting(db, 'change_log_days'));
  const beforeBytes = engineOf(db) === 'postgres' ? undefined : fileSize(path);
  const { pruned, allowed } = await pruneChangeLog(db, now, keepDays);
  const changeLog = { pruned, keepDays, allowed };
  if (engineOf(db) === 'postgres') {
    const { optimizePostgres } = await import('../db/postgres-maintenance.js');
    return { ...(await optimizePostgres(db)), changeLog };
  }
  optimizeSqlite(db);
  return { beforeBytes: beforeBytes!, afterBytes: fileSize(path), changeLog };
}

/**
 * `backups/<prefix>-YYYYMMDD-HHMMSS.db` beside the database, stamped in local time:
 * `crm-…` for `db backup`, `crm-before-restore-…` for the copy a restore keeps.
 */
export function defaultBackupPath(dbPath: string, now: Date, prefix = 'crm'): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return join(dirname(dbPath), 'backups', `${prefix}-${stamp}.db`);
}

/** Keys for copies: the source's (none when plain) and the copy's (none: a plain copy). */
export interface CopyKeys {
  source?: Buffer | undefined;
  target?: Buffer | undefined;
  /** The database is damaged and is copied anyway (`db backup --salvage`). */
  salvage?: boolean;
}

/**
 * Copies the open database to `target` with the online backup API: into a private (0600) temp
 * file beside the target, then renamed into place, so a half-written backup never has its name.
 * With keys the copy is written encrypted instead (VACUUM INTO), never plain on disk. A damaged
 * database is salvaged as it is: a plain one page by page (the backup API copies the damage too),
 * an encrypted one byte for byte under its own key (never decrypted, so never plain on disk).
 */
export async function backupDatabase(db: Kysely<DB>, target: string, keys: CopyKeys = {}): Promise<{ path: string; bytes: number }> {
  const keyChange = keys.source ? !keys.target || !keys.target.equals(keys.source) : Boolean(keys.target);
  if (keys.salvage && keyChange) {
    // Re-encrypting (or decrypting) means reading every page, which the damage prevents.
    throw new ValidationError('a salvage copy of a damaged database is the file as it is, under its own key (if any); it cannot be written under another key, so nothing was written', {
      hint: 'salvage without --backup-key-file, then change the key of what you rescued',
    });
  }
  mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
  const temp = createTempBeside(target);
  try {
    await copyOpenSqlite(db, temp, keys);
    keepModeOf(target, temp);
    renameSync(temp, target);
    releaseTemp(temp);
  } catch (error) {
    releaseTemp(temp, true);
    throw error;
  }
  return { path: target, bytes: statSync(target).size };
}

export interface RestoreCandidate {
  schemaVersion: string | null;
  migrations: number;
  customers: number;
}

/** Checks that `file` is a crm database this binary can open; throws a ValidationError if not. */
export function inspectCrmDatabase(file: string, key?: Buffer): RestoreCandidate {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    throw new ValidationError(`${file}: no such file`);
  }
  if (!stat.isFile() || stat.size === 0 || (!key && !looksLikeSqlite(file))) {
    throw new ValidationError(`${file} is not a SQLite database`, { hint: 'restore a file written by `crm db backup`' });
  }
  try {
    return readSqliteFile(file, key, (source) => {
      const applied = source.appliedMigrations();
      if (applied.length === 0) throw new ValidationError(`${file} is a SQLite database but not a crm database (no migration table)`);
      if (!(applied[0]! in migrations)) {
        throw new ValidationError(`${file} is a SQLite database but not a crm database (unknown migrations)`);
      }
      const unknown = applied.filter((name) => !(name in migrations));
      if (unknown.length > 0) {
        throw new ValidationError(`${file} was written by a newer crm (schema ${unknown.at(-1)})`, { hint: 'upgrade crm before restoring it' });
      }
      const quick = source.quickCheck();
      if (quick !== 'ok') throw new ValidationError(`${file} is damaged: ${quick}`);
      return { schemaVersion: applied.at(-1) ?? null, migrations: applied.length, customers: source.customers() };
    });
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError(`${file} cannot be read as a crm database (${(error as Error).message})`);
  }
}

/**
 * Replaces the database at `dbPath` with a copy of `file`. The copy is made beside the database
 * (0600) with the backup API, which also takes in `file`'s own WAL. The live database is switched
 * out of WAL mode first (which needs it to be idle, so a running crm makes this fail rather than
 * lose its writes); its old bytes are kept at `keepOldAt` when given; then the copy is renamed into
 * place and stray -wal/-shm files are removed, so no stale log can replay onto the restored file.
 * Call with no connection of ours to `dbPath` open.
 */
export async function restoreDatabase(file: string, dbPath: string, keepOldAt?: string, keys: { backup?: Buffer | undefined; live?: Buffer | undefined } = {}): Promise<RestoreCandidate> {
  const candidate = inspectCrmDatabase(file, keys.backup);
  mkdirSync(dirname(dbPath), { recursive: true, mode: 0o700 });
  const temp = createTempBeside(dbPath);
  let keepTemp: string | undefined;
  try {
    if (keys.backup) {
      // An encrypted backup is restored encrypted, under its own key.
      rmSync(temp, { force: true });
      writeKeyedCopy(file, keys.backup, temp, keys.backup);
    } else {
      await copySqliteFile(file, temp);
    }
    chmodSync(temp, 0o600);
    if (existsSync(dbPath)) {
      settleForReplacement(dbPath, keys.live);
      if (keepOldAt) {
        // Copied under a temp name and renamed: a copy cut short never carries the kept file's name.
        mkdirSync(dirname(keepOldAt), { recursive: true, mode: 0o700 });
        keepTemp = createTempBeside(keepOldAt);
        copyFileSync(dbPath, keepTemp);
        chmodSync(keepTemp, 0o600);
        renameSync(keepTemp, keepOldAt);
        releaseTemp(keepTemp);
        keepTemp = undefined;
      }
    }
    rmSync(`${dbPath}-wal`, { force: true });
    rmSync(`${dbPath}-shm`, { force: true });
    keepModeOf(dbPath, temp);
    renameSync(temp, dbPath);
    releaseTemp(temp);
  } catch (error) {
    releaseTemp(temp, true);
    if (keepTemp) releaseTemp(keepTemp, true);
    throw error;
  }
  return candidate;
}

/** Notes a change to the file as a whole (encrypted, decrypted, rekeyed) in its trail; no rows change. */
export async function recordFileEvent(db: Kysely<DB>, action: string, summary: string, meta: WriteMeta): Promise<number> {
  return db.transaction().execute(async (trx) => (await beginAudit(trx, meta, { action, entity: 'database', summary })).logId);
}

/**
 * Notes a restore in the restored database's own trail (who, when, from which file, where the
 * replaced file was kept). It records no row changes: `crm undo` refuses it and points at the kept file.
 * The restored database takes a new identity: its history has parted from the one export cursors
 * were taken from (rows added after the backup are gone, new ones will reuse their positions), so
 * every earlier cursor is refused and the next sync starts from a full export.
 */
export async function recordRestore(db: Kysely<DB>, input: { source: string; keptAt?: string | undefined }, meta: WriteMeta): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const audit = await beginAudit(trx, meta, {
      action: 'db.restore',
      entity: 'database',
      summary: `restored from ${input.source}${input.keptAt ? `; the replaced file is ${input.keptAt}` : ''}`,
    });
    await trx.updateTable('database_identity').set({ id: randomUUID().replace(/-/g, '') }).execute();
    return audit.logId;
  });
}

/**
 * `crm db backup FILE` on PostgreSQL: every row copied into a new crm SQLite file (0600), built
 * under a temp name beside FILE and renamed into place when complete; `crm --db FILE` opens it as it is.
 */
export async function backupToSqliteFile(db: Kysely<DB>, target: string): Promise<{ path: string; bytes: number; rows: number }> {
  const { openDatabase } = await import('../db/connection.js');
  const { copyDatabase } = await import('../db/database-copy.js');
  mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
  const temp = createTempBeside(target);
  try {
    const file = await openDatabase(temp, { init: true });
    let rows = 0;
    try {
      rows = (await copyDatabase(db, file, target)).reduce((sum, t) => sum + t.rows, 0);
    } finally {
      await file.destroy();
    }
    makeSelfContained(temp);
    keepModeOf(target, temp);
    renameSync(temp, target);
    releaseTemp(temp);
    return { path: target, bytes: statSync(target).size, rows };
  } catch (error) {
    releaseTemp(temp, true);
    throw error;
  } finally {
    for (const suffix of ['-wal', '-shm', '-journal']) rmSync(`${temp}${suffix}`, { force: true });
  }
}

/**
 * `crm db restore FILE` on PostgreSQL: a crm SQLite file (checked first) copied into the open,
 * empty database. The file is read through a private scratch copy brought up to this binary's
 * schema, so an older backup restores too and the file itself is never changed.
 */
export async function restoreFromSqliteFile(db: Kysely<DB>, file: string, key: Buffer | undefined, targetName: string): Promise<{ candidate: RestoreCandidate; rows: number }> {
  const candidate = inspectCrmDatabase(file, key);
  const { openDatabase } = await import('../db/connection.js');
  const { copyDatabase, crmDataIn } = await import('../db/database-copy.js');
  const data = await crmDataIn(db);
  if (data.length > 0) {
    throw new ValidationError(`${targetName} already holds crm data (${data.slice(0, 3).map((d) => `${d.rows} row${d.rows === 1 ? '' : 's'} in ${d.table}`).join(', ')}${data.length > 3 ? ', …' : ''}); nothing was written`, {
      hint: 'restore into an empty database: create a new one (createdb) and point --db at it',
    });
  }
  const scratchDir = mkdtempSync(join(tmpdir(), 'crm-restore-'));
  const scratch = join(scratchDir, 'restore.db');
  try {
    if (key) {
      writeKeyedCopy(file, key, scratch, key);
    } else {
      await copySqliteFile(file, scratch);
    }
    chmodSync(scratch, 0o600);
    const source = await openDatabase(scratch, { key });
    try {
      const rows = (await copyDatabase(source, db, targetName)).reduce((sum, t) => sum + t.rows, 0);
      return { candidate, rows };
    } finally {
      await source.destroy();
    }
  } finally {
    rmSync(scratchDir, { recursive: true, force: true });
  }
}
