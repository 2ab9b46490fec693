// Files crm is pointed at that are not (yet) crm databases: another application's SQLite file is
// refused by every command and left byte for byte as it was; an empty file becomes a database only
// through `crm init`; `crm init --force` adds crm's tables to another application's file; pipes
// and devices are refused at once; a full disk is called a full disk.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, CRM_BIN, runCrm, sandbox, sqliteExec, sqliteQuery, type Sandbox } from '../helpers/cli.js';

const env = { CRM_NOW: '2025-06-01T09:00:00Z' };
afterEach(() => new Promise((resolve) => setTimeout(resolve, 0)));

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Every kind of command: reads, writes, reports, exports, maintenance. */
const COMMANDS: string[][] = [
  ['customer', 'list'],
  ['customer', 'add', '--name', 'Li Wei'],
  ['customer', 'show', '1'],
  ['sale', 'record', '--customer', '1', '--amount', '5', '--product', 'Tea'],
  ['report', 'sales', '--period', '2025'],
  ['export', 'customers'],
  ['agenda'],
  ['audit', 'list'],
  ['sql', 'SELECT 1'],
  ['db', 'status'],
  ['db', 'migrate'],
  ['db', 'backup'],
  ['db', 'check'],
  ['db', 'optimize'],
  ['init'],
];

const foreignError = (path: string) =>
  `error: ${path} is another application's SQLite database, not a crm database; it was left as it is\n` +
  "hint: point --db (or CRM_DB) at a crm database or a new file name (`crm init --force` adds crm's tables to this file)\n";

describe("another application's SQLite file", () => {
  let box: Sandbox;
  let backup: string;
  beforeAll(() => {
    box = sandbox();
    // A crm backup, to try restoring over the other file.
    box.ok(['customer', 'add', '--name', 'In The Backup'], { env });
    backup = join(box.dir, 'backup.db');
    box.ok(['db', 'backup', backup], { env });
  });
  afterAll(() => box.cleanup());

  for (const mode of ['rollback journal', 'WAL']) {
    it(`(${mode} mode) is refused by every command, exit 1, byte for byte unchanged, no files beside it`, () => {
      const dir = join(box.dir, mode.replace(' ', '-'));
      mkdirSync(dir);
      const path = join(dir, 'notes.sqlite');
      sqliteExec(path, `${mode === 'WAL' ? 'PRAGMA journal_mode = WAL;' : ''}
        CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
        INSERT INTO notes (body) VALUES ('call the plumber'), ('buy tea');`);
      const hash = sha256(path);
      const files = readdirSync(dir);
      for (const args of [...COMMANDS, ['--yes', 'db', 'restore', backup]]) {
        const result = runCrm(['--db', path, ...args], { env, cwd: dir });
        expect(result.code, args.join(' ')).toBe(1);
        expect(result.stderr, args.join(' ')).toBe(foreignError(path));
        expect(result.stdout).toBe('');
        expect(sha256(path), args.join(' ')).toBe(hash);
        expect(readdirSync(dir), args.join(' ')).toEqual(files);
      }
      expect(sqliteQuery(path, 'SELECT body FROM notes ORDER BY id')).toEqual([{ body: 'call the plumber' }, { body: 'buy tea' }]);
    });
  }

  it('another application that also uses Kysely migrations is still not crm', () => {
    const path = join(box.dir, 'kysely-app.sqlite');
    sqliteExec(path, `CREATE TABLE kysely_migration (name varchar(255) NOT NULL PRIMARY KEY, timestamp varchar(255) NOT NULL);
      INSERT INTO kysely_migration VALUES ('2024_01_01_users', '2024-01-01T00:00:00.000Z');
      CREATE TABLE users (id INTEGER PRIMARY KEY, login TEXT);`);
    const hash = sha256(path);
    const result = runCrm(['--db', path, 'customer', 'list'], { env });
    expect(result).toMatchObject({ code: 1, stderr: foreignError(path) });
    expect(sha256(path)).toBe(hash);
  });

  it('crm init --force adds crm\'s tables beside the file\'s own, which stay as they were', () => {
    const path = join(box.dir, 'shared.sqlite');
    sqliteExec(path, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me');");
    const init = runCrm(['--db', path, 'init', '--force'], { env });
    expect(init).toMatchObject({ code: 0, stdout: `${path}\n`, stderr: '' });
    expect(runCrm(['--db', path, 'customer', 'add', '--name', 'Li Wei'], { env }).code).toBe(0);
    expect(runCrm(['--db', path, 'customer', 'list', '--format', 'csv'], { env }).stdout).toMatch(/^1,Li Wei,/m);
    expect(sqliteQuery(path, 'SELECT id, body FROM notes')).toEqual([{ id: 1, body: 'keep me' }]);
    expect(sqliteQuery(path, 'PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
  });

  it('crm init --force on a file whose tables clash with crm\'s is exit 1 and changes nothing', () => {
    const path = join(box.dir, 'other-crm.sqlite');
    sqliteExec(path, "CREATE TABLE customers (id INTEGER PRIMARY KEY, full_name TEXT); INSERT INTO customers (full_name) VALUES ('Someone Else');");
    const hash = sha256(path);
    const result = runCrm(['--db', path, 'init', '--force'], { env, cwd: box.dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: crm's tables cannot be added to ${path}: table customers already exists\nhint: nothing was changed; use another --db path\n`);
    expect(sha256(path)).toBe(hash);
    expect(existsSync(`${path}-journal`) || existsSync(`${path}-wal`)).toBe(false);
  });
});

describe('an empty file', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
  });
  afterAll(() => box.cleanup());

  const emptyError = (path: string) =>
    `error: ${path} is an empty file, not a crm database\nhint: run \`crm init\` with the same --db to set it up as one, or point --db at a new file name\n`;

  for (const [what, make] of [
    ['a 0-byte file', (path: string) => writeFileSync(path, '')],
    ['a SQLite file without tables', (path: string) => sqliteExec(path, 'PRAGMA user_version = 7;')],
  ] as const) {
    it(`${what} is refused by other commands, unchanged, and set up by crm init`, () => {
      const path = join(box.dir, `${what.replace(/\W+/g, '-')}.db`);
      make(path);
      const hash = sha256(path);
      for (const args of [['customer', 'list'], ['customer', 'add', '--name', 'Li Wei'], ['db', 'status']]) {
        const result = runCrm(['--db', path, ...args], { env });
        expect(result, args.join(' ')).toMatchObject({ code: 1, stdout: '', stderr: emptyError(path) });
        expect(sha256(path)).toBe(hash);
      }
      expect(runCrm(['--db', path, 'init'], { env })).toMatchObject({ code: 0, stdout: `${path}\n` });
      expect(runCrm(['--db', path, 'customer', 'add', '--name', 'Li Wei'], { env }).code).toBe(0);
      expect(sqliteQuery(path, 'SELECT name FROM customers')).toEqual([{ name: 'Li Wei' }]);
    });
  }

  it('a new path is still created by any command, private, on first use', () => {
    const path = join(box.dir, 'new', 'crm.db');
    expect(runCrm(['--db', path, 'customer', 'add', '--name', 'Li Wei'], { env }).code).toBe(0);
    expect(readdirSync(join(box.dir, 'new'))).toEqual(['crm.db']);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(sqliteQuery(path, 'SELECT name FROM customers')).toEqual([{ name: 'Li Wei' }]);
  });
});

describe('paths that are not regular files', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
  });
  afterAll(() => box.cleanup());

  it('a named pipe is refused at once instead of hanging', () => {
    const fifo = join(box.dir, 'pipe.db');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    for (const args of [['customer', 'list'], ['init']]) {
      const result = runCrm(['--db', fifo, ...args], { env, timeout: 30_000 });
      expect(result.stderr).toBe(`error: ${fifo} is a named pipe, not a database file\nhint: point --db (or CRM_DB) at a crm database file, or at a new file name to create one\n`);
      expect(result.code).toBe(1);
    }
  });

  it('/dev/null is refused, and no /dev/null-journal appears', () => {
    const journalBefore = existsSync('/dev/null-journal');
    for (const args of [['customer', 'list'], ['customer', 'add', '--name', 'Li Wei'], ['init']]) {
      const result = runCrm(['--db', '/dev/null', ...args], { env, timeout: 30_000 });
      expect(result.stderr).toBe('error: /dev/null is a character device, not a database file\nhint: point --db (or CRM_DB) at a crm database file, or at a new file name to create one\n');
      expect(result.code).toBe(1);
    }
    if (!journalBefore) expect(existsSync('/dev/null-journal')).toBe(false);
  });
});

