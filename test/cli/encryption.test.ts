// Encryption at rest (issue 18): db encrypt / decrypt / rekey, keys from files, prompts and the
// environment, encrypted backups, and every refusal leaving the file byte for byte as it was.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ON_POSTGRES, openDb, sandbox, spawnCrm, type Sandbox } from '../helpers/cli.js';
import { hasScript, onTerminal } from '../helpers/terminal.js';

const hasSqlite3 = spawnSync('sqlite3', ['-version']).status === 0;
const PEOPLE = [
  { name: 'Wenxiu Zhang', email: 'wenxiu.zhang@example.com', phone: '+86 138 5550 1111' },
  { name: 'Oluwaseun Adeyemi', email: 'seun.adeyemi@example.org', phone: '+234 803 555 0142' },
  { name: 'Marguerite Delacroix', email: 'm.delacroix@example.net', phone: '+33 6 55 50 19 88' },
];
const SECRETS = PEOPLE.flatMap((p) => [p.name, p.email, p.phone]);

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
/** Every file of the database: the main file and whatever -wal, -shm or journal lies beside it. */
const dbFiles = (box: Sandbox) => readdirSync(box.dir).filter((f) => f.startsWith('crm.db')).sort();
const hasSqliteHeader = (path: string) => readFileSync(path).subarray(0, 16).toString('latin1') === 'SQLite format 3\u0000';
function secretsIn(path: string): string[] {
  const bytes = readFileSync(path);
  return SECRETS.filter((s) => bytes.includes(Buffer.from(s)));
}

function keyFile(box: Sandbox, name: string, key: string, mode = 0o600): string {
  const path = join(box.dir, name);
  writeFileSync(path, `${key}\n`, { mode });
  chmodSync(path, mode);
  return path;
}

/** crm without any key from the environment (the encrypted-suite switch sets CRM_KEY_FILE). */
const noKeyEnv = { CRM_KEY_FILE: undefined, CRM_KEY: undefined };

function withPeople(box: Sandbox): void {
  for (const p of PEOPLE) box.ok(['customer', 'add', '--name', p.name, '--email', p.email, '--phone', p.phone], { env: noKeyEnv });
}

/** Runs a command that must be refused and checks the database files did not change at all. */
function refusedUnchanged(box: Sandbox, args: string[], env: Record<string, string | undefined>, message: RegExp): void {
  const files = dbFiles(box);
  const hash = sha(box.dbPath);
  const result = box.run(args, { env: { ...noKeyEnv, ...env } });
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).toMatch(message);
  expect(sha(box.dbPath)).toBe(hash);
  expect(dbFiles(box)).toEqual(files);
  expect(readdirSync(box.dir).filter((f) => f.includes('.rewrite'))).toEqual([]);
}

