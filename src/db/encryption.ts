// Encryption at rest with SQLite3 Multiple Ciphers (built into our better-sqlite3): telling an
// encrypted file from a plain one, keying a connection, and writing a whole database again under
// another key (encrypt, decrypt, rekey, encrypted backups and restores).
//
// Rewrites never change a file in place. The library cannot rekey a database in WAL mode, and an
// in-place rekey that is interrupted leaves a half-converted file behind a hot journal. Instead a
// complete copy is written beside the original with VACUUM INTO (which encrypts as it writes: no
// plain copy of an encrypted database ever reaches the disk), checked, flushed, and renamed over
// the original. A kill at any moment leaves either the old file or the new one.
import type Database from 'better-sqlite3';
import { closeSync, copyFileSync, fsyncSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ValidationError } from '../domain/errors.js';
import { betterSqlite3 } from './sqlite-driver.js';

/** The cipher crm writes: sqleet's ChaCha20 with a Poly1305 MAC per page (the library's default). */
export const CIPHER = 'chacha20';
export const CIPHER_DESCRIPTION = 'chacha20 (ChaCha20-Poly1305, sqleet)';

const SQLITE_MAGIC = 'SQLite format 3\u0000';
const BUSY_TIMEOUT_MS = 5000;

/**
 * What is at `path`: nothing, an empty file (SQLite treats it as new), a plain SQLite file, an
 * encrypted one, or something else. An encrypted file starts with 16 random bytes (the key salt)
 * instead of the SQLite header and is a whole number of pages; anything else without the header
 * (a CSV, a text file) is `foreign`, so it is refused as before rather than asked for a key.
 */
export type FileState = 'missing' | 'empty' | 'plain' | 'encrypted' | 'foreign';