// A small file system of its own, filled up: in a private mount namespace (unshare), so nothing
// is mounted for anyone else. Skipped where user namespaces are not allowed.
const canMount = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /mnt'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!canMount)('a full disk', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
  });
  afterAll(() => box.cleanup());

  it('a read on a full disk says the disk is full; after space is freed it works', () => {
    const disk = join(box.dir, 'disk');
    mkdirSync(disk);
    const db = join(disk, 'crm.db');
    const crm = `"${process.execPath}" "${CRM_BIN}" --db "${db}"`;
    const script = `
      mount -t tmpfs -o size=2m tmpfs "${disk}" || exit 99
      ${crm} customer add --name "Li Wei" >/dev/null 2>&1 || exit 98
      head -c 10000000 /dev/zero > "${disk}/filler" 2>/dev/null
      ${crm} customer list --format csv 2>"${box.dir}/full.err"; echo "full exit $?"
      ${crm} report sales --period 2025 2>"${box.dir}/report.err"; echo "report exit $?"
      rm "${disk}/filler"
      ${crm} customer list --format csv 2>"${box.dir}/freed.err"; echo "freed exit $?"`;
    const result = spawnSync('unshare', ['-rm', 'sh', '-c', script], { encoding: 'utf8', env: baseEnv(env) });
    expect(result.status, result.stderr).toBe(0);
    const message = `error: the disk is full (disk I/O error)\nhint: free some space on the disk that holds ${disk} and try again; nothing was changed\n`;
    expect(result.stdout).toMatch(/^full exit 1$/m);
    expect(readFileSync(join(box.dir, 'full.err'), 'utf8')).toBe(message);
    expect(result.stdout).toMatch(/^report exit 1$/m);
    expect(readFileSync(join(box.dir, 'report.err'), 'utf8')).toBe(message);
    expect(result.stdout).toMatch(/^freed exit 0$/m);
    expect(result.stdout).toMatch(/^1,Li Wei,/m);
    rmSync(join(box.dir, 'full.err'));
  });
});
