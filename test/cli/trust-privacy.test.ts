// Issue 8: export-data, forget (checked on the database file's bytes), read-only sql, db check.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENCRYPTED, ON_POSTGRES, sandbox, type Sandbox, openDb } from '../helpers/cli.js';

const NOW = '2026-03-01T10:00:00.000Z';
const env = { CRM_NOW: NOW };
const NAME = 'Zhou Xiaoling';
const EMAIL = 'xiaoling.zhou@example.org';
const PHONE = '+86 139 8765 4321';
const OLD_EMAIL = 'zxl.private@example.net';

function write(box: Sandbox, statements: string): void {
  if (ON_POSTGRES) return box.exec(statements);
  const db = openDb(box.dbPath);
  try {
    db.exec(statements);
  } finally {
    db.close();
  }
}

/** Where in the database file (and its WAL) a string still occurs. */
/**
 * The bytes to search: the database file, its WAL and journal. On the encrypted pass those never
 * show a name (that is encryption's job), so the search also covers every page as the key reads
 * it, free pages included (sqlite3_serialize reads pages 1..N through the pager, WAL included):
 * what forget must overwrite is there, whether or not the file is encrypted.
 */
function images(box: Sandbox): [string, Buffer][] {
  // PostgreSQL keeps no file of ours: what must be gone is gone from every table (the dump of all of them).
  if (ON_POSTGRES) return [['every table', Buffer.from(box.dump(), 'utf8')]];
  const files: [string, Buffer][] = [box.dbPath, `${box.dbPath}-wal`, `${box.dbPath}-journal`]
    .filter((path) => existsSync(path))
    .map((path) => [path, readFileSync(path)]);
  if (!ENCRYPTED) return files;
  const db = openDb(box.dbPath, { readonly: true });
  try {
    return [...files, [`${box.dbPath} (decrypted pages)`, db.serialize()]];
  } finally {
    db.close();
  }
}

function occurrences(box: Sandbox, text: string): string[] {
  const found: string[] = [];
  for (const [path, bytes] of images(box)) {
    for (const needle of [text, text.toLowerCase(), text.toUpperCase()]) {
      if (bytes.includes(Buffer.from(needle, 'utf8'))) found.push(`${path}: ${needle}`);
    }
  }
  return found;
}

const revenue = (box: Sandbox) => box.query<{ cents: number }>('SELECT sum(amount_cents) AS cents FROM sales WHERE voided_at IS NULL')[0]!.cents;

