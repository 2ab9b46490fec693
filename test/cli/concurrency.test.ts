// Writers wait their turn: a write that meets another process's write transaction waits for it
// (up to the busy timeout) instead of failing with "database is busy", and many crm processes
// writing at once all succeed, each write stored exactly once. On PostgreSQL (CRM_TEST_BACKEND=
// postgres) the other process holds an open transaction instead of SQLite's write lock: writes of
// other rows go ahead beside it, a write of a row it changed waits for its commit.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { holdWriteLock, runCrmAsync, sandbox, type RunResult, type Sandbox } from '../helpers/cli.js';

const env = { CRM_NOW: '2025-06-01T09:00:00Z' };

describe('a write while another process holds the write lock', () => {
  // Each test takes the lock on its own copy of a database with one customer.
  let base: Sandbox;
  let box: Sandbox;
  beforeAll(() => {
    base = sandbox();
    base.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com'], { env });
  });
  beforeEach(() => {
    box = base.clone();
  });
  afterEach(() => box?.cleanup());
  afterAll(() => base?.cleanup());

  // The holder inserts a marker row in its transaction; a command that waited for it writes after
  // it, so its rows get higher ids than the marker's.
  const marker = (name: string) =>
    `INSERT INTO customers (name, created_at, updated_at) VALUES ('${name}', '2025-06-01T08:00:00.000Z', '2025-06-01T08:00:00.000Z')`;

  async function whileLocked(statements: string, args: string[]): Promise<RunResult> {
    const lock = await holdWriteLock(box.dbPath, statements);
    const command = runCrmAsync(['--db', box.dbPath, ...args], { env });
    // Released well inside crm's 5 s busy timeout, after crm has started and reached its write.
    const released = new Promise<void>((resolve) => setTimeout(() => lock.release().then(resolve), 2500));
    const [result] = await Promise.all([command, released]);
    return result;
  }

  it('sale record (reads the customer, then writes) waits and succeeds', async () => {
    const result = await whileLocked(marker('Holder A'), ['sale', 'record', '--customer', 'li@example.com', '--amount', '25', '--product', 'Tea set']);
    expect(result.stderr).not.toMatch(/busy/);
    expect(result.code).toBe(0);
    const saleId = Number(result.stdout.trim());
    expect(box.query('SELECT product, amount_cents FROM sales WHERE id = ?', saleId)).toEqual([{ product: 'Tea set', amount_cents: 2500 }]);
    const [holder] = box.query<{ id: number }>("SELECT id FROM customers WHERE name = 'Holder A'");
    const [audit] = box.query<{ id: number; entity_id: number }>("SELECT id, entity_id FROM audit_log WHERE action = 'sale.record'");
    expect(audit!.entity_id).toBe(saleId);
    // The holder's row was committed before crm's transaction started.
    expect(holder).toBeDefined();
  });

  it('customer add waits and succeeds, after the holder\'s write', async () => {
    const result = await whileLocked(marker('Holder B'), ['customer', 'add', '--name', 'Anna Waits']);
    expect(result.stderr).not.toMatch(/busy/);
    expect(result.code).toBe(0);
    const ids = box.query<{ id: number; name: string }>("SELECT id, name FROM customers WHERE name IN ('Holder B', 'Anna Waits') ORDER BY id");
    expect(ids.map((r) => r.name)).toEqual(['Holder B', 'Anna Waits']);
    expect(Number(result.stdout.trim())).toBe(ids[1]!.id);
  });

  it('customer edit waits for another writer of the same customer, then keeps both changes', async () => {
    const [li] = box.query<{ id: number }>("SELECT id FROM customers WHERE email = 'li@example.com'");
    const started = Date.now();
    const result = await whileLocked("UPDATE customers SET city = 'Oslo' WHERE email = 'li@example.com'", ['customer', 'edit', String(li!.id), '--company', 'Acme']);
    expect(result.stderr).not.toMatch(/busy/);
    expect(result.code).toBe(0);
    // It finished only after the holder committed (released at 2.5 s)…
    expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
    // …and both the holder's city and crm's company are there.
    expect(box.query("SELECT city, company FROM customers WHERE email = 'li@example.com'")).toEqual([{ city: 'Oslo', company: 'Acme' }]);
    // crm read the customer after the holder's commit: its audit entry has Oslo as the city before.
    const [change] = box.query<{ before: string }>(
      "SELECT c.before FROM audit_change c JOIN audit_log l ON l.id = c.log_id WHERE l.action = 'customer.edit' AND c.table_name = 'customers'",
    );
    expect(JSON.parse(change!.before)).toMatchObject({ city: 'Oslo', company: null });
  });

  it('a read does not wait for the writer', async () => {
    const lock = await holdWriteLock(box.dbPath, marker('Holder C'));
    try {
      const result = await runCrmAsync(['--db', box.dbPath, 'customer', 'list', '--format', 'csv'], { env });
      expect(result.code).toBe(0);
      // The holder's uncommitted row is not visible; everything committed is.
      expect(result.stdout).toMatch(/Li Wei/);
      expect(result.stdout).not.toMatch(/Holder C/);
    } finally {
      await lock.release();
    }
  });
});

describe('eight crm processes writing at once', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', 'Shared Customer', '--email', 'shared@example.com'], { env });
  });
  afterAll(() => box.cleanup());

  it('every write succeeds and is stored exactly once', async () => {
    const WRITERS = 8;
    const deadline = Date.now() + 12_000;
    const failures: string[] = [];
    const sales = new Map<number, string>();
    const customers = new Map<number, string>();
    const activities = new Map<number, string>();
    let attempted = 0;

    // Each writer runs one command after another, turn by turn a sale, a new customer and an
    // activity: each reads before it writes, the pattern that used to fail.
    async function writer(w: number): Promise<void> {
      for (let i = 0; Date.now() < deadline; i++) {
        attempted++;
        const label = `w${w}-${i}`;
        const kind = i % 3;
        const args =
          kind === 0
            ? ['sale', 'record', '--customer', 'shared@example.com', '--amount', `${w}.${String(i % 100).padStart(2, '0')}`, '--product', label]
            : kind === 1
              ? ['customer', 'add', '--name', label]
              : ['activity', 'add', 'shared@example.com', '--type', 'note', '--summary', label];
        const result = await runCrmAsync(['--db', box.dbPath, ...args], { env });
        if (result.code !== 0) {
          failures.push(`${args.join(' ')}: ${result.stderr.trim()}`);
          continue;
        }
        const id = Number(result.stdout.trim());
        const target = kind === 0 ? sales : kind === 1 ? customers : activities;
        expect(target.has(id), `id ${id} reported twice`).toBe(false);
        target.set(id, label);
      }
    }
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));

    expect(failures).toEqual([]);
    expect(attempted).toBeGreaterThanOrEqual(WRITERS);
    const stored = (sql: string) => new Map(box.query<{ id: number; label: string }>(sql).map((r) => [r.id, r.label]));
    expect(stored('SELECT id, product AS label FROM sales')).toEqual(sales);
    expect(stored("SELECT id, name AS label FROM customers WHERE name LIKE 'w%'")).toEqual(customers);
    expect(stored('SELECT id, summary AS label FROM activities')).toEqual(activities);
    // One audit entry per write.
    expect(box.query<{ n: number }>("SELECT count(*) AS n FROM audit_log WHERE action IN ('sale.record', 'customer.add', 'activity.add')")[0]!.n).toBe(
      sales.size + customers.size + activities.size + 1,
    );
  }, 60_000);
});
