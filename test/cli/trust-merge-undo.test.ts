// Issue 8: duplicates, merge and undo through the real CLI, checked against full table dumps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ON_POSTGRES, sandbox, type Sandbox, openDb } from '../helpers/cli.js';

const NOW = '2026-03-01T10:00:00.000Z';
/** The audit trail, and the export change log (an undo adds entries to it rather than removing them). */
const AUDIT = new Set(['audit_log', 'audit_change', 'audit_range', 'row_changes', 'row_change_commits']);

/** Every row of every table except the audit trail's and the change log's. */
function dataDump(box: Sandbox): string {
  return box
    .dump()
    // A table's section starts with its name: `name\nrows` on SQLite, `name:rows` on PostgreSQL.
    .split(/\n(?=[a-z_]+[\n:])/)
    .filter((section) => !AUDIT.has(/^[a-z_]+/.exec(section)![0]))
    .join('\n');
}

/** Runs SQL statements (ids given) on either engine; on PostgreSQL the tables' identities move past them. */
function write(box: Sandbox, statements: string): void {
  if (ON_POSTGRES) {
    // json_object is SQLite's; PostgreSQL's builder gives the same JSON values (spacing aside).
    box.exec(statements.replace(/\bjson_object\(/g, 'json_build_object('));
    for (const table of new Set([...statements.matchAll(/INSERT INTO (\w+) \(id\b/g)].map((m) => m[1]!))) {
      box.exec(`SELECT setval(pg_get_serial_sequence('crm.${table}', 'id'), (SELECT max(id) FROM ${table}))`);
    }
    return;
  }
  const db = openDb(box.dbPath);
  try {
    db.exec(statements);
  } finally {
    db.close();
  }
}

const env = { CRM_NOW: NOW };

describe('customer duplicates', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'Li.Wei+shop@gmail.com', '--phone', '+86 138 0013 8000', '--city', 'Shanghai'], { env });
    box.ok(['customer', 'add', '--name', 'Li  Wei', '--email', 'liwei@googlemail.com', '--city', 'Shanghai'], { env });
    box.ok(['customer', 'add', '--name', 'Zhang Min', '--phone', '0086-138-0013-8000', '--city', 'Beijing'], { env });
    box.ok(['customer', 'add', '--name', 'Anna Schmidt', '--city', 'Berlin', '--email', 'anna@example.com'], { env });
    box.ok(['customer', 'add', '--name', 'Ana Schmidt', '--city', 'Berlin'], { env });
    box.ok(['customer', 'add', '--name', 'Ana Schmidt', '--city', 'Hamburg'], { env });
    box.ok(['customer', 'add', '--name', 'Bob Stone', '--email', 'a.b+c@example.com'], { env });
    box.ok(['customer', 'add', '--name', 'Rob Stone', '--email', 'ab@example.com'], { env });
    box.ok(['customer', 'add', '--name', 'Wang Fang', '--email', 'wang.fang@example.com', '--city', 'Wuhan'], { env });
    box.ok(['customer', 'add', '--name', 'Wang Fang', '--email', 'fang.wang@example.com', '--city', 'Wuhan'], { env });
  });
  afterAll(() => box.cleanup());

  it('finds pairs by mailbox, national phone number and similar names in one city, with reasons', () => {
    // Anna/Ana Schmidt: Jaro = (11/12 + 1 + 1) / 3, Winkler prefix 2 → 0.9778; a name reason is worth 0.8 of that.
    const out = box.ok(['customer', 'duplicates', '--format', 'csv']);
    expect(out.split('\r\n')).toEqual([
      'keep_id,keep_name,other_id,other_name,score,reason',
      '1,Li Wei,2,Li  Wei,0.99,same mailbox liwei@gmail.com; similar names (Jaro-Winkler 1.00) in the same city Shanghai',
      '1,Li Wei,3,Zhang Min,0.9,same phone 13800138000',
      '4,Anna Schmidt,5,Ana Schmidt,0.782,similar names (Jaro-Winkler 0.98) in the same city Berlin',
      '',
    ]);
  });

  it('restricts the match with --by and honours --format json', () => {
    const pairs = JSON.parse(box.ok(['customer', 'duplicates', '--by', 'email', '--format', 'json'])) as { keep_id: number; other_id: number; score: number }[];
    expect(pairs.map((p) => [p.keep_id, p.other_id, p.score])).toEqual([[1, 2, 0.95]]);
    expect(box.ok(['customer', 'duplicates', '--by', 'phone', '--format', 'tsv'])).toBe('keep_id\tkeep_name\tother_id\tother_name\tscore\treason\r\n1\tLi Wei\t3\tZhang Min\t0.9\tsame phone 13800138000\r\n');
  });

  it('weakens a name match when the emails differ, shown with a lower --min-score', () => {
    // Identical names (Jaro-Winkler 1) are worth 0.8, halved because the two emails differ: 0.4 < 0.5.
    expect(box.ok(['customer', 'duplicates', '--format', 'csv'])).not.toContain('Wang Fang');
    expect(box.ok(['customer', 'duplicates', '--min-score', '0.4', '--by', 'name', '--format', 'csv'])).toBe(
      'keep_id,keep_name,other_id,other_name,score,reason\r\n' +
        '1,Li Wei,2,Li  Wei,0.8,similar names (Jaro-Winkler 1.00) in the same city Shanghai\r\n' +
        '4,Anna Schmidt,5,Ana Schmidt,0.782,similar names (Jaro-Winkler 0.98) in the same city Berlin\r\n' +
        '9,Wang Fang,10,Wang Fang,0.4,similar names (Jaro-Winkler 1.00) in the same city Wuhan but different emails\r\n',
    );
    expect(box.run(['customer', 'duplicates', '--min-score', '2']).code).toBe(2);
  });

  it('rejects an unknown --by with exit 2', () => {
    const result = box.run(['customer', 'duplicates', '--by', 'age']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: --by "age" is not one of email, phone, name/m);
  });
});

