// A real shop's data as it comes (issue 16): its own customer numbers, customers known by only
// some of their keys, orders with lines, through the built binary on fresh databases.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';

const env = { CRM_NOW: '2025-06-15T09:00:00Z' };
const SUMMARY = /^imported (\d+), updated (\d+), skipped (\d+), rejected (\d+) in \d+\.\d s$/m;

function summary(stderr: string) {
  const m = SUMMARY.exec(stderr);
  if (!m) throw new Error(`no summary line in:\n${stderr}`);
  return { imported: Number(m[1]), updated: Number(m[2]), skipped: Number(m[3]), rejected: Number(m[4]) };
}

let boxes: Sandbox[] = [];
afterEach(() => {
  for (const box of boxes) box.cleanup();
  boxes = [];
});

// Each database the tests start from is built once, on first use; every test gets its own file copy
// of it (not a replay of the commands that built it), so tests share nothing they write.
const templates = new Map<string, Sandbox>();
afterAll(() => {
  for (const template of templates.values()) template.cleanup();
});
function fromTemplate(name: string, build: (box: Sandbox) => void): Sandbox {
  let template = templates.get(name);
  if (!template) {
    template = sandbox();
    build(template);
    templates.set(name, template);
  }
  const box = template.clone();
  boxes.push(box);
  return box;
}

function fresh(): Sandbox {
  return fromTemplate('empty', (box) => box.ok(['init'], { env }));
}

