// `crm sale record|list|void` through the built binary: recording, listing, voiding, the audit
// trail, and every bad input the issue names (nothing written, the contract's exit code).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';

const env = { CRM_NOW: '2025-06-15T09:00:00Z' };
// Databases built once and only read by the tests; a test that writes works on its own copy.
let box: Sandbox; // three customers
let recorded: Sandbox; // + four sales
let voided: Sandbox; // + sale #2 voided
const copies: Sandbox[] = [];
const copyOf = (from: Sandbox) => {
  const copy = from.clone();
  copies.push(copy);
  return copy;
};

beforeAll(() => {
  box = sandbox();
  box.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com', '--city', 'Shanghai'], { env });
  box.ok(['customer', 'add', '--name', 'Anna Schmidt', '--email', 'anna@example.com', '--city', 'Berlin'], { env });
  box.ok(['customer', 'add', '--name', 'Anna Schmidt', '--email', 'anna.s@example.com'], { env });
  recorded = box.clone();
  recorded.ok(['sale', 'record', '--customer', 'li@example.com', '--product', 'Tea set', '--amount', '1,280.50', '--quantity', '2', '--date', '2025-03-01', '--note', 'gift wrap'], { env });
  recorded.ok(['sale', 'record', '--customer', '1', '--product', 'Teapot', '--amount', '¥199'], { env });
  recorded.ok(['sale', 'record', '--customer', 'li wei', '--product', 'Cups', '--amount', '$20.5'], { env });
  recorded.ok(['sale', 'record', '--customer', 'anna@example.com', '--product', 'Teapot', '--amount', '300', '--date', '2025-04-10'], { env });
  voided = recorded.clone();
  voided.ok(['sale', 'void', '2', '--reason', 'returned'], { env: { CRM_NOW: '2025-06-16T10:00:00Z' } });
});
afterAll(() => {
  for (const sandbox of [box, recorded, voided, ...copies]) sandbox?.cleanup();
});