describe('customer export-data and forget', () => {
  // The person's history (`box`), and the same after `customer forget` (`forgotten`); the erase
  // test forgets on its own copy.
  let box: Sandbox;
  let forgotten: Sandbox;
  let own: Sandbox | undefined;
  const forget = (on: Sandbox) => on.run(['customer', 'forget', NAME, '--yes'], { env: { CRM_NOW: '2026-03-02T10:00:00.000Z' } });
  beforeAll(() => {
    box = sandbox();
    // An earlier record of the same person, merged in, so the audit trail holds an old email too.
    box.ok(['customer', 'add', '--name', NAME, '--email', EMAIL, '--phone', PHONE, '--city', 'Hangzhou', '--tag', 'vip', '--field', 'wechat=zxl_88'], { env });
    box.ok(['customer', 'add', '--name', 'Xiaoling Z.', '--email', OLD_EMAIL, '--age', '29'], { env });
    box.ok(['customer', 'add', '--name', 'Other Person', '--email', 'other@example.com'], { env });
    box.ok(['customer', 'merge', '1', '2', '--yes'], { env });
    write(
      box,
      `INSERT INTO activities (id, customer_id, type, at, summary, created_at) VALUES (1, 1, 'call', '2026-01-05T09:00:00Z', 'Zhou Xiaoling asked about oolong', '2026-01-05T09:00:00Z');
       INSERT INTO sales (id, customer_id, product, amount_cents, sold_on, note, created_at) VALUES
         (1, 1, 'Tea set', 12050, '2026-01-07', 'for Zhou Xiaoling', '2026-01-07T00:00:00Z'),
         (2, 1, 'Teapot', 5000, '2026-01-08', NULL, '2026-01-08T00:00:00Z'),
         (3, 3, 'Cups', 2500, '2026-01-09', NULL, '2026-01-09T00:00:00Z');
       INSERT INTO sales (id, customer_id, product, amount_cents, sold_on, created_at, voided_at, void_reason) VALUES (4, 1, 'Gift box', 9900, '2026-01-10', '2026-01-10T00:00:00Z', '2026-01-11T00:00:00Z', 'typo');
       INSERT INTO deals (id, customer_id, title, value_cents, stage, created_at, updated_at) VALUES (1, 1, 'Office tea', 90000, 'proposal', '2026-01-09T00:00:00Z', '2026-01-09T00:00:00Z');
       INSERT INTO deal_stage_history (deal_id, from_stage, to_stage, at) VALUES (1, NULL, 'proposal', '2026-01-09T00:00:00Z');
       INSERT INTO tickets (id, customer_id, subject, description, priority, kind, status, opened_at, updated_at) VALUES (1, 1, 'Broken cup', 'call 139 8765 4321', 'normal', 'problem', 'resolved', '2026-01-10T00:00:00Z', '2026-01-10T00:00:00Z');
       INSERT INTO ticket_events (ticket_id, at, kind, comment) VALUES (1, '2026-01-10T01:00:00Z', 'comment', 'spoke to Zhou Xiaoling');
       INSERT INTO ticket_ratings (ticket_id, score, comment, rated_at) VALUES (1, 5, 'great', '2026-01-11T00:00:00Z');
       INSERT INTO tasks (id, customer_id, title, due_at, created_at, updated_at) VALUES (1, 1, 'Call back', '2026-03-02', '2026-01-11T00:00:00Z', '2026-01-11T00:00:00Z');`,
    );
    forgotten = box.clone();
    forget(forgotten);
  });
  afterAll(() => {
    for (const sandbox of [box, forgotten, own]) sandbox?.cleanup();
  });

  it('exports everything stored about the person as one JSON document', () => {
    const doc = JSON.parse(box.ok(['customer', 'export-data', EMAIL], { env })) as Record<string, any>;
    expect(Object.keys(doc)).toEqual(['exported_at', 'customer', 'fields', 'tags', 'activities', 'activity_links', 'sales', 'deals', 'tickets', 'tasks', 'audit']);
    expect(doc.exported_at).toBe('2026-03-01T10:00:00Z');
    expect(doc.customer).toMatchObject({ id: 1, name: NAME, email: EMAIL, phone: PHONE, age: 29, city: 'Hangzhou' });
    expect(doc.fields).toEqual({ wechat: 'zxl_88' });
    expect(doc.tags).toEqual(['vip']);
    expect(doc.activities.map((a: any) => a.summary)).toEqual(['Zhou Xiaoling asked about oolong']);
    expect(doc.sales.map((s: any) => [s.id, s.amount, s.amount_cents])).toEqual([[1, '120.50', 12050], [2, '50.00', 5000], [4, '99.00', 9900]]);
    expect(doc.deals[0]).toMatchObject({ title: 'Office tea', value: '900.00', value_cents: 90000, stage_history: [{ to_stage: 'proposal' }] });
    expect(doc.tickets[0]).toMatchObject({ subject: 'Broken cup', events: [{ comment: 'spoke to Zhou Xiaoling' }], ratings: [{ score: 5 }] });
    expect(doc.tasks.map((t: any) => t.title)).toEqual(['Call back']);
    expect(doc.audit.map((e: any) => e.action)).toEqual(['customer.add', 'customer.merge']);
    expect(doc.audit[1].changes.length).toBeGreaterThan(0);
  });

  it('export-data only writes JSON and refuses an unknown customer', () => {
    expect(box.run(['customer', 'export-data', '1', '--format', 'csv']).code).toBe(2);
    const unknown = box.run(['customer', 'export-data', 'nobody@example.com']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: no customer with email nobody@example.com/m);
  });

  it('refuses to forget an unknown customer, or without --yes, and changes nothing', () => {
    const all = box.dump();
    const unknown = box.run(['customer', 'forget', '99', '--yes']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: no customer with id 99/m);
    const unconfirmed = box.run(['customer', 'forget', '1']);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/refusing without --yes/);
    expect(box.dump()).toBe(all);
  });

  it('erases the person from every table and the file bytes, keeps revenue, and records the erase', () => {
    own = box.clone();
    const revenueBefore = revenue(own);
    expect(revenueBefore).toBe(12050 + 5000 + 2500);
    // The data is really there before (the test would be meaningless otherwise).
    expect(occurrences(own, NAME).length).toBeGreaterThan(0);

    const result = forget(own);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^erased customer #1: 1 activities, 1 deals, 1 tickets, 1 tasks; 3 sales kept without a customer/m);
    expect(result.stderr).toMatch(/^warning: backups made before now still hold this person's data/m);

    for (const text of [NAME, EMAIL, PHONE, '13987654321', '139 8765 4321', OLD_EMAIL, 'zxl_88', 'asked about oolong', 'Broken cup']) {
      expect(occurrences(own, text), text).toEqual([]);
    }
    expect(revenue(own)).toBe(revenueBefore);
    expect(own.query('SELECT id, customer_id, note FROM sales ORDER BY id')).toEqual([
      { id: 1, customer_id: null, note: null },
      { id: 2, customer_id: null, note: null },
      { id: 3, customer_id: 3, note: null },
      { id: 4, customer_id: null, note: null },
    ]);
    for (const table of ['customers', 'customer_fields', 'customer_tags', 'activities', 'deals', 'deal_stage_history', 'tickets', 'ticket_events', 'ticket_ratings', 'tasks']) {
      const expected = table === 'customers' ? 1 : 0;
      expect(own.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)[0]!.n, table).toBe(expected);
    }
    const [entry] = own.query<Record<string, unknown>>("SELECT entity, entity_id, customer_id, summary, command FROM audit_log WHERE action = 'customer.forget'");
    expect(entry).toEqual({
      entity: 'customer',
      entity_id: 1,
      customer_id: null,
      summary: 'erased customer #1 (1 activities, 1 deals, 1 tickets, 1 tasks); 3 sales kept without a customer',
      command: expect.stringMatching(/customer forget '\[erased\]' --yes$/),
    });
    expect(own.query("SELECT count(*) AS n FROM audit_change WHERE before LIKE '%Xiaoling%' OR after LIKE '%Xiaoling%'")).toEqual([{ n: 0 }]);
    // The other customer's history is untouched.
    expect(own.query("SELECT summary FROM audit_log WHERE action = 'customer.add' AND entity_id = 3")).toEqual([{ summary: '#3 Other Person <other@example.com>' }]);
  });

  it('refuses to undo entries whose data was erased', () => {
    const box = forgotten;
    const all = box.dump();
    const merge = box.run(['undo', '4', '--yes']);
    expect(merge.code).toBe(1);
    expect(merge.stderr).toMatch(/has since been erased by `customer forget`/);
    const forget = box.query<{ id: number }>("SELECT id FROM audit_log WHERE action = 'customer.forget'")[0]!.id;
    const again = box.run(['undo', String(forget), '--yes']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/irreversible by design$/m);
    expect(box.dump()).toBe(all);
  });
});

