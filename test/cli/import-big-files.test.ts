// A big import file (4 MB and more) is read and parsed by a worker thread while the rows already
// parsed are written. Everything a user sees must stay as it is for a small file or stdin, which are
// parsed on the importing thread: the rows written, line numbers in problems, the errors of a
// broken file, and a database left unchanged when the import is refused.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ON_POSTGRES, sandbox, type Sandbox } from '../helpers/cli.js';

const env = { CRM_NOW: '2025-06-01T09:00:00Z' };
const ROWS = 60_000;

/** 60,000 customers (about 5 MB); row i is on line i + 2, and every 1000th has a quoted two-line company. */
function customersText(): string {
  const lines = ['name,email,phone,city,company,tags'];
  for (let i = 0; i < ROWS; i++) {
    const company = i % 1000 === 0 ? `"Firm ${i}\nSecond floor"` : `"Company, ${i % 500}"`;
    lines.push(`Customer ${i},customer${i}@example.com,+44 20 7946 ${String(i).padStart(5, '0')},City ${i % 40},${company},${i % 3 === 0 ? 'vip' : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The line a row starts on: a row with a two-line company pushes every later row down one line. */
const lineOf = (i: number) => i + 2 + Math.ceil(i / 1000);

let boxes: Sandbox[] = [];
const fresh = () => {
  const box = sandbox();
  box.ok(['init']);
  boxes.push(box);
  return box;
};
afterAll(() => {
  for (const box of boxes) box.cleanup();
  boxes = [];
});

let text: string;
beforeAll(() => {
  text = customersText();
  expect(Buffer.byteLength(text)).toBeGreaterThan(4 << 20);
});

const write = (box: Sandbox, name: string, content: string | Buffer) => {
  const path = join(box.dir, name);
  writeFileSync(path, content);
  return path;
};

const rowsOf = (box: Sandbox) => {
  const tags = new Map<number, string>();
  for (const t of box.query<{ customer_id: number; name: string }>('SELECT ct.customer_id, t.name FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id')) {
    tags.set(Number(t.customer_id), t.name);
  }
  return box
    .query<Record<string, unknown>>('SELECT id, name, email, phone, city, company FROM customers ORDER BY id')
    .map((row) => ({ ...row, tags: tags.get(Number(row.id)) ?? null }));
};

describe('a big import file', () => {
  it('writes the same rows as the same file read from stdin', () => {
    const fromFile = fresh();
    const fromStdin = fresh();
    const path = write(fromFile, 'customers.csv', text);
    const a = fromFile.run(['import', 'customers', path], { env });
    const b = fromStdin.run(['import', 'customers', '-'], { env, input: text });
    expect(a.stderr).toMatch(/^imported 60000, updated 0, skipped 0, rejected 0 in /m);
    expect(b.stderr).toMatch(/^imported 60000, updated 0, skipped 0, rejected 0 in /m);
    expect(a.code).toBe(0);
    const rows = rowsOf(fromFile);
    expect(rows).toHaveLength(ROWS);
    expect(rows).toEqual(rowsOf(fromStdin));
    expect(rows[1000]).toMatchObject({ name: 'Customer 1000', company: 'Firm 1000\nSecond floor', email: 'customer1000@example.com' });
    expect(rows[59_997]).toMatchObject({ name: 'Customer 59997', company: 'Company, 497', city: 'City 37', tags: 'vip' });
    expect(rows[59_999]).toMatchObject({ name: 'Customer 59999', company: 'Company, 499', city: 'City 39', tags: null });
  });

  it('names the lines of invalid rows far into the file and writes nothing', () => {
    const box = fresh();
    box.ok(['customer', 'add', '--name', 'Existing', '--email', 'old@example.com'], { env });
    const before = box.dump();
    const bad = text.replace('customer41234@example.com', 'not-an-email').replace('customer59998@example.com', 'customer7@example.com');
    const result = box.run(['import', 'customers', write(box, 'bad.csv', bad)], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: 2 invalid rows in .*bad\.csv; nothing was imported$/m);
    expect(result.stderr).toContain(`line ${lineOf(41234)}: email: "not-an-email" is not a valid email address`);
    expect(result.stderr).toContain(`line ${lineOf(59998)}: email: duplicate of line ${lineOf(7)}`);
    expect(box.dump()).toBe(before);
  });

  it('reports invalid UTF-8 and an unclosed quote at their lines, and writes nothing', () => {
    const box = fresh();
    const before = box.dump();
    const at = text.indexOf('Customer 50000,');
    const latin1 = Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([0x4a, 0x6f, 0x73, 0xe9]), Buffer.from(text.slice(at))]);
    const broken = box.run(['import', 'customers', write(box, 'latin.csv', latin1)], { env });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(new RegExp(`^error: .*latin\\.csv: line ${lineOf(50000)}: invalid UTF-8$`, 'm'));
    expect(broken.stderr).toMatch(/^hint: say which encoding the file is in/m);

    const open = `${text}Last One,last@example.com,,"Nowhere,,\n`;
    const unclosed = box.run(['import', 'customers', write(box, 'open.csv', open)], { env });
    expect(unclosed.code).toBe(1);
    expect(unclosed.stderr).toMatch(new RegExp(`^error: .*open\\.csv: line ${lineOf(ROWS)}: a quoted field is never closed$`, 'm'));
    expect(box.dump()).toBe(before);
  });

  it('leaves every index and foreign key of the tables it wrote as it found them, and they hold', () => {
    // A big import into a table smaller than the file drops the table's indexes (on PostgreSQL, also
    // its foreign keys) and builds them again at the end: afterwards the schema must read as before.
    const box = fresh();
    const schema = () =>
      ON_POSTGRES
        ? box.query<{ name: string; def: string }>(
            `SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = 'crm'
             UNION ALL SELECT conname, pg_get_constraintdef(oid) || CASE WHEN convalidated THEN '' ELSE ' (not valid)' END FROM pg_constraint WHERE connamespace = 'crm'::regnamespace
             ORDER BY 1, 2`,
          )
        : box.query<{ name: string; def: string }>("SELECT name, sql AS def FROM sqlite_master WHERE type = 'index' ORDER BY name");
    const before = schema();
    expect(before.map((i) => i.name)).toEqual(expect.arrayContaining(['customers_email', 'customers_city_age', 'sales_customer_day', 'sales_import_key']));
    // One customer is there already: the import updates it (a change replayed on PostgreSQL) and adds the rest.
    box.ok(['customer', 'add', '--name', 'Old Five', '--email', 'customer5@example.com', '--city', 'Nowhere'], { env });
    // Every row has a tag (60,000 links: the links' table is written the same way).
    const tagged = text.replace(/,\n/g, ',new\n');
    const customers = box.run(['import', 'customers', write(box, 'customers.csv', tagged), '--on-duplicate', 'update'], { env });
    expect(customers.stderr).toMatch(/^imported 59999, updated 1, skipped 0, rejected 0 in /m);
    expect(box.query("SELECT name, city FROM customers WHERE email = 'customer5@example.com'")).toEqual([{ name: 'Customer 5', city: 'City 5' }]);
    const sales = ['customer,product,amount,date'];
    for (let i = 0; i < ROWS; i++) sales.push(`customer${(i * 7919) % ROWS}@example.com,Product ${i % 7},${(i % 900) + 1}.50,2025-0${1 + (i % 5)}-1${i % 10}`);
    const imported = box.run(['import', 'sales', write(box, 'sales.csv', `${sales.join('\n')}\n`)], { env });
    expect(imported.stderr).toMatch(/^imported 60000, updated 0, skipped 0, rejected 0 in /m);
    expect(schema()).toEqual(before);
    expect(box.run(['db', 'check']).code).toBe(0);
    // Each sale belongs to the customer its row named.
    expect(box.query<{ n: number }>("SELECT count(*) AS n FROM sales s JOIN customers c ON c.id = s.customer_id WHERE c.email = 'customer' || ((((s.id - 1) * 7919) % 60000)) || '@example.com'")).toEqual([{ n: ROWS }]);
    expect(box.query<{ n: number }>('SELECT count(*) AS n FROM customers')).toEqual([{ n: ROWS }]);
    expect(box.query("SELECT t.name, count(*) AS n FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id GROUP BY t.name ORDER BY t.name")).toEqual([
      { name: 'new', n: 40_000 },
      { name: 'vip', n: 20_000 },
    ]);
    // The rebuilt keys are enforced: a second customer with a taken email, a sale of a missing customer.
    expect(() => box.exec("INSERT INTO customers (name, email, created_at, updated_at) VALUES ('Copy', 'customer5@example.com', '2025-06-01', '2025-06-01')")).toThrow(/unique/i);
    if (ON_POSTGRES) {
      expect(() => box.exec("INSERT INTO sales (customer_id, product, amount_cents, sold_on, created_at) VALUES (999999, 'X', 1, '2025-06-01', '2025-06-01')")).toThrow(/foreign key/i);
    }
    // The same file again adds nothing: the import keys found the sales already there.
    const again = box.run(['import', 'sales', join(box.dir, 'sales.csv')], { env });
    expect(again.stderr).toMatch(/^imported 0, updated 0, skipped 60000, rejected 0 in /m);
  });

  it('keys sales without external_id as a small file of the same rows does, whoever the customer cells name', () => {
    // The reader thread of a big sales file works the keys of sales known by their content out ahead
    // of the import: they must be the keys the import itself computes for the same rows (the form
    // earlier versions wrote), for customers found by email, by external id and by crm id, for guests,
    // and for identical rows (the 2nd is the 2nd occurrence).
    const sha1 = (text: string, encoding: 'base64' | 'base64url') => createHash('sha1').update(text).digest(encoding);
    const keyOf = (customerId: number | null, product: string, quantity: number, cents: number, day: string, note: string, occurrence = 1) =>
      sha1(`${sha1(`${customerId ?? ''}\u001f${product}\u001f${quantity}\u001f${cents}\u001f${day}\u001f${note}`, 'base64')}#${occurrence}`, 'base64url');
    const SALES = 70_000;
    const CUSTOMERS = 3000;
    for (const keyedBy of ['email', 'external_id'] as const) {
      const box = fresh();
      const people = ['name,email,external_id', ...Array.from({ length: CUSTOMERS }, (_, i) => `Person ${i},person${i}@example.com,${keyedBy === 'external_id' ? `S-${i}` : ''}`)];
      box.ok(['import', 'customers', write(box, 'people.csv', `${people.join('\n')}\n`)], { env });
      const idOf = new Map(box.query<{ id: number; email: string }>('SELECT id, email FROM customers').map((c) => [c.email, Number(c.id)]));
      /** Row i: a guest every 10th, a crm id every 10th + 1 (by email only: a number is refused once customers have external ids), else the key. */
      const customerOf = (i: number): { cell: string; id: number | null } => {
        const n = (i * 7919) % CUSTOMERS;
        if (i % 10 === 0) return { cell: '', id: null };
        const id = idOf.get(`person${n}@example.com`)!;
        if (i % 10 === 1 && keyedBy === 'email') return { cell: String(id), id };
        return { cell: keyedBy === 'email' ? `person${n}@example.com` : `S-${n}`, id };
      };
      const rowOf = (i: number) => {
        const j = i === 501 ? 500 : i; // row 501 repeats row 500
        const { cell, id } = customerOf(j);
        return { cell, id, product: `Product ${j % 13}`, quantity: 1 + (j % 4), cents: 150 + (j % 997) * 100, day: `2025-0${1 + (j % 9)}-1${j % 10}`, note: j % 3 === 0 ? '' : `a note about sale ${j}, with some words to fill the line` };
      };
      const rows = Array.from({ length: SALES }, (_, i) => rowOf(i));
      const text = ['customer,product,quantity,amount,date,note', ...rows.map((r) => `${r.cell},${r.product},${r.quantity},${(r.cents / 100).toFixed(2)},${r.day},"${r.note}"`)].join('\n');
      expect(Buffer.byteLength(text)).toBeGreaterThan(4 << 20);
      const big = write(box, 'sales.csv', `${text}\n`);
      const args = keyedBy === 'external_id' ? ['--customer-key', 'external_id'] : [];
      const imported = box.run(['import', 'sales', big, ...args], { env });
      expect(imported.stderr).toMatch(new RegExp(`^imported ${SALES}, updated 0, skipped 0, rejected 0 in `, 'm'));
      const keys = box.query<{ customer_id: number | null; import_key: string }>('SELECT customer_id, import_key FROM sales ORDER BY id');
      expect(keys).toHaveLength(SALES);
      // The rows whose sale has another customer or key than computed here (none), the first few in full.
      const wrong = rows.flatMap((r, i) => {
        const key = keyOf(r.id, r.product, r.quantity, r.cents, r.day, r.note, i === 501 ? 2 : 1);
        const got = keys[i]!;
        return (got.customer_id === null ? null : Number(got.customer_id)) === r.id && got.import_key === key ? [] : [{ row: i, expected: { customer: r.id, key }, got }];
      });
      expect(wrong.length, JSON.stringify(wrong.slice(0, 3))).toBe(0);
      // The same file again, and a small file of some of its rows (read on the importing thread), add nothing.
      expect(box.run(['import', 'sales', big, ...args], { env }).stderr).toMatch(new RegExp(`^imported 0, updated 0, skipped ${SALES}, rejected 0 in `, 'm'));
      const some = text.split('\n').filter((_, line) => line <= 3 || line === 502);
      const small = box.run(['import', 'sales', write(box, 'some.csv', `${some.join('\n')}\n`), ...args], { env });
      expect(small.stderr).toMatch(/^imported 0, updated 0, skipped 4, rejected 0 in /m);
      expect(box.query<{ n: number }>('SELECT count(*) AS n FROM sales')).toEqual([{ n: SALES }]);
      // A row naming nobody, far into a big file, is reported at its line as before, and nothing is written.
      const lines = text.split('\n');
      lines[40_001] = lines[40_001]!.replace(/^[^,]*/, keyedBy === 'email' ? 'nobody@example.com' : 'S-none');
      const changes = box.query('SELECT max(id) AS sales, (SELECT max(id) FROM audit_log) AS audit FROM sales');
      const bad = box.run(['import', 'sales', write(box, 'bad.csv', `${lines.join('\n').replaceAll('Product', 'Item')}\n`), ...args], { env });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^error: 1 invalid row in .*bad\.csv; nothing was imported$/m);
      expect(bad.stderr).toContain(keyedBy === 'email' ? 'line 40002: customer: no customer with email nobody@example.com' : 'line 40002: customer: no customer with external id S-none');
      expect(box.query('SELECT max(id) AS sales, (SELECT max(id) FROM audit_log) AS audit FROM sales')).toEqual(changes);
    }
  });

  it('reads a big Latin-1 file with --encoding latin1', () => {
    const box = fresh();
    const latin1 = Buffer.from(text.replace('Customer 30000,', 'José 30000,'), 'latin1');
    box.ok(['import', 'customers', write(box, 'latin1.csv', latin1), '--encoding', 'latin1'], { env });
    expect(box.query<{ name: string }>("SELECT name FROM customers WHERE email = 'customer30000@example.com'")).toEqual([{ name: 'José 30000' }]);
    expect(box.query<{ n: number }>('SELECT count(*) AS n FROM customers')).toEqual([{ n: ROWS }]);
  });
});
