// `crm db status/migrate/backup/restore/check/optimize` on temp databases.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENCRYPTED, ON_POSTGRES, sandbox, tableNames, type Sandbox, openDb } from '../helpers/cli.js';
import { migrations } from '../../migrations/index.js';

const env = { CRM_NOW: '2025-06-01T09:00:00Z' };
// Every migration this build ships, by name; the schema version is the newest applied name.
const MIGRATIONS = Object.keys(migrations).sort();
const LATEST = MIGRATIONS.at(-1)!;
// The migration the pending/migrate test takes away and brings back.
const AUDIT_RANGES = '20261124_0002_audit_ranges';

/** Copies of fixtures for tests that write; removed after the file. */
const copies: Sandbox[] = [];
function copyOf(from: Sandbox): Sandbox {
  const copy = from.clone();
  copies.push(copy);
  return copy;
}
afterAll(() => {
  for (const copy of copies) copy.cleanup();
});

function write(path: string, statements: string): void {
  const db = openDb(path);
  try {
    db.exec(statements);
  } finally {
    db.close();
  }
}

describe('db status and migrate', () => {
  let box: Sandbox; // no database file yet
  let populated: Sandbox; // two customers, one tagged
  beforeAll(() => {
    box = sandbox();
    populated = sandbox();
    populated.ok(['customer', 'add', '--name', 'A', '--tag', 'x'], { env });
    populated.ok(['customer', 'add', '--name', 'B'], { env });
  });
  afterAll(() => {
    box?.cleanup();
    populated?.cleanup();
  });

  // About a local database file that does not exist yet; a PostgreSQL database is created by the server.
  it.skipIf(ON_POSTGRES)('status on a missing database is exit 1 and creates nothing', () => {
    const result = box.run(['db', 'status']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: no database at ${box.dbPath}\nhint: \`crm init\` creates it (or check --db / CRM_DB)\n`);
    expect(existsSync(box.dbPath)).toBe(false);
  });

  // Checks the file's path, size on disk and WAL journal mode: SQLite-file properties.
  it.skipIf(ON_POSTGRES)('status reports path, size, schema version and row counts', () => {
    const box = populated;
    const doc = JSON.parse(box.ok(['db', 'status', '--format', 'json']));
    expect(doc.database).toMatchObject({ path: box.dbPath, schema_version: LATEST, migrations_applied: MIGRATIONS.length, migrations_pending: 'none', journal_mode: 'wal' });
    expect(doc.database.size_bytes).toBeGreaterThanOrEqual(statSync(box.dbPath).size);
    const counts = Object.fromEntries(doc.tables.map((t: { table: string; rows: number }) => [t.table, t.rows]));
    expect(counts).toMatchObject({ customers: 2, tags: 1, customer_tags: 1, audit_log: 2, activities: 0, sales: 0 });
    expect(Object.keys(counts)).not.toContain('kysely_migration');
    const table = box.ok(['db', 'status']);
    expect(table).toMatch(new RegExp(`^Schema version +${LATEST}$`, 'm'));
    expect(table).toMatch(/│ customers +│ +2 │/);
  });

  it('status shows pending migrations without applying them; migrate applies them', () => {
    const box = copyOf(populated);
    box.exec('DROP TABLE audit_range');
    box.exec('DELETE FROM kysely_migration WHERE name = ?', AUDIT_RANGES);
    const doc = JSON.parse(box.ok(['db', 'status', '--format', 'json']));
    expect(doc.database).toMatchObject({ migrations_applied: MIGRATIONS.length - 1, migrations_pending: AUDIT_RANGES });
    expect(tableNames(box)).not.toContain('audit_range');
    const migrated = box.run(['db', 'migrate']);
    expect(migrated).toMatchObject({ code: 0, stdout: '', stderr: `applied 1 migration: ${AUDIT_RANGES}\n` });
    expect(box.query('SELECT name FROM kysely_migration ORDER BY name').map((r) => (r as { name: string }).name)).toEqual(MIGRATIONS);
    expect(box.run(['db', 'migrate']).stderr).toBe(`the schema is up to date (${LATEST})\n`);
  });
});