// Every test here is about encrypting the local SQLite file (SQLCipher); a PostgreSQL database has no
// file crm encrypts, so the whole file is skipped on the PostgreSQL pass.
describe.skipIf(ON_POSTGRES)('db encrypt', () => {
  let box: Sandbox;
  let key: string;
  beforeEach(() => {
    box = sandbox();
    withPeople(box);
    key = keyFile(box, 'key', 'a long passphrase: purple elephants at dawn');
  });
  afterEach(() => box.cleanup());

  it('leaves no name, email or phone readable in the file, its WAL or a backup; sqlite3 cannot read it', () => {
    const before = box.ok(['customer', 'list', '--format', 'csv'], { env: noKeyEnv });
    expect(secretsIn(box.dbPath).length + (existsSync(`${box.dbPath}-wal`) ? secretsIn(`${box.dbPath}-wal`).length : 0)).toBeGreaterThan(0);

    const result = box.run(['db', 'encrypt', '--key-file', key], { env: noKeyEnv });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/encrypted .*crm\.db/);
    expect(dbFiles(box)).toEqual(['crm.db']);
    expect(hasSqliteHeader(box.dbPath)).toBe(false);
    expect(secretsIn(box.dbPath)).toEqual([]);
    expect(readdirSync(box.dir).filter((f) => f.includes('.rewrite'))).toEqual([]);

    // The same data under the key; new writes go to an encrypted WAL.
    expect(box.ok(['customer', 'list', '--format', 'csv', '--key-file', key], { env: noKeyEnv })).toBe(before);
    const live = openDb(box.dbPath, { readonly: false, key: 'a long passphrase: purple elephants at dawn' });
    try {
      live.pragma('wal_autocheckpoint = 0');
      live.prepare("INSERT INTO customers (name, email, phone, created_at, updated_at) VALUES (?, ?, ?, '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z')").run(
        PEOPLE[0]!.name, 'second.' + PEOPLE[0]!.email, PEOPLE[0]!.phone,
      );
      expect(readFileSync(`${box.dbPath}-wal`).length).toBeGreaterThan(0);
      expect(secretsIn(`${box.dbPath}-wal`)).toEqual([]);
      expect(secretsIn(box.dbPath)).toEqual([]);
    } finally {
      live.close();
    }

    const backup = box.run(['db', 'backup', join(box.dir, 'b.db'), '--key-file', key], { env: noKeyEnv });
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stderr).toMatch(/\(encrypted\)/);
    expect(secretsIn(join(box.dir, 'b.db'))).toEqual([]);
    expect(hasSqliteHeader(join(box.dir, 'b.db'))).toBe(false);

    if (hasSqlite3) {
      for (const file of [box.dbPath, join(box.dir, 'b.db')]) {
        const shell = spawnSync('sqlite3', [file, 'SELECT name FROM customers'], { encoding: 'utf8' });
        expect(shell.status).not.toBe(0);
        expect(shell.stderr).toMatch(/not a database/);
      }
    }
  });

  it('db status names the cipher, never the key; the key is in no output, audit entry or setting', () => {
    const passphrase = 'a long passphrase: purple elephants at dawn';
    const outputs: string[] = [];
    const run = (args: string[]) => {
      const r = box.run([...args, '--key-file', key], { env: noKeyEnv });
      expect(r.code, r.stderr).toBe(0);
      outputs.push(r.stdout, r.stderr);
      return r.stdout;
    };
    expect(run(['db', 'status', '--format', 'json'])).toMatch(/"encryption": "no"/);
    run(['db', 'encrypt']);
    const status = JSON.parse(run(['db', 'status', '--format', 'json']));
    expect(status.database.encryption).toBe('chacha20 (ChaCha20-Poly1305, sqleet)');
    run(['audit', 'list', '--format', 'json']);
    run(['config', 'get']);
    run(['sql', 'SELECT * FROM audit_log']);
    expect(outputs.join('\n')).not.toContain(passphrase);
    expect(outputs.join('\n')).not.toContain(Buffer.from(passphrase).toString('hex'));
    const db = openDb(box.dbPath, { readonly: true, key: passphrase });
    try {
      const trail = JSON.stringify([db.prepare('SELECT * FROM audit_log').all(), db.prepare('SELECT * FROM config').all()]);
      expect(trail).toMatch(/db\.encrypt/);
      expect(trail).not.toContain(passphrase);
    } finally {
      db.close();
    }
  });

  it('keys come from CRM_KEY_FILE or CRM_KEY as well as --key-file', () => {
    box.ok(['db', 'encrypt'], { env: { ...noKeyEnv, CRM_KEY_FILE: key } });
    expect(box.ok(['customer', 'list', '--format', 'csv'], { env: { ...noKeyEnv, CRM_KEY_FILE: key } })).toMatch(/Wenxiu Zhang/);
    expect(box.ok(['customer', 'list', '--format', 'csv'], { env: { ...noKeyEnv, CRM_KEY: 'a long passphrase: purple elephants at dawn' } })).toMatch(/Wenxiu Zhang/);
  });

  it('a new database is created encrypted when a key is given', () => {
    const fresh = join(box.dir, 'new.db');
    const r = box.run(['--db', fresh, 'customer', 'add', '--name', PEOPLE[1]!.name, '--email', PEOPLE[1]!.email], { env: { ...noKeyEnv, CRM_KEY_FILE: key } });
    expect(r.code, r.stderr).toBe(0);
    expect(hasSqliteHeader(fresh)).toBe(false);
    expect(secretsIn(fresh)).toEqual([]);
  });

  it('refuses without changing a byte: missing key, wrong key, key file others can read, encrypting twice', () => {
    box.ok(['db', 'encrypt', '--key-file', key], { env: noKeyEnv });
    refusedUnchanged(box, ['customer', 'list'], {}, /error: .*crm\.db is encrypted and no key was given\nhint: give its key with --key-file FILE/);
    const wrong = keyFile(box, 'wrong', 'not the key');
    refusedUnchanged(box, ['customer', 'list', '--key-file', wrong], {}, /^error: wrong key for /m);
    refusedUnchanged(box, ['customer', 'add', '--name', 'X'], { CRM_KEY: 'not the key either' }, /^error: wrong key for /m);
    refusedUnchanged(box, ['db', 'status'], { CRM_KEY_FILE: wrong }, /^error: wrong key for /m);
    const open = keyFile(box, 'open', 'a long passphrase: purple elephants at dawn', 0o644);
    refusedUnchanged(box, ['customer', 'list', '--key-file', open], {}, /error: --key-file .*open is accessible by other users \(mode 0644\); refusing to use it\nhint: make it private: chmod 600/);
    refusedUnchanged(box, ['db', 'encrypt', '--key-file', key], {}, /error: .* is already encrypted; nothing was changed/);
    refusedUnchanged(box, ['db', 'decrypt', '--key-file', wrong], {}, /^error: wrong key for /m);
    const other = keyFile(box, 'other', 'another passphrase entirely');
    refusedUnchanged(box, ['db', 'rekey', '--key-file', wrong, '--new-key-file', other], {}, /^error: wrong key for /m);
    const hash = sha(box.dbPath);
    const noNewKey = box.run(['db', 'rekey', '--key-file', key], { env: noKeyEnv });
    expect(noNewKey.code).toBe(2);
    expect(noNewKey.stderr).toMatch(/error: a new key is needed: give --new-key-file FILE/);
    expect(sha(box.dbPath)).toBe(hash);
  });

  it('refuses to decrypt or rekey a plain file, and to encrypt without a key', () => {
    refusedUnchanged(box, ['db', 'decrypt', '--key-file', key], {}, /error: .*crm\.db is not encrypted; nothing was changed/);
    refusedUnchanged(box, ['db', 'rekey', '--key-file', key], {}, /error: .*crm\.db is not encrypted; nothing was changed/);
    const hash = sha(box.dbPath);
    const r = box.run(['db', 'encrypt'], { env: noKeyEnv });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: a new key is needed: give --key-file FILE\nhint: or run in a terminal/);
    expect(sha(box.dbPath)).toBe(hash);
  });

  it('decrypt brings back a plain file sqlite3 reads; rekey makes the old key fail', () => {
    box.ok(['db', 'encrypt', '--key-file', key], { env: noKeyEnv });
    const other = keyFile(box, 'other', 'another passphrase entirely');
    box.ok(['db', 'rekey', '--key-file', key, '--new-key-file', other], { env: noKeyEnv });
    expect(box.run(['customer', 'list', '--key-file', key], { env: noKeyEnv }).stderr).toMatch(/wrong key/);
    expect(box.ok(['customer', 'list', '--format', 'csv', '--key-file', other], { env: noKeyEnv })).toMatch(/Marguerite Delacroix/);
    expect(secretsIn(box.dbPath)).toEqual([]);

    box.ok(['db', 'decrypt', '--key-file', other], { env: noKeyEnv });
    expect(hasSqliteHeader(box.dbPath)).toBe(true);
    expect(dbFiles(box)).toEqual(['crm.db']);
    if (hasSqlite3) {
      const shell = spawnSync('sqlite3', [box.dbPath, 'SELECT name FROM customers ORDER BY id'], { encoding: 'utf8' });
      expect(shell.stdout.trim().split('\n')).toEqual(PEOPLE.map((p) => p.name));
    }
    const actions = box.query<{ action: string }>("SELECT action FROM audit_log WHERE action LIKE 'db.%' ORDER BY id").map((r) => r.action);
    expect(actions).toEqual(['db.encrypt', 'db.rekey', 'db.decrypt']);
  });
});