describe('customer merge and undo', () => {
  // Three customers with history (`box`), the same after merging #2 into #1 (`merged`) and after
  // undoing that merge (`undone`): the tests read these, and write on their own copies.
  let box: Sandbox;
  let merged: Sandbox;
  let undone: Sandbox;
  let before: string;
  const copies: Sandbox[] = [];
  const copyOf = (from: Sandbox) => {
    const copy = from.clone();
    copies.push(copy);
    return copy;
  };
  beforeAll(() => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li.wei@example.com', '--city', 'Shanghai', '--tag', 'vip', '--field', 'plan=gold'], { env });
    box.ok(['customer', 'add', '--name', 'Li W.', '--email', 'liwei@work.example', '--phone', '138 0013 8000', '--age', '34', '--company', 'Acme', '--tag', 'vip', '--tag', 'wholesale', '--field', 'plan=silver', '--field', 'size=L'], { env });
    box.ok(['customer', 'add', '--name', 'Someone Else', '--email', 'else@example.com'], { env });
    write(
      box,
      `INSERT INTO activities (id, customer_id, type, at, summary, created_at) VALUES (1, 2, 'call', '2026-01-05T09:00:00Z', 'asked for a quote', '2026-01-05T09:00:00Z'), (2, 3, 'note', '2026-01-06T09:00:00Z', 'other customer', '2026-01-06T09:00:00Z');
       INSERT INTO sales (id, customer_id, product, amount_cents, sold_on, created_at) VALUES (1, 2, 'Tea set', 12000, '2026-01-07', '2026-01-07T00:00:00Z'), (2, 1, 'Teapot', 5000, '2026-01-08', '2026-01-08T00:00:00Z');
       INSERT INTO deals (id, customer_id, title, value_cents, stage, created_at, updated_at) VALUES (1, 2, 'Office tea', 90000, 'proposal', '2026-01-09T00:00:00Z', '2026-01-09T00:00:00Z');
       INSERT INTO tickets (id, customer_id, subject, priority, kind, status, opened_at, updated_at) VALUES (1, 2, 'Broken cup', 'normal', 'problem', 'open', '2026-01-10T00:00:00Z', '2026-01-10T00:00:00Z');
       INSERT INTO tasks (id, customer_id, title, due_at, created_at, updated_at) VALUES (1, 2, 'Call back', '2026-03-02', '2026-01-11T00:00:00Z', '2026-01-11T00:00:00Z');`,
    );
    before = dataDump(box);
    merged = box.clone();
    merged.ok(['customer', 'merge', '1', '2', '--yes'], { env: { CRM_NOW: '2026-03-01T11:00:00.000Z' } });
    undone = merged.clone();
    undone.ok(['undo', '4', '--yes']);
  });
  afterAll(() => {
    for (const sandbox of [box, merged, undone, ...copies]) sandbox?.cleanup();
  });

  it('refuses bad merges with a clear error, the right exit code and nothing changed', () => {
    const all = box.dump();
    const self = box.run(['customer', 'merge', '1', 'li.wei@example.com', '--yes']);
    expect(self.code).toBe(1);
    expect(self.stderr).toMatch(/^error: cannot merge #1 Li Wei <li.wei@example.com> with itself/m);
    const unknown = box.run(['customer', 'merge', '1', '99', '--yes']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: no customer with id 99/m);
    const unconfirmed = box.run(['customer', 'merge', '1', '2']);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/refusing without --yes/);
    expect(box.dump()).toBe(all);
  });

  it('shows the plan with --dry-run and writes nothing', () => {
    const all = box.dump();
    const result = box.run(['customer', 'merge', '1', '2', '--dry-run', '--format', 'csv']);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\r\n')).toEqual([
      'change,what,count,detail',
      'move,activities,1,activities #1 → customer #1',
      'move,sales,1,sales #1 → customer #1',
      'move,deals,1,deals #1 → customer #1',
      'move,tickets,1,tickets #1 → customer #1',
      'move,tasks,1,tasks #1 → customer #1',
      'add,tags,1,wholesale',
      'add,fields,1,size=L',
      'keep,fields,1,plan=gold (not silver)',
      'fill,profile,3,"phone=138 0013 8000, age=34, company=Acme"',
      'delete,customer,1,#2 Li W. <liwei@work.example>',
      '',
    ]);
    expect(result.stderr).toMatch(/dry run: nothing was changed/);
    expect(box.dump()).toBe(all);
  });

  it('moves everything onto keep, unites tags and fields, fills empty fields and deletes other', () => {
    const own = copyOf(box);
    const result = own.run(['customer', 'merge', '1', '2', '--yes'], { env: { CRM_NOW: '2026-03-01T11:00:00.000Z' } });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/merged #2 Li W\. <liwei@work.example> into #1 Li Wei <li.wei@example.com> \(audit entry 4; reverse it with `crm undo 4`\)/);
    expect(own.query('SELECT id, name, email, phone, phone_digits, age, company, city, updated_at FROM customers ORDER BY id')).toEqual([
      { id: 1, name: 'Li Wei', email: 'li.wei@example.com', phone: '138 0013 8000', phone_digits: '13800138000', age: 34, company: 'Acme', city: 'Shanghai', updated_at: '2026-03-01T11:00:00.000Z' },
      { id: 3, name: 'Someone Else', email: 'else@example.com', phone: null, phone_digits: null, age: null, company: null, city: null, updated_at: NOW },
    ]);
    for (const table of ['activities', 'sales', 'deals', 'tickets', 'tasks']) {
      expect(own.query(`SELECT count(*) AS n FROM ${table} WHERE customer_id = 2`)[0], table).toEqual({ n: 0 });
    }
    expect(own.query('SELECT id, customer_id FROM activities ORDER BY id')).toEqual([{ id: 1, customer_id: 1 }, { id: 2, customer_id: 3 }]);
    expect(own.query('SELECT id, customer_id FROM sales ORDER BY id')).toEqual([{ id: 1, customer_id: 1 }, { id: 2, customer_id: 1 }]);
    expect(own.query("SELECT t.name FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.customer_id = 1 ORDER BY t.name")).toEqual([{ name: 'vip' }, { name: 'wholesale' }]);
    expect(own.query('SELECT customer_id, key, value FROM customer_fields ORDER BY customer_id, key')).toEqual([
      { customer_id: 1, key: 'plan', value: 'gold' },
      { customer_id: 1, key: 'size', value: 'L' },
    ]);
    const [entry] = own.query<{ action: string; entity_id: number; n: number }>(
      "SELECT action, entity_id, (SELECT count(*) FROM audit_change WHERE log_id = audit_log.id) AS n FROM audit_log WHERE action = 'customer.merge'",
    );
    // 5 moves, 1 tag added, 2 tag links and 2 fields removed from other, 1 field added, other deleted, keep filled.
    expect(entry).toEqual({ action: 'customer.merge', entity_id: 1, n: 13 });
  });

  it('undo restores every table exactly and marks both entries', () => {
    const own = copyOf(merged);
    const result = own.run(['undo', '4', '--yes']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/undid entry 4 \(customer.merge\)/);
    expect(dataDump(own)).toBe(before);
    expect(own.query('SELECT id, action, undone_by, undoes FROM audit_log WHERE id >= 4 ORDER BY id')).toEqual([
      { id: 4, action: 'customer.merge', undone_by: 5, undoes: null },
      { id: 5, action: 'undo', undone_by: null, undoes: 4 },
    ]);
  });

  it('refuses to undo an entry twice, or an undo, and changes nothing', () => {
    const box = undone;
    const all = box.dump();
    const again = box.run(['undo', '4', '--yes']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error: cannot undo entry 4 \(customer.merge\): it was already undone by entry 5$/m);
    const undoOfUndo = box.run(['undo', '5', '--yes']);
    expect(undoOfUndo.code).toBe(1);
    expect(undoOfUndo.stderr).toMatch(/it is itself the undo of entry 4/);
    const missing = box.run(['undo', '99', '--yes']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: no audit entry 99/m);
    const bad = box.run(['undo', 'abc', '--yes']);
    expect(bad.code).toBe(2);
    expect(box.dump()).toBe(all);
  });

  it('can merge again after the undo, and undo that too', () => {
    const own = copyOf(undone);
    own.ok(['customer', 'merge', '2', '1', '--yes']);
    expect(own.query('SELECT id FROM customers ORDER BY id')).toEqual([{ id: 2 }, { id: 3 }]);
    own.ok(['undo', '6', '--yes']);
    expect(dataDump(own)).toBe(before);
  });
});