function file(box: Sandbox, name: string, lines: string[]): string {
  const path = join(box.dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

describe('the shop\'s own customer numbers (external_id)', () => {
  it('customer add/edit --external-id: shown by show and export, unique', () => {
    const box = fresh();
    expect(box.ok(['customer', 'add', '--name', 'Ann', '--email', 'ann@example.com', '--external-id', '17850'], { env })).toBe('1\n');
    box.ok(['customer', 'add', '--name', 'Bob'], { env });
    const shown = JSON.parse(box.ok(['customer', 'show', '1', '--format', 'json'], { env })) as { customer: { external_id: string } };
    expect(shown.customer.external_id).toBe('17850');

    const before = box.dump();
    const taken = box.run(['customer', 'add', '--name', 'Carl', '--external-id', '17850'], { env });
    expect(taken.code).toBe(1);
    expect(taken.stderr).toBe('error: a customer with external id 17850 already exists: #1 Ann <ann@example.com>\nhint: edit that customer with `crm customer edit 1`\n');
    const takenByEdit = box.run(['customer', 'edit', '2', '--external-id', '17850'], { env });
    expect(takenByEdit.code).toBe(1);
    expect(box.dump()).toBe(before);

    const edited = box.run(['customer', 'edit', '2', '--external-id', '12583'], { env });
    expect(edited.stderr).toBe('updated customer #2 Bob: external_id\n');
    expect(box.ok(['export', 'customers'], { env }).split('\r\n').slice(0, 3)).toEqual([
      'name,email,phone,age,gender,company,city,source,tags,created,external_id',
      'Ann,ann@example.com,,,,,,,,2025-06-15T09:00:00Z,17850',
      'Bob,,,,,,,,,2025-06-15T09:00:00Z,12583',
    ]);
    box.ok(['customer', 'edit', '2', '--external-id', ''], { env });
    expect(box.query('SELECT external_id FROM customers ORDER BY id')).toEqual([{ external_id: '17850' }, { external_id: null }]);
  });

  it('import customers matches on external_id first, and refuses a row whose email belongs to a customer with another number', () => {
    const box = fresh();
    const first = file(box, 'c1.csv', ['external_id,name,email', '17850,Ann,ann@example.com', '12583,Bob,bob@example.com']);
    expect(summary(box.run(['import', 'customers', first], { env }).stderr)).toEqual({ imported: 2, updated: 0, skipped: 0, rejected: 0 });
    expect(box.query('SELECT id, name, external_id FROM customers ORDER BY id')).toEqual([
      { id: 1, name: 'Ann', external_id: '17850' },
      { id: 2, name: 'Bob', external_id: '12583' },
    ]);
    // The shop renamed Ann and changed her email: the number still finds her.
    const renamed = file(box, 'c2.csv', ['external_id,name,email', '17850,Ann Lee,ann.lee@example.com']);
    expect(summary(box.run(['import', 'customers', renamed, '--on-duplicate', 'update'], { env }).stderr)).toEqual({ imported: 0, updated: 1, skipped: 0, rejected: 0 });
    expect(box.query('SELECT name, email FROM customers WHERE id = 1')).toEqual([{ name: 'Ann Lee', email: 'ann.lee@example.com' }]);

    const before = box.dump();
    const clash = file(box, 'c3.csv', ['external_id,name,email', '99999,Bob Two,bob@example.com']);
    const result = box.run(['import', 'customers', clash], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^line 2: external_id: 99999 differs from 12583, the external id of customer #2 with this email$/m);
    expect(box.dump()).toBe(before);
  });

  describe('files that name customers', () => {
    function shop(): Sandbox {
      return fromTemplate('numbered customers', (box) => {
        // Customer #1 has shop number 2, so the value 2 means #1 by external id and #2 by crm id.
        box.ok(['customer', 'add', '--name', 'Shop Two', '--external-id', '2'], { env });
        box.ok(['customer', 'add', '--name', 'Ann', '--email', 'ann@example.com', '--external-id', '17850'], { env });
        box.ok(['customer', 'add', '--name', 'Bob', '--email', 'bob@example.com'], { env });
      });
    }

    it('--customer-key external_id attaches sales by the shop number, also on the batch path', () => {
      const box = shop();
      const rows = ['external_id,customer,product,amount,date'];
      for (let i = 1; i <= 40; i++) rows.push(`S${i},${i % 2 ? '17850' : '2'},Tea,${i}.00,2025-01-0${(i % 9) + 1}`);
      const path = file(box, 's.csv', rows);
      expect(summary(box.run(['import', 'sales', path, '--customer-key', 'external_id'], { env }).stderr)).toEqual({ imported: 40, updated: 0, skipped: 0, rejected: 0 });
      const byCustomer = box.query('SELECT customer_id, count(*) AS n, sum(amount_cents) AS cents FROM sales GROUP BY customer_id ORDER BY customer_id');
      // Odd i (1,3,…,39) to #2 (17850): 400.00; even i to #1 (shop number 2): 420.00.
      expect(byCustomer).toEqual([
        { customer_id: 1, n: 20, cents: 42000 },
        { customer_id: 2, n: 20, cents: 40000 },
      ]);
    });

    it('a value matching nothing under --customer-key external_id is an error naming the line; nothing is written', () => {
      const box = shop();
      const before = box.dump();
      const path = file(box, 's.csv', ['customer,product,amount', '17850,Tea,1', '404,Tea,1', 'ann@example.com,Tea,1']);
      const result = box.run(['import', 'sales', path, '--customer-key', 'external_id'], { env });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('line 3: customer: no customer with external id 404\nline 4: customer: no customer with external id ann@example.com\n');
      expect(box.dump()).toBe(before);
    });

    it('a value matching two customers by two keys is an invalid row naming both; a bare crm id is refused once shop numbers exist', () => {
      const box = shop();
      const before = box.dump();
      const path = file(box, 's.csv', ['customer,product,amount', '2,Tea,1', '3,Tea,1', 'ann@example.com,Tea,1']);
      const result = box.run(['import', 'sales', path], { env });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('line 2: customer: "2" matches #1 by external id and #2 by id; say which with --customer-key external_id|id\n');
      expect(result.stderr).toContain('line 3: customer: no customer with external id 3 (#3 has it as its crm id: pass --customer-key id if the file means crm ids)\n');
      expect(box.dump()).toBe(before);
      // Pinned to crm ids, the same file is what it says.
      const byId = file(box, 'ids.csv', ['customer,product,amount', '2,Tea,1', '3,Tea,1']);
      expect(summary(box.run(['import', 'sales', byId, '--customer-key', 'id'], { env }).stderr)).toMatchObject({ imported: 2 });
      expect(box.query('SELECT customer_id FROM sales ORDER BY id')).toEqual([{ customer_id: 2 }, { customer_id: 3 }]);
    });

    it('activities and tickets name customers by external id too', () => {
      const box = shop();
      const activities = file(box, 'a.csv', ['customer,type,at,summary', '17850,call,2025-06-01T10:00:00Z,asked about tea']);
      box.ok(['import', 'activities', activities], { env });
      const tickets = file(box, 't.csv', ['customer,subject,opened', '17850,Broken cup,2025-06-02T10:00:00Z']);
      box.ok(['import', 'tickets', tickets, '--customer-key', 'external_id'], { env });
      expect(box.query('SELECT customer_id FROM activities UNION ALL SELECT customer_id FROM tickets')).toEqual([{ customer_id: 2 }, { customer_id: 2 }]);
    });

    it('--customer-key is refused for a customers file (exit 2)', () => {
      const box = fresh();
      const path = file(box, 'c.csv', ['name', 'Ann']);
      const result = box.run(['import', 'customers', path, '--customer-key', 'email'], { env });
      expect(result.code).toBe(2);
      expect(result.stderr).toBe('error: --customer-key is for files that name customers: sales, activities or tickets\n');
    });
  });
});

describe('customers as shops know them', () => {
  it('a customer needs one of name, email, phone or external id; without a name, lists and reports show the best of the others', () => {
    const box = fresh();
    expect(box.ok(['customer', 'add', '--external-id', '17850'], { env })).toBe('1\n');
    box.ok(['customer', 'add', '--email', 'ann@example.com', '--phone', '+44 20 7946 0958'], { env });
    const nothing = box.run(['customer', 'add', '--city', 'Paris'], { env });
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/^error: missing required option --name$/m);
    const path = file(box, 'c.csv', ['external_id,phone,city', '12583,,Paris', ',+44 20 7946 0000,London', ',,Rome']);
    const invalid = box.run(['import', 'customers', path], { env });
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^line 4: needs at least one of name, email, phone or external_id$/m);
    const fixed = file(box, 'c2.csv', ['external_id,phone,city', '12583,,Paris', ',+44 20 7946 0000,London']);
    expect(summary(box.run(['import', 'customers', fixed], { env }).stderr)).toMatchObject({ imported: 2 });

    const list = JSON.parse(box.ok(['customer', 'list', '--format', 'json'], { env })) as Array<{ id: number; name: string }>;
    expect(list.map((c) => [c.id, c.name])).toEqual([
      [1, 'ext:17850'],
      [2, 'ann@example.com'],
      [3, 'ext:12583'],
      [4, '+44 20 7946 0000'],
    ]);
    const recorded = box.run(['sale', 'record', '--customer', '1', '--product', 'Tea', '--amount', '5', '--date', '2025-06-01'], { env });
    expect(recorded.stderr).toBe('recorded sale #1 5.00 Tea on 2025-06-01 for #1 ext:17850\n');
    const byCustomer = JSON.parse(box.ok(['report', 'sales', '--by', 'customer', '--from', '2025-06-01', '--to', '2025-06-30', '--format', 'json'], { env })) as {
      sales: Array<{ customer: string }>;
    };
    expect(byCustomer.sales.map((r) => r.customer)).toEqual(['ext:17850']);
    // The stored name stays empty: an export imports back as it was.
    expect(box.query('SELECT name FROM customers WHERE id = 1')).toEqual([{ name: '' }]);
  });
});

describe('orders with lines', () => {
  function shop(): Sandbox {
    return fromTemplate('two shop customers', (box) => {
      box.ok(['customer', 'add', '--external-id', '17850'], { env });
      box.ok(['customer', 'add', '--external-id', '13047'], { env });
    });
  }
  const HEADER = 'order_id,customer,sku,product,quantity,unit_price,date';
  const LINES = [
    '536365,17850,85123A,WHITE HANGING HEART,6,2.55,2025-01-01',
    '536365,17850,71053,WHITE METAL LANTERN,6,3.39,2025-01-01',
    '536365,17850,71053,WHITE METAL LANTERN,6,3.39,2025-01-01',
    '536367,13047,85123A,CREAM HANGING HEART,32,2.55,2025-01-02',
  ];

  it('amount is quantity × unit price in exact cents; re-importing the export in another order adds nothing, one more identical line adds one', () => {
    const box = shop();
    const first = file(box, 'o1.csv', [HEADER, ...LINES]);
    expect(summary(box.run(['import', 'sales', first, '--customer-key', 'external_id'], { env }).stderr)).toEqual({ imported: 4, updated: 0, skipped: 0, rejected: 0 });
    // 6 × 2.55 = 15.30, 6 × 3.39 = 20.34 (twice), 32 × 2.55 = 81.60.
    expect(box.query('SELECT order_id, customer_id, sku, quantity, unit_price_cents, amount_cents FROM sales ORDER BY id')).toEqual([
      { order_id: '536365', customer_id: 1, sku: '85123A', quantity: 6, unit_price_cents: 255, amount_cents: 1530 },
      { order_id: '536365', customer_id: 1, sku: '71053', quantity: 6, unit_price_cents: 339, amount_cents: 2034 },
      { order_id: '536365', customer_id: 1, sku: '71053', quantity: 6, unit_price_cents: 339, amount_cents: 2034 },
      { order_id: '536367', customer_id: 2, sku: '85123A', quantity: 32, unit_price_cents: 255, amount_cents: 8160 },
    ]);
    const shuffled = file(box, 'o2.csv', [HEADER, LINES[3]!, LINES[2]!, LINES[0]!, LINES[1]!]);
    expect(summary(box.run(['import', 'sales', shuffled, '--customer-key', 'external_id'], { env }).stderr)).toEqual({ imported: 0, updated: 0, skipped: 4, rejected: 0 });
    const oneMore = file(box, 'o3.csv', [HEADER, ...LINES, LINES[1]!]);
    expect(summary(box.run(['import', 'sales', oneMore, '--customer-key', 'external_id'], { env }).stderr)).toEqual({ imported: 1, updated: 0, skipped: 4, rejected: 0 });
    expect(box.query('SELECT count(*) AS n FROM sales')).toEqual([{ n: 5 }]);
  });

  it('an order_id reused by another customer is an error naming the line, in the file or against the database; nothing written', () => {
    const box = shop();
    const inFile = file(box, 'bad.csv', [HEADER, LINES[0]!, '536365,13047,22633,HAND WARMER,6,1.85,2025-01-01']);
    const before = box.dump();
    const result = box.run(['import', 'sales', inFile, '--customer-key', 'external_id'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^line 3: order_id: order 536365 is for customer 17850 \(line 2\), not 13047$/m);
    expect(box.dump()).toBe(before);

    box.ok(['import', 'sales', file(box, 'ok.csv', [HEADER, LINES[0]!]), '--customer-key', 'external_id'], { env });
    const later = box.dump();
    const again = box.run(['import', 'sales', file(box, 'later.csv', [HEADER, '536365,13047,22633,HAND WARMER,6,1.85,2025-01-01']), '--customer-key', 'external_id'], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^line 2: order_id: order 536365 belongs to customer #1, not #2$/m);
    expect(box.dump()).toBe(later);
  });

  it('report sales --by product keys by SKU (its latest name shown) and adds units sold', () => {
    const box = shop();
    box.ok(['import', 'sales', file(box, 'o.csv', [HEADER, ...LINES]), '--customer-key', 'external_id'], { env });
    const report = JSON.parse(box.ok(['report', 'sales', '--by', 'product', '--from', '2025-01-01', '--to', '2025-01-31', '--format', 'json'], { env })) as {
      sales: Array<{ product: string; sku: string; units: number; count: number; revenue_cents: number }>;
    };
    expect(report.sales.map((r) => ({ product: r.product, sku: r.sku, units: r.units, count: r.count, revenue_cents: r.revenue_cents }))).toEqual([
      // 85123A: 1530 + 8160 under its latest name; 71053: 2 × 2034.
      { product: 'CREAM HANGING HEART', sku: '85123A', units: 38, count: 2, revenue_cents: 9690 },
      { product: 'WHITE METAL LANTERN', sku: '71053', units: 12, count: 2, revenue_cents: 4068 },
    ]);
  });
});

describe('sales without external_id (issue 19: the fast path keeps their identity)', () => {
  it('a batch keys plain sales as the one-row path does: the same rows named by crm id are already imported; identical rows stay distinct', () => {
    const box = fresh();
    box.ok(['customer', 'add', '--name', 'Ann', '--email', 'ann@example.com'], { env });
    box.ok(['customer', 'add', '--name', 'Bob', '--email', 'bob@example.com'], { env });
    const rows = (ref: (i: number) => string) => {
      const out = ['customer,product,quantity,amount,date,note'];
      // 40 rows (batches of 16), two of them identical (rows 0 and 1), so occurrences count.
      for (let i = 0; i < 40; i++) out.push(`${ref(i)},Tea,${1 + (i % 3)},${i < 2 ? 5 : i}.00,2025-02-${String(1 + (i % 28)).padStart(2, '0')},`);
      return out;
    };
    const byEmail = file(box, 'e.csv', rows((i) => (i % 2 && i > 1 ? 'BOB@example.com' : 'ann@example.com')));
    expect(summary(box.run(['import', 'sales', byEmail], { env }).stderr)).toEqual({ imported: 40, updated: 0, skipped: 0, rejected: 0 });
    const reversed = file(box, 'r.csv', ['customer,product,quantity,amount,date,note', ...rows((i) => (i % 2 && i > 1 ? '2' : '1')).slice(1).reverse()]);
    expect(summary(box.run(['import', 'sales', reversed], { env }).stderr)).toEqual({ imported: 0, updated: 0, skipped: 40, rejected: 0 });
    expect(box.query('SELECT count(*) AS n, count(DISTINCT import_key) AS keys FROM sales')).toEqual([{ n: 40, keys: 40 }]);
  });

  it('identical plain sales anywhere in the file are each a sale, in a batch or across batches; re-importing adds nothing, one more identical row adds one', () => {
    const box = fresh();
    box.ok(['customer', 'add', '--name', 'Ann', '--email', 'ann@example.com'], { env });
    const same = 'ann@example.com,Tea,1,5.00,2025-02-01,';
    const header = 'customer,product,quantity,amount,date,note';
    // 40 rows in batches of 16: the identical row at 0 and 1 (one batch), 20 and 21 (another).
    const lines = Array.from({ length: 40 }, (_, i) => ([0, 1, 20, 21].includes(i) ? same : `ann@example.com,Tea,1,${10 + i}.00,2025-02-01,`));
    const first = file(box, 'a.csv', [header, ...lines]);
    expect(summary(box.run(['import', 'sales', first], { env }).stderr)).toEqual({ imported: 40, updated: 0, skipped: 0, rejected: 0 });
    expect(box.query("SELECT count(*) AS n FROM sales WHERE amount_cents = 500")).toEqual([{ n: 4 }]);
    expect(summary(box.run(['import', 'sales', first], { env }).stderr)).toEqual({ imported: 0, updated: 0, skipped: 40, rejected: 0 });
    const more = file(box, 'b.csv', [header, ...lines, same]);
    expect(summary(box.run(['import', 'sales', more], { env }).stderr)).toEqual({ imported: 1, updated: 0, skipped: 40, rejected: 0 });
    expect(box.query('SELECT count(*) AS n, count(DISTINCT import_key) AS keys, sum(CASE WHEN amount_cents = 500 THEN 1 ELSE 0 END) AS same FROM sales')).toEqual([{ n: 41, keys: 41, same: 5 }]);
  });

  it('a first big import (its key index built at the end) numbers identical rows as a row-by-row import does', () => {
    const box = fresh();
    box.ok(['customer', 'add', '--name', 'Ann', '--email', 'ann@example.com'], { env });
    const same = 'ann@example.com,Tea,1,5.00,2025-02-01,';
    const header = 'customer,product,quantity,amount,date,note';
    // 60,000 rows (more than the 50,000 from which an import builds its indexes at the end), the
    // identical row three times, far apart; every other row differs by its amount.
    const n = 60_000;
    const lines = Array.from({ length: n }, (_, i) => ([0, 30_000, n - 1].includes(i) ? same : `ann@example.com,Tea,1,${(1000 + i / 100).toFixed(2)},2025-02-01,`));
    const big = file(box, 'big.csv', [header, ...lines]);
    expect(summary(box.run(['import', 'sales', big], { env }).stderr)).toEqual({ imported: n, updated: 0, skipped: 0, rejected: 0 });
    expect(box.query('SELECT count(*) AS n, count(DISTINCT import_key) AS keys, sum(CASE WHEN amount_cents = 500 THEN 1 ELSE 0 END) AS same FROM sales')).toEqual([{ n, keys: n, same: 3 }]);
    // The same three rows and a fourth, imported row by row against the keys: only the fourth is new.
    const small = file(box, 'small.csv', [header, same, same, same, same]);
    expect(summary(box.run(['import', 'sales', small], { env }).stderr)).toEqual({ imported: 1, updated: 0, skipped: 3, rejected: 0 });
    expect(box.query('SELECT count(*) AS n FROM sales WHERE amount_cents = 500')).toEqual([{ n: 4 }]);
    expect(box.run(['db', 'check'], { env }).code).toBe(0);
  });
});