/** The names in the file, read straight through the driver with `key` (as SQLite3 Multiple Ciphers takes it). */
function namesWith(path: string, key: string): string[] {
  const db = openDb(path, { readonly: true, key });
  try {
    return db.prepare('SELECT name FROM customers ORDER BY id').pluck().all() as string[];
  } finally {
    db.close();
  }
}

describe.skipIf(ON_POSTGRES)('raw keys and db rekey --new-key-file', () => {
  let box: Sandbox;
  beforeEach(() => {
    box = sandbox();
    withPeople(box);
  });
  afterEach(() => box.cleanup());

  it('a key file of exactly 64 hex characters is the 256-bit key itself; any other content is a passphrase', () => {
    const hex = randomBytes(32).toString('hex');
    const raw = keyFile(box, 'raw.key', hex.toUpperCase());
    box.ok(['db', 'encrypt', '--key-file', raw], { env: noKeyEnv });
    expect(secretsIn(box.dbPath)).toEqual([]);
    // The cipher's own raw-key form opens it; the same text taken as a passphrase (PBKDF2) does not.
    expect(namesWith(box.dbPath, `raw:${hex}`)).toEqual(PEOPLE.map((p) => p.name));
    expect(() => namesWith(box.dbPath, hex.toUpperCase())).toThrow(/not a database/);
    // The same key opens it from CRM_KEY too, in either case.
    expect(box.ok(['customer', 'list', '--format', 'csv'], { env: { ...noKeyEnv, CRM_KEY: hex } })).toMatch(/Oluwaseun Adeyemi/);

    // 66 hex characters are not a 32-byte key: a passphrase, derived with PBKDF2 like any other.
    const other = sandbox();
    try {
      withPeople(other);
      const longer = `${hex}ab`;
      const passphrase = keyFile(other, 'long.key', longer);
      other.ok(['db', 'encrypt', '--key-file', passphrase], { env: noKeyEnv });
      expect(namesWith(other.dbPath, longer)).toEqual(PEOPLE.map((p) => p.name));
      expect(() => namesWith(other.dbPath, `raw:${hex}`)).toThrow(/not a database/);
    } finally {
      other.cleanup();
    }
  });

  it('db rekey --new-key-file: the old key no longer opens the file, the new one does, the data is intact', () => {
    const passphrase = 'the old passphrase, retired today';
    const old = keyFile(box, 'old.key', passphrase);
    box.ok(['sale', 'record', '--customer', '2', '--product', 'Tea set', '--amount', '42.50', '--date', '2025-03-01'], { env: noKeyEnv });
    box.ok(['db', 'encrypt', '--key-file', old], { env: noKeyEnv });
    const customers = box.ok(['customer', 'list', '--format', 'csv', '--key-file', old], { env: noKeyEnv });
    const sales = box.ok(['sale', 'list', '--format', 'csv', '--key-file', old], { env: noKeyEnv });
    expect(sales).toMatch(/42\.50/);

    const hex = randomBytes(32).toString('hex');
    const fresh = keyFile(box, 'new.key', hex);
    const r = box.run(['db', 'rekey', '--key-file', old, '--new-key-file', fresh], { env: noKeyEnv });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/changed the key of .*crm\.db/);
    expect(`${r.stdout}${r.stderr}`).not.toContain(hex);
    expect(dbFiles(box)).toEqual(['crm.db']);
    expect(readdirSync(box.dir).filter((f) => f.includes('.rewrite'))).toEqual([]);
    expect(secretsIn(box.dbPath)).toEqual([]);

    refusedUnchanged(box, ['customer', 'list', '--key-file', old], {}, /^error: wrong key for /m);
    expect(() => namesWith(box.dbPath, passphrase)).toThrow(/not a database/);
    expect(namesWith(box.dbPath, `raw:${hex}`)).toEqual(PEOPLE.map((p) => p.name));
    expect(box.ok(['customer', 'list', '--format', 'csv', '--key-file', fresh], { env: noKeyEnv })).toBe(customers);
    expect(box.ok(['sale', 'list', '--format', 'csv', '--key-file', fresh], { env: noKeyEnv })).toBe(sales);

    // Back again, the current key from CRM_KEY_FILE (as a cron job has it) and the new one from the flag.
    box.ok(['db', 'rekey', '--new-key-file', old], { env: { ...noKeyEnv, CRM_KEY_FILE: fresh } });
    refusedUnchanged(box, ['customer', 'list', '--key-file', fresh], {}, /^error: wrong key for /m);
    expect(box.ok(['customer', 'list', '--format', 'csv', '--key-file', old], { env: noKeyEnv })).toBe(customers);
  });
});