export function fileState(path: string): FileState {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) return 'foreign';
    size = stat.size;
  } catch {
    return 'missing';
  }
  if (size === 0) return 'empty';
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(16);
  try {
    readSync(fd, head, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (head.toString('latin1') === SQLITE_MAGIC) return 'plain';
  const printable = head.every((byte) => (byte >= 0x20 && byte < 0x7f) || byte === 0x09 || byte === 0x0a || byte === 0x0d);
  return size >= 512 && size % 512 === 0 && !printable ? 'encrypted' : 'foreign';
}

const RAW_KEY = /^[0-9a-fA-F]{64}$/;

/**
 * What the cipher is given for a key. Exactly 64 hex characters (32 bytes, as `openssl rand -hex 32`
 * writes them) are the key itself, handed over as SQLite3 Multiple Ciphers' `raw:` key, with no key
 * derivation: opening costs nothing, and 256 random bits need no stretching. Anything else is a
 * passphrase, stretched by the cipher with PBKDF2-SHA256 (its default rounds) and the file's salt.
 * The same key therefore opens the same file whether it comes from a file, CRM_KEY or a prompt.
 */
export function cipherKey(key: Buffer): Buffer {
  const text = key.toString('latin1');
  return RAW_KEY.test(text) ? Buffer.from(`raw:${text.toLowerCase()}`, 'latin1') : key;
}

/** Thrown when a key does not open the file; the file is left exactly as it was. */
export function wrongKey(path: string): ValidationError {
  return new ValidationError(`wrong key for ${path}`, {
    hint: 'check --key-file / CRM_KEY_FILE (or CRM_KEY); without the right key the data cannot be read',
  });
}

/**
 * Keys a fresh connection (before anything else touches the file) and proves the key by reading
 * the schema: a wrong key fails here, before a journal or WAL could be created. The key goes in as
 * hex, so any bytes work and none of them need quoting.
 */
export function applyKey(sqlite: Database.Database, key: Buffer): void {
  sqlite.pragma(`cipher = '${CIPHER}'`);
  sqlite.pragma(`hexkey = '${cipherKey(key).toString('hex')}'`);
  try {
    sqlite.prepare('SELECT count(*) FROM sqlite_master').pluck().get();
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_NOTADB') throw wrongKey(sqlite.name);
    throw error;
  }
}

/** Opens `path` keyed when `key` is given (the caller closes it). */
function openKeyed(path: string, key: Buffer | undefined, readonly: boolean): Database.Database {
  const sqlite = new (betterSqlite3())(path, { readonly, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  try {
    if (key) applyKey(sqlite, key);
  } catch (error) {
    sqlite.close();
    throw error;
  }
  return sqlite;
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Names of this database's work files, fixed so a later run can remove what a killed one left. */
function workFiles(target: string): { copy: string; scratch: string } {
  const copy = join(dirname(target), `.${basename(target)}.rewrite`);
  return { copy, scratch: `${copy}-main` };
}

/**
 * Writes a complete copy of the database at `source` (opened with `sourceKey`) to the new file
 * `target`, encrypted with `targetKey` or plain without one, then checks the copy reads back under
 * that key with the same tables and row counts. VACUUM INTO takes its output key from the main
 * database of the connection that runs it, so the copy runs on a scratch main database keyed with
 * the target key, with the source attached under its own key; the scratch file is never written.
 */
export function copyDatabase(source: string, sourceKey: Buffer | undefined, target: string, targetKey: Buffer | undefined): void {
  const scratch = `${target}-main`;
  closeSync(openSync(scratch, 'wx', 0o600));
  try {
    const main = new (betterSqlite3())(scratch, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
    try {
      if (targetKey) {
        main.pragma(`cipher = '${CIPHER}'`);
        main.pragma(`hexkey = '${cipherKey(targetKey).toString('hex')}'`);
      }
      try {
        main.prepare('ATTACH DATABASE ? AS source KEY ?').run(source, sourceKey ? cipherKey(sourceKey) : '');
        main.prepare('SELECT count(*) FROM source.sqlite_master').pluck().get();
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_NOTADB') throw wrongKey(source);
        throw error;
      }
      main.prepare('VACUUM source INTO ?').run(target);
      main.exec('DETACH DATABASE source');
    } finally {
      main.close();
    }
  } finally {
    rmSync(scratch, { force: true });
  }
  checkCopy(source, sourceKey, target, targetKey);
}

function tableCounts(sqlite: Database.Database): string {
  const names = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
  return names.map((name) => `${name}:${String(sqlite.prepare(`SELECT count(*) FROM "${name.replace(/"/g, '""')}"`).pluck().get())}`).join(' ');
}

function checkCopy(source: string, sourceKey: Buffer | undefined, target: string, targetKey: Buffer | undefined): void {
  const copy = openKeyed(target, targetKey, false);
  let copied: string;
  try {
    // A copy is one self-contained file: no WAL, so opening it never leaves -wal/-shm beside it.
    copy.pragma('journal_mode = DELETE');
    const quick = copy.pragma('quick_check', { simple: true });
    if (quick !== 'ok') throw new ValidationError(`the copy at ${target} did not check out (${String(quick)}); nothing was changed`);
    copied = tableCounts(copy);
  } finally {
    copy.close();
  }
  const original = openKeyed(source, sourceKey, true);
  try {
    if (tableCounts(original) !== copied) throw new ValidationError(`the copy at ${target} does not match the database; nothing was changed`);
  } finally {
    original.close();
  }
  fsyncPath(target);
}

/**
 * Replaces the database at `path` (opened with `fromKey`, none when plain) by the same data under
 * `toKey` (none: plain). The original is first taken out of WAL mode, which needs every other
 * connection closed, and then write-locked while the copy is made, so no write can slip in between
 * copy and rename; with no WAL left, no stale log can replay onto the new file.
 */
export function rewriteDatabase(path: string, fromKey: Buffer | undefined, toKey: Buffer | undefined): void {
  const { copy, scratch } = workFiles(path);
  const live = openKeyed(path, fromKey, false);
  try {
    let mode: unknown;
    try {
      live.pragma('wal_checkpoint(TRUNCATE)');
      mode = live.pragma('journal_mode = DELETE', { simple: true });
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
    }
    if (mode !== 'delete') {
      throw new ValidationError(`${path} is in use by another program; nothing was changed`, { hint: 'let other crm commands finish, then try again' });
    }
    live.exec('BEGIN IMMEDIATE');
    rmSync(copy, { force: true });
    rmSync(scratch, { force: true });
    try {
      closeSync(openSync(copy, 'wx', 0o600));
      copyDatabase(path, fromKey, copy, toKey);
      renameSync(copy, path);
      fsyncPath(dirname(path));
    } finally {
      rmSync(copy, { force: true });
    }
    live.exec('ROLLBACK');
  } finally {
    live.close();
  }
}

/**
 * Writes a copy of `source` to `target` through a private temp file renamed into place, keyed
 * with `targetKey` (none: plain). For backups and restores of encrypted databases.
 */
export function writeKeyedCopy(source: string, sourceKey: Buffer | undefined, target: string, targetKey: Buffer | undefined): void {
  const { copy, scratch } = workFiles(target);
  rmSync(copy, { force: true });
  rmSync(scratch, { force: true });
  try {
    closeSync(openSync(copy, 'wx', 0o600));
    copyDatabase(source, sourceKey, copy, targetKey);
    renameSync(copy, target);
  } finally {
    rmSync(copy, { force: true });
  }
}

/**
 * Copies a damaged encrypted database byte for byte to `target` (an existing private temp file):
 * the salvage backup. VACUUM INTO cannot read damaged pages, and the backup API would write the
 * pages it can read in plain form, so the only copy that carries everything and stays encrypted is
 * the file itself, under its own key. The WAL is folded in first and the file write-locked while
 * it is copied, so the copy holds every commit and none half-written.
 */
export function copyEncryptedFile(sqlite: Database.Database, target: string): void {
  const path = sqlite.name;
  const [checkpoint] = sqlite.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
  const inUse = () => new ValidationError(`${path} is in use by another program; nothing was written`, { hint: 'let other crm commands finish, then try again' });
  if (checkpoint && checkpoint.busy !== 0) throw inUse();
  sqlite.exec('BEGIN IMMEDIATE');
  try {
    let wal = 0;
    try {
      wal = statSync(`${path}-wal`).size;
    } catch {
      wal = 0;
    }
    if (wal > 0) throw inUse();
    if (fileState(path) !== 'encrypted') throw new ValidationError(`${path} is not an encrypted database file; nothing was written`);
    copyFileSync(path, target);
    fsyncPath(target);
  } finally {
    sqlite.exec('ROLLBACK');
  }
  if (fileState(target) !== 'encrypted') throw new ValidationError(`the copy at ${target} is not encrypted; nothing was written`);
}
