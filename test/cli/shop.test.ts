// A real shop's data as it comes (issue 16): its own customer numbers, customers known by only
// some of their keys, orders with lines, through the built binary on fresh databases.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
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

function fresh(): Sandbox {
  const box = sandbox();
  boxes.push(box);
  box.ok(['init'], { env });
  return box;
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
      const box = fresh();
      // Customer #1 has shop number 2, so the value 2 means #1 by external id and #2 by crm id.
      box.ok(['customer', 'add', '--name', 'Shop Two', '--external-id', '2'], { env });
      box.ok(['customer', 'add', '--name', 'Ann', '--email', 'ann@example.com', '--external-id', '17850'], { env });
      box.ok(['customer', 'add', '--name', 'Bob', '--email', 'bob@example.com'], { env });
      return box;
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