describe.skipIf(ON_POSTGRES)('encrypted backups and restores', () => {
  let box: Sandbox;
  let key: string;
  let backupKey: string;
  beforeEach(() => {
    box = sandbox();
    withPeople(box);
    key = keyFile(box, 'key', 'the database key, long enough');
    backupKey = keyFile(box, 'backup.key', 'the key of the off-site copies');
    box.ok(['db', 'encrypt', '--key-file', key], { env: noKeyEnv });
  });
  afterEach(() => box.cleanup());

  it('--backup-key-file encrypts the backup under its own key; restore needs that key', () => {
    const target = join(box.dir, 'offsite.db');
    box.ok(['db', 'backup', target, '--key-file', key, '--backup-key-file', backupKey], { env: noKeyEnv });
    expect(secretsIn(target)).toEqual([]);
    box.ok(['customer', 'add', '--name', 'After Backup', '--key-file', key], { env: noKeyEnv });
    const hash = sha(box.dbPath);

    // The database's key does not open the backup: refused, nothing changed.
    const wrong = box.run(['db', 'restore', target, '--yes', '--key-file', key], { env: noKeyEnv });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/wrong key for .*offsite\.db/);
    expect(sha(box.dbPath)).toBe(hash);

    const restored = box.run(['db', 'restore', target, '--yes', '--key-file', key, '--backup-key-file', backupKey], { env: noKeyEnv });
    expect(restored.code, restored.stderr).toBe(0);
    // The restored file keeps the backup's key, and no plain copy of it was left anywhere.
    expect(box.ok(['customer', 'list', '--format', 'csv', '--key-file', backupKey], { env: noKeyEnv })).not.toMatch(/After Backup/);
    expect(secretsIn(box.dbPath)).toEqual([]);
    for (const file of readdirSync(join(box.dir, 'backups'))) expect(secretsIn(join(box.dir, 'backups', file))).toEqual([]);
  });

  it('a backup under the same key restores with the database key', () => {
    const target = join(box.dir, 'same.db');
    box.ok(['db', 'backup', target, '--key-file', key], { env: noKeyEnv });
    box.ok(['customer', 'rm', '1', '--yes', '--key-file', key], { env: noKeyEnv });
    box.ok(['db', 'restore', target, '--yes', '--key-file', key], { env: noKeyEnv });
    expect(box.ok(['customer', 'list', '--format', 'csv', '--key-file', key], { env: noKeyEnv })).toMatch(/Wenxiu Zhang/);
    expect(hasSqliteHeader(box.dbPath)).toBe(false);
  });
});