describe('crm sql', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', 'Li Wei', '--city', 'Shanghai'], { env });
    box.ok(['customer', 'add', '--name', 'Anna', '--city', 'Berlin'], { env });
    box.ok(['customer', 'add', '--name', 'Wang Fang', '--city', 'Shanghai'], { env });
  });
  afterAll(() => box.cleanup());

  it('prints a query in any format, with columns named as in the query', () => {
    const q = 'SELECT city, count(*) AS customers, 0.5 AS half FROM customers GROUP BY city ORDER BY city';
    expect(box.ok(['sql', q, '--format', 'csv'])).toBe('city,customers,half\r\nBerlin,1,0.5\r\nShanghai,2,0.5\r\n');
    expect(JSON.parse(box.ok(['sql', q, '--format', 'json']))).toEqual([
      { city: 'Berlin', customers: 1, half: 0.5 },
      { city: 'Shanghai', customers: 2, half: 0.5 },
    ]);
    expect(box.ok(['sql', 'SELECT 1 AS n, 2 AS n;', '--format', 'json'])).toBe('[\n  {"n":1,"n_2":2}\n]\n');
    const table = box.ok(['sql', "SELECT name FROM customers WHERE city = 'Berlin'"]);
    expect(table).toContain('│ name │');
    expect(table).toContain('│ Anna │');
  });

  it('refuses writes, ATTACH, PRAGMA and several statements with exit 2, changing nothing', () => {
    const all = box.dump();
    const cases: [string, RegExp][] = [
      ['DELETE FROM customers', /^error: crm sql runs read-only queries only: this DELETE would change the database$/m],
      ["UPDATE customers SET name = 'x'", /would change the database/],
      ['WITH x AS (SELECT 1) DELETE FROM customers', /would change the database/],
      ["ATTACH DATABASE 'other.db' AS other", /^error: crm sql runs read-only queries only: ATTACH would open another database file$/m],
      ['PRAGMA writable_schema = 1', /^error: crm sql runs read-only queries only: PRAGMA statements/m],
      ['  -- comment\n  pragma writable_schema=ON', /PRAGMA statements/],
      ['SELECT 1; DELETE FROM customers', /^error: crm sql runs one statement at a time$/m],
      ['SELECT * FROM nowhere', /^error: the query does not parse: no such table: nowhere$/m],
      ['', /^error: give a SELECT statement to run$/m],
    ];
    for (const [query, message] of cases) {
      const result = box.run(['sql', query]);
      expect(result.code, query).toBe(2);
      expect(result.stderr, query).toMatch(message);
      expect(result.stdout, query).toBe('');
    }
    expect(box.dump()).toBe(all);
  });
});