describe('undo of entries written by real commands, and dependencies', () => {
  let box: Sandbox;
  afterAll(() => box.cleanup());

  it('undoes customer add and config set', () => {
    box = sandbox();
    box.ok(['init']);
    const empty = dataDump(box);
    box.ok(['customer', 'add', '--name', 'Ada Lovelace', '--email', 'ada@example.com'], { env });
    box.ok(['config', 'set', 'currency', 'USD'], { env });
    box.ok(['config', 'set', 'currency', 'EUR'], { env });

    const blocked = box.run(['undo', '2', '--yes']);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toMatch(/^error: cannot undo entry 2 \(config.set\): later entry 3 \(config.set\) changed config \(key=currency\)$/m);
    expect(blocked.stderr).toMatch(/^hint: undo entry 3 first/m);

    box.ok(['undo', '3', '--yes']);
    expect(box.ok(['config', 'get', 'currency'])).toBe('USD\n');
    box.ok(['undo', '2', '--yes']);
    expect(box.ok(['config', 'get', 'currency'])).toBe('CNY\n');
    box.ok(['undo', '1', '--yes']);
    expect(dataDump(box)).toBe(empty);
  });

  it('refuses to undo an import that later sales depend on, until those are undone', () => {
    box = sandbox();
    box.ok(['init']);
    box.ok(['customer', 'add', '--name', 'Existing', '--email', 'existing@example.com'], { env });
    const beforeImport = dataDump(box);
    // What an import writes: the rows, one entry, and the inserted id range.
    write(
      box,
      `INSERT INTO customers (id, name, email, created_at, updated_at) VALUES (2, 'Imported One', 'one@example.com', '${NOW}', '${NOW}'), (3, 'Imported Two', 'two@example.com', '${NOW}', '${NOW}');
       INSERT INTO customer_fields (customer_id, key, value) VALUES (2, 'plan', 'gold');
       INSERT INTO tags (id, name) VALUES (1, 'from-import');
       INSERT INTO customer_tags (customer_id, tag_id) VALUES (2, 1), (3, 1);
       INSERT INTO audit_log (id, at, actor, command, action, entity) VALUES (2, '${NOW}', 'test', 'crm import customers c.csv', 'import.customers', 'customer');
       INSERT INTO audit_range (log_id, table_name, first_id, last_id) VALUES (2, 'customers', 2, 3), (2, 'tags', 1, 1);
       INSERT INTO sales (id, customer_id, product, amount_cents, sold_on, created_at) VALUES (1, 3, 'Tea', 100, '2026-02-01', '${NOW}');
       INSERT INTO audit_log (id, at, actor, command, action, entity, entity_id, customer_id) VALUES (3, '${NOW}', 'test', 'crm sale record …', 'sale.record', 'sale', 1, 3);
       INSERT INTO audit_change (log_id, table_name, row_id, op, after) VALUES (3, 'sales', 1, 'insert', json_object('id', 1, 'customer_id', 3, 'product', 'Tea', 'amount_cents', 100));`,
    );
    const all = box.dump();
    const blocked = box.run(['undo', '2', '--yes']);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toMatch(/^error: cannot undo entry 2 \(import.customers\): sales #1 refers to customers #3, which this entry imported$/m);
    expect(box.dump()).toBe(all);

    box.ok(['undo', '3', '--yes']);
    // An existing customer tagged with the imported tag depends on it too.
    write(box, 'INSERT INTO customer_tags (customer_id, tag_id) VALUES (1, 1);');
    const tagged = box.run(['undo', '2', '--yes']);
    expect(tagged.code).toBe(1);
    expect(tagged.stderr).toMatch(/^error: cannot undo entry 2 \(import.customers\): customer #1 is tagged with tags #1, which this entry imported$/m);
    write(box, 'DELETE FROM customer_tags WHERE customer_id = 1;');
    const result = box.run(['undo', '2', '--yes']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/0 rows restored, 3 rows removed/);
    expect(dataDump(box)).toBe(beforeImport);
  });

  it('undoes an entry that inserted a row and pointed another row at it (a deal won with its sale)', () => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', 'Buyer', '--email', 'buyer@example.com'], { env });
    write(
      box,
      `INSERT INTO deals (id, customer_id, title, value_cents, stage, created_at, updated_at) VALUES (1, 1, 'Big order', 50000, 'negotiation', '${NOW}', '${NOW}');`,
    );
    const beforeWin = dataDump(box);
    write(
      box,
      `INSERT INTO sales (id, customer_id, product, amount_cents, sold_on, deal_id, created_at) VALUES (1, 1, 'Big order', 50000, '2026-03-01', 1, '${NOW}');
       UPDATE deals SET stage = 'won', won_sale_id = 1, updated_at = '2026-03-01T11:00:00.000Z' WHERE id = 1;
       INSERT INTO audit_log (id, at, actor, command, action, entity, entity_id, customer_id) VALUES (2, '${NOW}', 'test', 'crm deal move 1 won', 'deal.move', 'deal', 1, 1);
       INSERT INTO audit_change (log_id, table_name, row_id, op, after) VALUES (2, 'sales', 1, 'insert', json_object('id', 1, 'customer_id', 1, 'amount_cents', 50000, 'deal_id', 1));
       INSERT INTO audit_change (log_id, table_name, row_id, op, before, after) VALUES (2, 'deals', 1, 'update',
         json_object('stage', 'negotiation', 'won_sale_id', NULL, 'updated_at', '${NOW}'), json_object('stage', 'won', 'won_sale_id', 1, 'updated_at', '2026-03-01T11:00:00.000Z'));`,
    );
    const result = box.run(['undo', '2', '--yes']);
    expect(result.stderr).toBe('undid entry 2 (deal.move): 1 row restored, 1 row removed; recorded as entry 3\n');
    expect(result.code).toBe(0);
    expect(dataDump(box)).toBe(beforeWin);
  });

  it('refuses when a later entry changed a row the entry inserted', () => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', 'Keep Me', '--email', 'keep@example.com'], { env });
    box.ok(['customer', 'add', '--name', 'Merge Me', '--phone', '+86 139 0000 0000'], { env });
    box.ok(['customer', 'merge', '1', '2', '--yes'], { env });
    const all = box.dump();
    const result = box.run(['undo', '1', '--yes']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: cannot undo entry 1 \(customer.add\): later entry 3 \(customer.merge\) changed customers #1$/m);
    const other = box.run(['undo', '2', '--yes']);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/later entry 3 \(customer.merge\) changed customers #2/);
    expect(box.dump()).toBe(all);
  });
});

describe('audit list', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com'], { env: { CRM_NOW: '2026-01-01T08:00:00.000Z' } });
    box.ok(['customer', 'add', '--name', 'Anna', '--email', 'anna@example.com'], { env: { CRM_NOW: '2026-02-01T08:00:00.000Z' } });
    box.ok(['config', 'set', 'currency', 'USD'], { env: { CRM_NOW: '2026-02-02T08:00:00.000Z' } });
  });
  afterAll(() => box.cleanup());

  it('lists entries newest first with who, when, command, action, entity and summary', () => {
    const lines = box.ok(['audit', 'list', '--format', 'csv']).split('\r\n');
    expect(lines[0]).toBe('id,at,actor,action,entity,entity_id,summary,status,command');
    expect(lines.slice(1, 4).map((l) => l.split(',').slice(0, 2).concat(l.split(',').slice(3, 7)).join(','))).toEqual([
      '3,2026-02-02T08:00:00Z,config.set,config,,currency = USD',
      '2,2026-02-01T08:00:00Z,customer.add,customer,2,#2 Anna <anna@example.com>',
      '1,2026-01-01T08:00:00Z,customer.add,customer,1,#1 Li Wei <li@example.com>',
    ]);
    expect(lines[3]).toMatch(/crm --db \S+ customer add --name 'Li Wei' --email li@example.com$/);
  });

  it('filters by --since, --entity and --customer, and adds before/after in JSON', () => {
    const ids = (args: string[]) => (JSON.parse(box.ok(['audit', 'list', ...args, '--format', 'json'])) as { id: number }[]).map((e) => e.id);
    expect(ids(['--since', '2026-02-01'])).toEqual([3, 2]);
    expect(ids(['--entity', 'config'])).toEqual([3]);
    expect(ids(['--customer', 'li@example.com'])).toEqual([1]);
    expect(ids(['--customer', '2'])).toEqual([2]);
    expect(ids(['--limit', '1'])).toEqual([3]);
    const [config] = JSON.parse(box.ok(['audit', 'list', '--entity', 'config', '--format', 'json'])) as { changes: unknown[] }[];
    expect(config!.changes).toEqual([{ table: 'config', row_id: 0, op: 'insert', before: null, after: { key: 'currency', value: 'USD' } }]);
    const bad = box.run(['audit', 'list', '--since', '2026-02-30']);
    expect(bad.code).toBe(2);
    const unknown = box.run(['audit', 'list', '--customer', 'nobody@example.com']);
    expect(unknown.code).toBe(1);
  });
});