describe.skipIf(ON_POSTGRES)('a damaged encrypted database', () => {
  it('is refused by db backup; --salvage copies its encrypted bytes as they are, never plain, and only under its own key', () => {
    const box = sandbox();
    try {
      const lines = ['name,email,phone', ...PEOPLE.map((p) => `${p.name},${p.email},${p.phone}`)];
      for (let i = 0; i < 300; i++) lines.push(`Filler ${i},filler${i}@example.com,+1 555 ${String(i).padStart(7, '0')}`);
      writeFileSync(join(box.dir, 'people.csv'), `${lines.join('\n')}\n`);
      box.ok(['import', 'customers', join(box.dir, 'people.csv')], { env: noKeyEnv });
      const key = keyFile(box, 'key', 'the key of a damaged file');
      box.ok(['db', 'encrypt', '--key-file', key], { env: noKeyEnv });
      // Overwrite the start of ten pages in the middle of the file: their MACs no longer match.
      const bytes = readFileSync(box.dbPath);
      const middle = Math.floor(bytes.length / 4096 / 2);
      for (let page = middle - 5; page < middle + 5; page++) bytes.fill(0xde, page * 4096, page * 4096 + 64);
      writeFileSync(box.dbPath, bytes);

      const copy = join(box.dir, 'rescue.db');
      const refused = box.run(['db', 'backup', copy, '--key-file', key], { env: noKeyEnv });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^error: the database fails its quick check/m);
      expect(existsSync(copy)).toBe(false);

      const other = keyFile(box, 'other', 'another key for the rescue');
      const rekeyed = box.run(['db', 'backup', copy, '--salvage', '--key-file', key, '--backup-key-file', other], { env: noKeyEnv });
      expect(rekeyed.code).toBe(1);
      expect(rekeyed.stderr).toMatch(/^error: a salvage copy of a damaged database is the file as it is, under its own key .*nothing was written$/m);
      expect(existsSync(copy)).toBe(false);

      const salvaged = box.run(['db', 'backup', copy, '--salvage', '--key-file', key], { env: noKeyEnv });
      expect(salvaged.code, salvaged.stderr).toBe(0);
      expect(salvaged.stderr).toMatch(/^warning: the database fails its quick check .*\(--salvage\)$/m);
      expect(salvaged.stderr).toMatch(/\(encrypted\)/);
      expect(sha(copy)).toBe(sha(box.dbPath));
      expect(hasSqliteHeader(copy)).toBe(false);
      expect(secretsIn(copy)).toEqual([]);
      expect(readdirSync(box.dir).filter((f) => f.startsWith('.rescue') || f.endsWith('.tmp'))).toEqual([]);
      // It is the database under its key: it opens, and its check finds the same damage.
      const db = openDb(copy, { readonly: true, key: 'the key of a damaged file' });
      try {
        expect(db.pragma('quick_check', { simple: true })).not.toBe('ok');
      } finally {
        db.close();
      }
    } finally {
      box.cleanup();
    }
  }, 60_000);
});