describe('sale record', () => {
  it('records a sale in integer cents and prints its id', () => {
    const own = copyOf(box);
    const result = own.run(['sale', 'record', '--customer', 'li@example.com', '--product', 'Tea set', '--amount', '1,280.50', '--quantity', '2', '--date', '2025-03-01', '--note', 'gift wrap'], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('1\n');
    expect(result.stderr).toBe('recorded sale #1 1280.50 Tea set on 2025-03-01 for #1 Li Wei <li@example.com>\n');
    expect(own.query('SELECT customer_id, product, quantity, amount_cents, sold_on, note, created_at, voided_at FROM sales')).toEqual([
      { customer_id: 1, product: 'Tea set', quantity: 2, amount_cents: 128050, sold_on: '2025-03-01', note: 'gift wrap', created_at: '2025-06-15T09:00:00.000Z', voided_at: null },
    ]);
  });

  it('defaults to today and quantity 1, accepts currency symbols and customer ids or unique names', () => {
    const own = copyOf(box);
    expect(own.ok(['sale', 'record', '--customer', '1', '--product', 'Teapot', '--amount', '¥199'], { env })).toBe('1\n');
    expect(own.ok(['sale', 'record', '--customer', 'li wei', '--product', 'Cups', '--amount', '$20.5'], { env })).toBe('2\n');
    expect(own.query('SELECT id, customer_id, quantity, amount_cents, sold_on FROM sales ORDER BY id')).toEqual([
      { id: 1, customer_id: 1, quantity: 1, amount_cents: 19900, sold_on: '2025-06-15' },
      { id: 2, customer_id: 1, quantity: 1, amount_cents: 2050, sold_on: '2025-06-15' },
    ]);
  });

  it('audits every write', () => {
    const rows = recorded.query<{ action: string; entity_id: number; customer_id: number }>("SELECT action, entity_id, customer_id FROM audit_log WHERE entity = 'sale' ORDER BY id");
    expect(rows).toEqual([
      { action: 'sale.record', entity_id: 1, customer_id: 1 },
      { action: 'sale.record', entity_id: 2, customer_id: 1 },
      { action: 'sale.record', entity_id: 3, customer_id: 1 },
      { action: 'sale.record', entity_id: 4, customer_id: 2 },
    ]);
    const change = recorded.query<{ table_name: string; op: string; after: string }>("SELECT table_name, op, after FROM audit_change WHERE table_name = 'sales' AND row_id = 1");
    expect(change).toHaveLength(1);
    expect(JSON.parse(change[0]!.after)).toMatchObject({ id: 1, amount_cents: 128050 });
  });

  const bad: [string, string[], number, RegExp][] = [
    ['more than 2 decimals', ['--amount', '12.345'], 2, /^error: --amount "12.345" has more than 2 decimals$/m],
    ['a negative amount', ['--amount', '-5'], 2, /^error: --amount "-5" is negative$/m],
    ['an overflowing amount', ['--amount', '1e309'], 2, /^error: --amount "1e309" is not an amount$/m],
    ['text for an amount', ['--amount', 'abc'], 2, /^error: --amount "abc" is not an amount$/m],
    ['an empty amount', ['--amount', ''], 2, /^error: --amount is empty$/m],
    ['a huge amount', ['--amount', '99999999999999999'], 2, /^error: --amount .* is too large$/m],
    ['an impossible date', ['--amount', '5', '--date', '2021-02-30'], 2, /^error: --date "2021-02-30" is not a real calendar day$/m],
    ['a non-date', ['--amount', '5', '--date', 'soon'], 2, /^error: --date "soon" is not a date$/m],
    ['a zero quantity', ['--amount', '5', '--quantity', '0'], 2, /^error: --quantity "0" is not a whole number/m],
  ];
  for (const [what, flags, code, message] of bad) {
    it(`rejects ${what} (exit ${code}), writing nothing`, () => {
      const before = box.dump();
      const result = box.run(['sale', 'record', '--customer', 'li@example.com', '--product', 'Teapot', ...flags], { env });
      expect(result.code).toBe(code);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe('');
      expect(box.dump()).toBe(before);
    });
  }

  it('rejects an unknown customer (exit 1) and an ambiguous name listing the candidates (exit 1)', () => {
    const before = box.dump();
    const unknown = box.run(['sale', 'record', '--customer', 'nobody@example.com', '--product', 'Teapot', '--amount', '5'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: no customer with email nobody@example.com$/m);
    const missingId = box.run(['sale', 'record', '--customer', '99', '--product', 'Teapot', '--amount', '5'], { env });
    expect(missingId.code).toBe(1);
    const ambiguous = box.run(['sale', 'record', '--customer', 'Anna Schmidt', '--product', 'Teapot', '--amount', '5'], { env });
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toBe(
      'error: "Anna Schmidt" matches 2 customers\n  #2 Anna Schmidt <anna@example.com>\n  #3 Anna Schmidt <anna.s@example.com>\nhint: use the id or email instead\n',
    );
    expect(box.dump()).toBe(before);
  });

  it('names the missing flags without a TTY (exit 2)', () => {
    const result = box.run(['sale', 'record', '--customer', '1'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: missing required options --product, --amount$/m);
  });
});

describe('sale list and void', () => {
  it('lists live sales oldest first, filtered by customer, product and dates', () => {
    const csv = recorded.ok(['sale', 'list', '--format', 'csv'], { env });
    expect(csv).toBe(
      [
        'id,sold_on,sold_at,customer_id,customer,product,quantity,amount,note,deal_id,voided_at,void_reason',
        '1,2025-03-01,,1,Li Wei,Tea set,2,1280.50,gift wrap,,,',
        '4,2025-04-10,,2,Anna Schmidt,Teapot,1,300.00,,,,',
        '2,2025-06-15,,1,Li Wei,Teapot,1,199.00,,,,',
        '3,2025-06-15,,1,Li Wei,Cups,1,20.50,,,,',
        '',
      ].join('\r\n'),
    );
    const ids = (args: string[]) => (JSON.parse(recorded.ok(['sale', 'list', '--format', 'json', ...args], { env })) as { id: number }[]).map((r) => r.id);
    expect(ids(['--customer', 'li@example.com'])).toEqual([1, 2, 3]);
    expect(ids(['--product', 'teapot'])).toEqual([4, 2]);
    expect(ids(['--from', '2025-03-02', '--to', '2025-06-14'])).toEqual([4]);
    expect(ids(['--to', '2025-03-01'])).toEqual([1]);
  });

  it('voids a sale: the row stays with its reason, lists and totals drop it', () => {
    const box = copyOf(recorded);
    const result = box.run(['sale', 'void', '2', '--reason', 'returned'], { env: { CRM_NOW: '2025-06-16T10:00:00Z' } });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('voided sale #2 199.00 Teapot on 2025-06-15\n');
    expect(box.query('SELECT voided_at, void_reason, amount_cents FROM sales WHERE id = 2')).toEqual([
      { voided_at: '2025-06-16T10:00:00.000Z', void_reason: 'returned', amount_cents: 19900 },
    ]);
    const live = JSON.parse(box.ok(['sale', 'list', '--format', 'json'], { env })) as { id: number }[];
    expect(live.map((r) => r.id)).toEqual([1, 4, 3]);
    const all = JSON.parse(box.ok(['sale', 'list', '--include-voided', '--format', 'json'], { env })) as { id: number; void_reason: string | null }[];
    expect(all.find((r) => r.id === 2)).toMatchObject({ void_reason: 'returned', voided_at: '2025-06-16T10:00:00Z' });
    const audit = box.query<{ action: string; before: string; after: string }>(
      "SELECT l.action, c.before, c.after FROM audit_log l JOIN audit_change c ON c.log_id = l.id WHERE l.action = 'sale.void'",
    );
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0]!.before)).toEqual({ voided_at: null, void_reason: null });
    // Totals: 1280.50 + 300 + 20.50, the voided 199 left out.
    const report = JSON.parse(box.ok(['report', 'sales', '--period', '2025', '--format', 'json'], { env })) as { total: { revenue_cents: number; count: number } };
    expect(report.total).toMatchObject({ revenue_cents: 128050 + 30000 + 2050, count: 3 });
  });

  it('voiding twice is an error (exit 1) and changes nothing; an unknown id is exit 1', () => {
    const box = voided;
    const before = box.dump();
    const again = box.run(['sale', 'void', '2'], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('error: sale #2 was already voided on 2025-06-16 (returned)\n');
    const unknown = box.run(['sale', 'void', '999'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: no sale with id 999$/m);
    const bad = box.run(['sale', 'void', 'abc'], { env });
    expect(bad.code).toBe(2);
    expect(box.dump()).toBe(before);
  });
});

describe('local days', () => {
  it('a sale dates to the local day, and --as-of ends at local midnight', () => {
    const tz = sandbox();
    try {
      const shanghai = (now: string) => ({ env: { TZ: 'Asia/Shanghai', CRM_NOW: now } });
      tz.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com'], shanghai('2025-03-01T00:00:00Z'));
      // 20:00 UTC on 15 March is 04:00 on 16 March in Shanghai.
      tz.ok(['sale', 'record', '--customer', '1', '--product', 'Teapot', '--amount', '100'], shanghai('2025-03-15T20:00:00Z'));
      expect(tz.query('SELECT sold_on, created_at FROM sales')).toEqual([{ sold_on: '2025-03-16', created_at: '2025-03-15T20:00:00.000Z' }]);
      const total = (env: { env: Record<string, string> }) =>
        (JSON.parse(tz.ok(['report', 'sales', '--period', '2025-03', '--as-of', '2025-03-15', '--as-recorded', '--format', 'json'], env)) as { total: { count: number } }).total.count;
      // As recorded: in Shanghai 15 March ended at 16:00 UTC, before the sale was recorded; in UTC it had not.
      expect(total(shanghai('2025-04-01T00:00:00Z'))).toBe(0);
      expect(total({ env: { TZ: 'UTC', CRM_NOW: '2025-04-01T00:00:00Z' } })).toBe(1);
    } finally {
      tz.cleanup();
    }
  });
});
