// A nightly job imports a shop's whole export again: the rows imported before come back, with the
// day's new rows among them. The old rows are skipped, the new ones imported in the file's order
// exactly as on a first import, and a row twice in the file is still reported at its line, however
// the old and new rows are mixed (on SQLite, runs of old rows are looked up row by row and runs of
// new rows go in many to a statement).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';

const env = { CRM_NOW: '2025-06-01T10:00:00Z' };
const boxes: Sandbox[] = [];
afterEach(() => {
  for (const box of boxes.splice(0)) box.cleanup();
});

function fresh(): Sandbox {
  const box = sandbox();
  boxes.push(box);
  return box;
}

const write = (box: Sandbox, name: string, lines: readonly string[]) => {
  const path = join(box.dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
};

/** A fresh database with customers c1…c5@example.com, ids 1–5, for the sales and tickets to name. */
function withFiveCustomers(): Sandbox {
  const box = fresh();
  box.ok(['import', 'customers', write(box, 'customers.csv', ['name,email', ...range(1, 5).map((n) => `Customer ${n},c${n}@example.com`)])], { env });
  return box;
}

const range = (from: number, to: number): number[] => Array.from({ length: Math.abs(to - from) + 1 }, (_, i) => (from <= to ? from + i : from - i));
const summary = (imported: number, skipped: number) => new RegExp(`^imported ${imported}, updated 0, skipped ${skipped}, rejected 0 in \\d+\\.\\d s\\n$`);

/** Day 2's order: old rows 1–20, new 75…41 (descending), old 21–40, new 100…76: runs longer than a statement's 16 rows, and short ones. */
const DAY2 = [...range(1, 20), ...range(75, 41), ...range(21, 40), ...range(100, 76), 3, 101, 102, 7];
const NEW_IN_ORDER = DAY2.filter((n, i) => n > 40 && DAY2.indexOf(n) === i);

describe('an import of a file imported before, with new rows among the old', () => {
  const customerRow = (n: number) => `Customer ${n},c${n}@example.com,City ${n % 7}`;

  it('customers: skips the old rows and adds the new ones in file order', () => {
    const box = fresh();
    const day1 = write(box, 'day1.csv', ['name,email,city', ...range(1, 40).map(customerRow)]);
    expect(box.run(['import', 'customers', day1], { env }).stderr).toMatch(summary(40, 0));
    const day2 = write(box, 'day2.csv', ['name,email,city', ...DAY2.map(customerRow)]);
    const result = box.run(['import', 'customers', day2], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(summary(NEW_IN_ORDER.length, DAY2.length - NEW_IN_ORDER.length));
    const rows = box.query<{ id: number; name: string; email: string; city: string }>('SELECT id, name, email, city FROM customers ORDER BY id');
    const expected = [...range(1, 40), ...NEW_IN_ORDER].map((n, i) => ({ id: i + 1, name: `Customer ${n}`, email: `c${n}@example.com`, city: `City ${n % 7}` }));
    expect(rows).toEqual(expected);
    // The same file once more: nothing new.
    expect(box.run(['import', 'customers', day2], { env }).stderr).toMatch(summary(0, DAY2.length));
    expect(box.query('SELECT count(*) AS n FROM customers')).toEqual([{ n: expected.length }]);
  });

  it('customers: a new row twice in the file, after old rows, is reported at its line and nothing is imported', () => {
    const box = fresh();
    const day1 = write(box, 'day1.csv', ['name,email,city', ...range(1, 40).map(customerRow)]);
    box.ok(['import', 'customers', day1], { env });
    const before = box.dump();
    // Line 1 is the header: old rows on lines 2–21, new rows 41…60 on lines 22–41, 41 again on line 42.
    const day2 = write(box, 'dup.csv', ['name,email,city', ...[...range(1, 20), ...range(41, 60), 41].map(customerRow)]);
    const result = box.run(['import', 'customers', day2], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: 1 invalid row in ${day2}; nothing was imported`);
    expect(result.stderr).toContain('line 42: email: duplicate of line 22');
    expect(box.dump()).toBe(before);
  });

  // Sales by external id, and sales known by their content (no external_id), two of them identical.
  const saleRow = (n: number, withId: boolean) => `${withId ? `S${n},` : ''}c${(n % 5) + 1}@example.com,Product ${n % 3},1,${(n * 1.25).toFixed(2)},2025-05-${String((n % 28) + 1).padStart(2, '0')}`;
  for (const withId of [true, false]) {
    it(`sales ${withId ? 'with' : 'without'} external_id: skips the old rows and adds the new ones in file order`, () => {
      const box = withFiveCustomers();
      const header = `${withId ? 'external_id,' : ''}customer,product,quantity,amount,date`;
      const day1 = write(box, 'day1.csv', [header, ...range(1, 40).map((n) => saleRow(n, withId))]);
      expect(box.run(['import', 'sales', day1], { env }).stderr).toMatch(summary(40, 0));
      // Without external ids, two identical new rows are two sales (with them, the file would name one sale twice).
      const order = withId ? DAY2 : [...DAY2.slice(0, 30), 55, ...DAY2.slice(30)];
      // A row is new when its sale was not imported before: with an external id, the first row naming a
      // new one; without, the k-th identical row of the file is the k-th identical sale, and day 1 had one of each.
      const seen = new Map<number, number>();
      const fresh2 = order.filter((n) => {
        const k = (seen.get(n) ?? 0) + 1;
        seen.set(n, k);
        return withId ? n > 40 && k === 1 : k > (n <= 40 ? 1 : 0);
      });
      const day2 = write(box, 'day2.csv', [header, ...order.map((n) => saleRow(n, withId))]);
      const result = box.run(['import', 'sales', day2], { env });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toMatch(summary(fresh2.length, order.length - fresh2.length));
      const rows = box.query<{ id: number; external_id: string | null; customer_id: number; amount_cents: number; sold_on: string }>(
        'SELECT id, external_id, customer_id, amount_cents, sold_on FROM sales ORDER BY id',
      );
      const expected = [...range(1, 40), ...fresh2].map((n, i) => ({
        id: i + 1,
        external_id: withId ? `S${n}` : null,
        customer_id: (n % 5) + 1,
        amount_cents: Math.round(n * 125),
        sold_on: `2025-05-${String((n % 28) + 1).padStart(2, '0')}`,
      }));
      expect(rows).toEqual(expected);
      expect(box.run(['import', 'sales', day2], { env }).stderr).toMatch(summary(0, order.length));
      expect(box.query('SELECT count(*) AS n FROM sales')).toEqual([{ n: expected.length }]);
    });
  }

  // Tickets by external id, and tickets known by customer, subject and opening time.
  const ticketRow = (n: number, withId: boolean) => `${withId ? `T${n},` : ''}c${(n % 5) + 1}@example.com,Question ${n},${['low', 'normal', 'high'][n % 3]},2025-05-${String((n % 28) + 1).padStart(2, '0')}T09:00:00Z`;
  for (const withId of [true, false]) {
    it(`tickets ${withId ? 'with' : 'without'} external_id: skips the old rows and adds the new ones in file order`, () => {
      const box = withFiveCustomers();
      const header = `${withId ? 'external_id,' : ''}customer,subject,priority,opened`;
      expect(box.run(['import', 'tickets', write(box, 'day1.csv', [header, ...range(1, 40).map((n) => ticketRow(n, withId))])], { env }).stderr).toMatch(summary(40, 0));
      const day2 = write(box, 'day2.csv', [header, ...DAY2.map((n) => ticketRow(n, withId))]);
      const result = box.run(['import', 'tickets', day2], { env });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toMatch(summary(NEW_IN_ORDER.length, DAY2.length - NEW_IN_ORDER.length));
      const rows = box.query<{ id: number; external_id: string | null; customer_id: number; subject: string }>('SELECT id, external_id, customer_id, subject FROM tickets ORDER BY id');
      const expected = [...range(1, 40), ...NEW_IN_ORDER].map((n, i) => ({ id: i + 1, external_id: withId ? `T${n}` : null, customer_id: (n % 5) + 1, subject: `Question ${n}` }));
      expect(rows).toEqual(expected);
      expect(box.run(['import', 'tickets', day2], { env }).stderr).toMatch(summary(0, DAY2.length));
    });
  }
});