describe.skipIf(ON_POSTGRES)('kill -9 during db encrypt', () => {
  it('leaves the plain original or the finished encrypted file, never neither', async () => {
    const box = sandbox();
    try {
      const rows = ['name,email,phone,city'];
      for (let i = 0; i < 20_000; i++) rows.push(`Person ${i},person${i}@example.com,+1 555 ${String(i).padStart(7, '0')},City ${i % 50}`);
      writeFileSync(join(box.dir, 'people.csv'), `${rows.join('\n')}\n`);
      box.ok(['import', 'customers', join(box.dir, 'people.csv')], { env: noKeyEnv });
      const key = keyFile(box, 'key', 'kill test key');
      const pristine = join(box.dir, 'pristine.db');
      copyFileSync(box.dbPath, pristine);
      // How long a whole run takes on this machine now; the kills land at fractions of it.
      const started = Date.now();
      // (a real process, like the ones killed below: start-up is part of what they live through)
      box.ok(['db', 'encrypt', '--key-file', key], { env: noKeyEnv, process: true });
      const whole = Date.now() - started;
      const outcomes = new Set<string>();
      for (const fraction of [0.2, 0.45, 0.65, 0.8, 0.9, 1.0, 2.0]) {
        copyFileSync(pristine, box.dbPath);
        const child = spawnCrm(['--db', box.dbPath, 'db', 'encrypt', '--key-file', key], { env: noKeyEnv });
        const closed = new Promise((resolve) => child.on('close', resolve));
        await new Promise((resolve) => setTimeout(resolve, Math.round(whole * fraction)));
        child.kill('SIGKILL');
        await closed;
        const encrypted = !hasSqliteHeader(box.dbPath);
        outcomes.add(encrypted ? 'encrypted' : 'plain');
        const db = openDb(box.dbPath, { key: 'kill test key' });
        try {
          expect(db.pragma('quick_check', { simple: true })).toBe('ok');
          expect(db.prepare('SELECT count(*) FROM customers').pluck().get()).toBe(20_000);
        } finally {
          db.close();
        }
        // Whatever a killed run left beside the file is encrypted, and the next run clears it.
        for (const leftover of readdirSync(box.dir).filter((f) => f.includes('.rewrite'))) {
          expect(readFileSync(join(box.dir, leftover)).includes('person1@example.com')).toBe(false);
        }
      }
      copyFileSync(pristine, box.dbPath);
      box.ok(['db', 'encrypt', '--key-file', key], { env: noKeyEnv });
      expect(readdirSync(box.dir).filter((f) => f.includes('.rewrite'))).toEqual([]);
      // The delays reach both sides of the rename.
      expect([...outcomes].sort()).toEqual(['encrypted', 'plain']);
    } finally {
      box.cleanup();
    }
  }, 180_000);
});