// Backup files on disk: file modes 0600/0700, SQLite file headers, WAL left-overs, file swaps.
describe.skipIf(ON_POSTGRES)('db backup and restore', () => {
  // One customer (`box`); `backedUp` is the same backed up to backups/crm-20250601-090000.db, then
  // given a second customer. The tests read these, and write on their own copies.
  let box: Sandbox;
  let backedUp: Sandbox;
  const BACKUP = join('backups', 'crm-20250601-090000.db');
  beforeAll(() => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', 'Before Backup', '--email', 'before@example.com'], { env });
    backedUp = box.clone();
    backedUp.ok(['db', 'backup'], { env });
    backedUp.ok(['customer', 'add', '--name', 'After Backup'], { env });
  });
  afterAll(() => {
    box?.cleanup();
    backedUp?.cleanup();
  });

  it('backup without FILE writes backups/crm-YYYYMMDD-HHMMSS.db beside the database, mode 0600', () => {
    const own = copyOf(box);
    const result = own.run(['db', 'backup'], { env });
    const expected = join(own.dir, 'backups', 'crm-20250601-090000.db');
    expect(result).toMatchObject({ code: 0, stdout: `${expected}\n` });
    // An encrypted database (the encrypted test pass) is backed up encrypted, and says so.
    expect(result.stderr).toMatch(new RegExp(`^backed up .* to .*crm-20250601-090000\\.db${ENCRYPTED ? ' \\(encrypted\\)' : ''}$`, 'm'));
    expect(statSync(expected).mode & 0o777).toBe(0o600);
    expect(statSync(join(own.dir, 'backups')).mode & 0o777).toBe(0o700);
    const copy = openDb(expected, { readonly: true });
    try {
      expect(copy.prepare('SELECT name FROM customers').pluck().all()).toEqual(['Before Backup']);
      expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
    } finally {
      copy.close();
    }
    // One self-contained file: no temp, -wal or -shm left beside it.
    expect(readdirSync(join(own.dir, 'backups'))).toEqual(['crm-20250601-090000.db']);
  });

  it('backup to an existing FILE needs --yes; the file is left alone without it', () => {
    const own = copyOf(box);
    const target = join(own.dir, 'mine.db');
    writeFileSync(target, 'keep me');
    const refused = own.run(['db', 'backup', target]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error: overwrite .*mine\.db: refusing without --yes$/m);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    expect(own.run(['db', 'backup', target, '--yes']).code).toBe(0);
    // A database now: plain, or encrypted under the database's key on the encrypted pass.
    expect(readFileSync(target).subarray(0, 15).toString() === 'SQLite format 3').toBe(!ENCRYPTED);
    const copy = openDb(target, { readonly: true });
    try {
      expect(copy.prepare('SELECT name FROM customers').pluck().all()).toEqual(['Before Backup']);
    } finally {
      copy.close();
    }
    expect(own.run(['db', 'backup', own.dbPath, '--yes']).code).toBe(1);
  });

  it('restore refuses files that are not crm databases, or from a newer crm, and changes nothing', () => {
    const box = backedUp;
    const before = box.dump();
    const text = join(box.dir, 'notes.txt');
    writeFileSync(text, 'not a database at all');
    const other = join(box.dir, 'other.db');
    write(other, 'CREATE TABLE t (x); INSERT INTO t VALUES (1);');
    const newer = join(box.dir, 'newer.db');
    box.ok(['db', 'backup', newer]);
    write(newer, "INSERT INTO kysely_migration (name, timestamp) VALUES ('20991231_9999_from_the_future', '2099-12-31T00:00:00.000Z')");
    const cases: [string, RegExp][] = [
      [text, /^error: .*notes\.txt is not a SQLite database$/m],
      [other, /^error: .*other\.db is a SQLite database but not a crm database \(no migration table\)$/m],
      [newer, /^error: .*newer\.db was written by a newer crm \(schema 20991231_9999_from_the_future\)\nhint: upgrade crm before restoring it$/m],
      [join(box.dir, 'missing.db'), /^error: .*missing\.db: no such file$/m],
    ];
    for (const [file, message] of cases) {
      const result = box.run(['db', 'restore', file, '--yes']);
      expect(result.code, file).toBe(1);
      expect(result.stderr, file).toMatch(message);
    }
    expect(readFileSync(text, 'utf8')).toBe('not a database at all');
    const unconfirmed = box.run(['db', 'restore', join(box.dir, 'backups', 'crm-20250601-090000.db')]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/^error: replace .*crm\.db with .*crm-20250601-090000\.db \(1 customer\): refusing without --yes$/m);
    expect(box.dump()).toBe(before);
  });

  it('restore --yes swaps the backup in, keeps the old file, and leaves no stray WAL', () => {
    const box = copyOf(backedUp);
    mkdirSync(join(box.dir, 'backups'), { mode: 0o700 });
    copyFileSync(join(backedUp.dir, BACKUP), join(box.dir, BACKUP));
    const result = box.run(['db', 'restore', join('backups', 'crm-20250601-090000.db'), '--yes'], { env: { CRM_NOW: '2025-06-02T10:00:00Z' } });
    expect(result.code).toBe(0);
    const kept = join(box.dir, 'backups', 'crm-before-restore-20250602-100000.db');
    expect(result.stderr).toBe(`restored ${box.dbPath} from ${join(box.dir, 'backups', 'crm-20250601-090000.db')}; the previous file is ${kept}\n`);
    expect(box.query('SELECT name FROM customers')).toEqual([{ name: 'Before Backup' }]);
    expect(statSync(box.dbPath).mode & 0o777).toBe(0o600);
    const old = openDb(kept, { readonly: true });
    try {
      expect(old.prepare('SELECT name FROM customers ORDER BY id').pluck().all()).toEqual(['Before Backup', 'After Backup']);
    } finally {
      old.close();
    }
    expect(readdirSync(box.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // The restored database works as usual afterwards.
    box.ok(['customer', 'add', '--name', 'After Restore']);
    expect(box.query('SELECT name FROM customers ORDER BY id')).toEqual([{ name: 'Before Backup' }, { name: 'After Restore' }]);
  });
});

describe('db check and optimize', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', 'A'], { env });
  });
  afterAll(() => box.cleanup());

  it('check passes a healthy database', () => {
    const result = box.run(['db', 'check', '--format', 'csv']);
    expect(result.code).toBe(0);
    // The integrity section first; the data-quality section (issue 8) follows after a blank line.
    expect(result.stdout).toMatch(
      /^check,status,detail\r\nintegrity,ok,the (file|database) is intact\r\nforeign_keys,ok,every reference points at an existing row\r\n\r\ncheck,count,hint\r\n/,
    );
  });

  // Plants an orphan row with PRAGMA foreign_keys = OFF in the SQLite file; PostgreSQL always enforces
  // its foreign keys, so the broken state cannot be made there.
  it.skipIf(ON_POSTGRES)('check reports a broken reference and exits 1', () => {
    const own = copyOf(box);
    write(own.dbPath, "PRAGMA foreign_keys = OFF; INSERT INTO activities (customer_id, type, at, summary, created_at) VALUES (999, 'call', '2025-01-01T00:00:00Z', 'orphan', '2025-01-01T00:00:00Z');");
    const result = own.run(['db', 'check', '--format', 'json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).integrity).toEqual([
      { check: 'integrity', status: 'ok', detail: 'the file is intact' },
      { check: 'foreign_keys', status: 'problem', detail: 'activities row 1 points at a missing customers row' },
    ]);
    expect(result.stderr).toMatch(/^error: the database check found 1 problem$/m);
  });

  it('optimize runs and keeps the data', () => {
    // Optimize notes where the change log stands (row_change_marks; on PostgreSQL, where the
    // customer added is logged): bookkeeping for pruning, not data.
    const data = () => box.dump().replace(/^row_change_marks(?::.*|\n.*)$/m, '');
    const before = data();
    const result = box.run(['db', 'optimize']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^change log: pruned 0 entries older than 90 days\noptimized: .* → .*$/m);
    expect(data()).toBe(before);
    expect(existsSync(`${box.dbPath}-wal`) ? statSync(`${box.dbPath}-wal`).size : 0).toBe(0);
  });
});
