// Databases crm cannot use, and command lines it cannot parse: one clear error line, the
// contract's exit code, no stack trace, and the file left as it was.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, CRM_BIN, ENCRYPTED, runCrm, sandbox, testKeyPath, type RunResult, type Sandbox, openDb } from '../helpers/cli.js';

describe('a database written by a newer crm', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', 'A']);
    box.insert('kysely_migration', [{ name: '20991231_9999_from_the_future', timestamp: '2099-12-31T00:00:00.000Z' }]);
  });
  afterAll(() => box.cleanup());

  it('is refused with exit 1 and a hint to upgrade, for reads and writes alike', () => {
    const before = box.dump();
    for (const args of [['customer', 'list'], ['customer', 'add', '--name', 'B'], ['db', 'status'], ['db', 'migrate'], ['init']]) {
      const result = box.run(args);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toBe(`error: ${box.dbPath} was written by a newer crm (schema 20991231_9999_from_the_future)\nhint: upgrade crm to open this database\n`);
      expect(result.stdout).toBe('');
    }
    expect(box.dump()).toBe(before);
  });
});

describe('files crm cannot use as a database', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
  });
  afterAll(() => box.cleanup());

  it('a text file is refused by every command and stays byte-for-byte the same', () => {
    const path = join(box.dir, 'notes.txt');
    writeFileSync(path, 'Li Wei 138 0013 8000\n');
    for (const args of [['customer', 'list'], ['customer', 'add', '--name', 'X'], ['db', 'status'], ['db', 'backup']]) {
      const result = runCrm(['--db', path, ...args]);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toBe(`error: ${path} is not a SQLite database\nhint: point --db (or CRM_DB) at a crm database, or at a new file name to create one\n`);
    }
    expect(readFileSync(path, 'utf8')).toBe('Li Wei 138 0013 8000\n');
    expect(readdirSync(box.dir)).toEqual(['notes.txt']);
  });

  it('a folder is refused', () => {
    const result = runCrm(['--db', box.dir, 'customer', 'list']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: ${box.dir} is a directory, not a database file\n`);
  });
});

// Permissions do not stop root, and the suite often runs as root (containers, CI). There the
// read-only cases run crm as the unprivileged `nobody` user (uid/gid 65534) on files it owns,
// which is what a real read-only file or folder looks like to a normal user.
const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/**
 * Under the encrypted pass, the unprivileged user's own copy of the test key: the test key file is
 * private to us (crm refuses a key file others may read), so `nobody` gets a private copy it owns.
 */
let limitedKey: string | undefined;
function limitedKeyFile(): string {
  if (!asRoot) return testKeyPath();
  if (!limitedKey) {
    const dir = mkdtempSync(join(tmpdir(), 'crm-nobody-key-'));
    limitedKey = join(dir, 'key');
    copyFileSync(testKeyPath(), limitedKey);
    chmodSync(limitedKey, 0o600);
    chownSync(limitedKey, NOBODY, NOBODY);
    chownSync(dir, NOBODY, NOBODY);
  }
  return limitedKey;
}
afterAll(() => {
  if (limitedKey) rmSync(dirname(limitedKey), { recursive: true, force: true });
});

function runLimited(args: readonly string[]): RunResult {
  const result = spawnSync(process.execPath, [CRM_BIN, ...args], {
    env: baseEnv({ HOME: '/tmp', ...(ENCRYPTED ? { CRM_KEY_FILE: limitedKeyFile() } : {}) }),
    cwd: '/tmp',
    encoding: 'utf8',
    ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  if (result.error) throw result.error;
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const canDropPrivileges = (() => {
  if (!asRoot) return true;
  try {
    return runLimited(['--version']).code === 0;
  } catch {
    return false;
  }
})();

describe.skipIf(!canDropPrivileges)('read-only databases (as an unprivileged user)', () => {
  let box: Sandbox;
  let folder: string;
  let dbPath: string;
  beforeAll(() => {
    box = sandbox();
    chmodSync(box.dir, 0o755);
    folder = join(box.dir, 'data');
    mkdirSync(folder);
    dbPath = join(folder, 'crm.db');
    runCrm(['--db', dbPath, 'customer', 'add', '--name', 'Li Wei']);
    if (asRoot) {
      chownSync(folder, NOBODY, NOBODY);
      chownSync(dbPath, NOBODY, NOBODY);
    }
  });
  afterAll(() => {
    chmodSync(folder, 0o700);
    box.cleanup();
  });

  const dump = () => {
    const db = openDb(dbPath, { readonly: true });
    try {
      return JSON.stringify(db.prepare('SELECT * FROM customers').all()) + JSON.stringify(db.prepare('SELECT count(*) FROM audit_log').get());
    } finally {
      db.close();
      // Our (root) reader leaves empty -wal/-shm files that would let crm write despite the
      // read-only folder; no writer is open, so they hold nothing.
      removeWalFiles();
    }
  };
  const removeWalFiles = () => {
    for (const extra of ['-wal', '-shm']) rmSync(dbPath + extra, { force: true });
  };

  it('a read-only file can be read, but a write is exit 1 with a clear error and no stack', () => {
    chmodSync(dbPath, 0o400);
    try {
      const before = dump();
      const list = runLimited(['--db', dbPath, 'customer', 'list', '--format', 'csv']);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(/^1,Li Wei,/m);
      const add = runLimited(['--db', dbPath, 'customer', 'add', '--name', 'Anna']);
      expect(add.code).toBe(1);
      expect(add.stderr).toBe('error: the database is read-only (attempt to write a readonly database)\nhint: check the permissions of the database file and its folder\n');
      expect(dump()).toBe(before);
    } finally {
      chmodSync(dbPath, 0o600);
      removeWalFiles();
    }
  });

  it('a read-only folder is exit 1 with a clear error and no stack', () => {
    chmodSync(folder, 0o500);
    try {
      const before = dump();
      const add = runLimited(['--db', dbPath, 'customer', 'add', '--name', 'Anna']);
      expect(add.code).toBe(1);
      expect(add.stderr).toMatch(/^error: the database is read-only .*\nhint: check the permissions of the database file and its folder\n$/);
      const create = runLimited(['--db', join(folder, 'new.db'), 'init']);
      expect(create.code).toBe(1);
      expect(create.stderr).toBe(`error: ${join(folder, 'new.db')}: permission denied\n`);
      expect(dump()).toBe(before);
    } finally {
      chmodSync(folder, 0o700);
    }
  });
});

describe('command lines crm cannot parse', () => {
  it('an unknown command or option is exit 2, with a hint naming the command to ask for help', () => {
    const cases: [string[], string][] = [
      [['frobnicate'], "error: unknown command 'frobnicate'\nhint: run 'crm --help' for usage\n"],
      [['customer', 'ad'], "error: unknown command 'ad'\n(Did you mean add?)\nhint: run 'crm customer --help' for usage\n"],
      [['--db', 'x.db', 'customer', 'list', '--colour'], "error: unknown option '--colour'\nhint: run 'crm customer list --help' for usage\n"],
      [['activity', 'add', '--type', 'call'], "error: missing required argument 'customer'\nhint: run 'crm activity add --help' for usage\n"],
      [['--format', 'xml', 'customer', 'list'], "error: option '--format <format>' argument 'xml' is invalid. Allowed choices are table, csv, tsv, json, ndjson, md.\nhint: run 'crm customer list --help' for usage\n"],
    ];
    for (const [args, stderr] of cases) {
      const result = runCrm(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toBe(stderr);
      expect(result.stdout).toBe('');
    }
  });

  it('every command has help with examples, and --help opens no database', () => {
    const box = sandbox();
    try {
      for (const args of [['customer', 'add'], ['customer', 'list'], ['customer', 'show'], ['customer', 'edit'], ['customer', 'rm'], ['activity', 'add'], ['activity', 'list'], ['activity', 'thread'], ['db', 'status'], ['db', 'restore'], ['db', 'check']]) {
        const result = box.run([...args, '--help']);
        expect(result.code, args.join(' ')).toBe(0);
        expect(result.stdout).toMatch(/\nExamples:\n {2}\$ crm /);
      }
      expect(readdirSync(box.dir)).toEqual([]);
    } finally {
      box.cleanup();
    }
  });
});