describe.skipIf(ON_POSTGRES || !hasScript)('keys typed at a terminal', () => {
  let box: Sandbox;
  beforeEach(() => {
    box = sandbox();
    withPeople(box);
  });
  afterEach(() => box.cleanup());

  it('db encrypt asks for the new key twice; later commands ask for it', async () => {
    const encrypt = await onTerminal(['--db', box.dbPath, 'db', 'encrypt'], [[/New key:/, 'typed secret 42\r'], [/Repeat the new key:/, 'typed secret 42\r']], noKeyEnv);
    expect(encrypt.code, encrypt.output).toBe(0);
    expect(encrypt.output).not.toContain('typed secret 42');
    expect(secretsIn(box.dbPath)).toEqual([]);

    const list = await onTerminal(['--db', box.dbPath, 'customer', 'list', '--format', 'csv'], [[/Key of .*crm\.db:/, 'typed secret 42\r']], noKeyEnv);
    expect(list.code, list.output).toBe(0);
    expect(list.output).toMatch(/Oluwaseun Adeyemi/);
    expect(list.output).not.toContain('typed secret 42');

    const hash = sha(box.dbPath);
    const wrong = await onTerminal(['--db', box.dbPath, 'customer', 'list'], [[/Key of .*crm\.db:/, 'not it\r']], noKeyEnv);
    expect(wrong.code).toBe(1);
    expect(wrong.output).toMatch(/error: wrong key for/);
    expect(sha(box.dbPath)).toBe(hash);
  });

  it('two different answers encrypt nothing', async () => {
    const hash = sha(box.dbPath);
    const r = await onTerminal(['--db', box.dbPath, 'db', 'encrypt'], [[/New key:/, 'first\r'], [/Repeat the new key:/, 'second\r']], noKeyEnv);
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/error: the two keys differ; nothing was changed/);
    expect(sha(box.dbPath)).toBe(hash);
    expect(hasSqliteHeader(box.dbPath)).toBe(true);
  });
});