describe('db check data section', () => {
  let box: Sandbox;
  afterAll(() => box?.cleanup());

  // Inherently SQLite: the orphan rows are written with foreign keys switched off, which
  // PostgreSQL's constraints never allow.
  it.skipIf(ON_POSTGRES)('counts contact problems, duplicates, quiet customers, orphans and unused tags, with hints', () => {
    box = sandbox();
    box.ok(['init']);
    write(
      box,
      `INSERT INTO customers (id, name, email, phone, city, created_at, updated_at) VALUES
         (1, 'No Contact', NULL, NULL, 'Shanghai', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z'),
         (2, 'Bad Email', 'not-an-email', NULL, NULL, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'),
         (3, 'Bad Phone', NULL, '12-ab', NULL, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'),
         (4, 'Li Wei', 'li.wei@gmail.com', NULL, NULL, '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z'),
         (5, 'Wei Li', 'liwei@gmail.com', NULL, NULL, '2024-06-01T00:00:00Z', '2024-06-01T00:00:00Z');
       INSERT INTO activities (customer_id, type, at, summary, created_at) VALUES (4, 'call', '2026-02-01T00:00:00Z', 'hi', '2026-02-01T00:00:00Z');
       INSERT INTO tags (id, name) VALUES (1, 'unused');
       PRAGMA foreign_keys = OFF;
       INSERT INTO customer_fields (customer_id, key, value) VALUES (42, 'plan', 'gold');`,
    );
    // The orphaned field row is also a foreign-key problem, so the integrity section fails the check.
    const result = box.run(['db', 'check', '--format', 'json'], { env });
    expect(result.code).toBe(1);
    const doc = JSON.parse(result.stdout) as { data: { check: string; count: number; hint: string }[] };
    expect(doc.data.map((f) => [f.check, f.count])).toEqual([
      ['customers without email or phone', 1],
      ['invalid email addresses', 1],
      ['invalid phone numbers', 1],
      ['likely duplicate pairs', 1],
      ['customers without activity for a year', 2],
      ['orphaned rows', 1],
      ['unused tags', 1],
    ]);
    for (const f of doc.data) expect(f.hint.length, f.check).toBeGreaterThan(10);
  });
});
