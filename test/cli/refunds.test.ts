// Refunds and guest sales (issue 16 items 4 and 5), the order counts of item 3 and the customer keys
// of item 9, through the built binary on fresh databases. Expected figures are worked out here from
// the test's own data.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';

const env = { CRM_NOW: '2025-06-15T09:00:00Z' };

let boxes: Sandbox[] = [];
afterEach(() => {
  for (const box of boxes) box.cleanup();
  boxes = [];
});

// The empty database and the shop below are built once; each test gets its own copy of one
// (a file copy, not a replay of the commands), so tests share nothing they write.
let empty: Sandbox | undefined;
let shopTemplate: Sandbox | undefined;
afterAll(() => {
  empty?.cleanup();
  shopTemplate?.cleanup();
});

/** A copy of `template`, removed after the test. */
function copyOf(template: Sandbox): Sandbox {
  const box = template.clone();
  boxes.push(box);
  return box;
}

function fresh(): Sandbox {
  if (!empty) {
    empty = sandbox();
    empty.ok(['init'], { env });
  }
  return copyOf(empty);
}

function file(box: Sandbox, name: string, lines: string[]): string {
  const path = join(box.dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/** Ann (#1, shop number 17850) bought a 100.00 teapot (#1); a guest bought a 40.00 cup (#2). */
function shop(): Sandbox {
  if (!shopTemplate) {
    const box = sandbox();
    box.ok(['customer', 'add', '--name', 'Ann', '--email', 'ann@example.com', '--external-id', '17850'], { env });
    box.ok(['sale', 'record', '--customer', '1', '--product', 'Teapot', '--amount', '100', '--quantity', '2', '--date', '2025-06-01'], { env });
    box.ok(['sale', 'record', '--product', 'Cup', '--amount', '40', '--date', '2025-06-02'], { env });
    shopTemplate = box;
  }
  return copyOf(shopTemplate);
}

type Money = { [key: string]: unknown };
const reportJson = (box: Sandbox, ...args: string[]) => JSON.parse(box.ok(['report', 'sales', '--format', 'json', ...args], { env })) as { sales: Money[]; total: Money };

describe('crm sale refund', () => {
  it('a partial refund, then the rest by default: refund rows with negative amounts linked to the sale', () => {
    const box = shop();
    const partial = box.run(['sale', 'refund', '1', '--amount', '30', '--reason', 'chipped lid', '--date', '2025-06-05'], { env });
    expect(partial).toMatchObject({ code: 0, stdout: '3\n' });
    expect(partial.stderr).toBe('refunded 30.00 of sale #1 100.00 Teapot on 2025-06-01 (70.00 remains refundable)\n');
    expect(box.ok(['sale', 'refund', '1'], { env })).toBe('4\n');
    expect(box.query('SELECT id, customer_id, product, quantity, amount_cents, sold_on, note, refund_of FROM sales WHERE refund_of IS NOT NULL ORDER BY id')).toEqual([
      { id: 3, customer_id: 1, product: 'Teapot', quantity: 0, amount_cents: -3000, sold_on: '2025-06-05', note: 'chipped lid', refund_of: 1 },
      { id: 4, customer_id: 1, product: 'Teapot', quantity: 0, amount_cents: -7000, sold_on: '2025-06-15', note: null, refund_of: 1 },
    ]);
    const entries = JSON.parse(box.ok(['audit', 'list', '--format', 'json'], { env })) as { action: string }[];
    expect(entries.filter((e) => e.action === 'sale.refund')).toHaveLength(2);
  });

  it('a full refund in one go gives the units back', () => {
    const box = shop();
    box.ok(['sale', 'refund', '1'], { env });
    expect(box.query('SELECT quantity, amount_cents FROM sales WHERE id = 3')).toEqual([{ quantity: -2, amount_cents: -10000 }]);
  });

  it('refuses too much, a voided sale, a refund of a refund and an unknown id (exit 1); bad amounts are exit 2; nothing written', () => {
    const box = shop();
    box.ok(['sale', 'refund', '1', '--amount', '60'], { env });
    box.ok(['sale', 'record', '--customer', '1', '--product', 'Tray', '--amount', '10', '--date', '2025-06-03'], { env });
    box.ok(['sale', 'void', '4', '--reason', 'typo'], { env });
    const before = box.dump();
    const cases: [string[], number, RegExp][] = [
      [['sale', 'refund', '1', '--amount', '40.01'], 1, /^error: a refund of 40\.01 is more than the 40\.00 that remains refundable of sale #1$/m],
      [['sale', 'refund', '4'], 1, /^error: sale #4 is voided; there is nothing to refund$/m],
      [['sale', 'refund', '3'], 1, /^error: sale #3 is itself a refund \(of sale #1\)$/m],
      [['sale', 'refund', '99'], 1, /^error: no sale with id 99$/m],
      [['sale', 'refund', '1', '--amount', '0'], 2, /^error: --amount must be more than zero$/m],
      [['sale', 'refund', '1', '--amount', '-5'], 2, /^error: --amount "-5" is negative$/m],
      [['sale', 'refund', '1', '--amount', '12.345'], 2, /^error: --amount "12\.345" has more than 2 decimals$/m],
      [['sale', 'refund', '1', '--amount', 'ten'], 2, /^error: --amount "ten" is not an amount$/m],
      [['sale', 'refund', 'x'], 2, /^error: /m],
    ];
    for (const [args, code, message] of cases) {
      const result = box.run(args, { env });
      expect(result.code, args.join(' ')).toBe(code);
      expect(result.stderr, args.join(' ')).toMatch(message);
      expect(result.stdout).toBe('');
    }
    expect(box.dump()).toBe(before);
    // What remains can still be refunded, exactly.
    box.ok(['sale', 'refund', '1', '--amount', '40'], { env });
    expect(box.run(['sale', 'refund', '1'], { env })).toMatchObject({ code: 1, stderr: 'error: sale #1 is already fully refunded\n' });
  });

  it('sale void refuses a sale with live refunds until they are voided; undo takes a refund back', () => {
    const box = shop();
    box.ok(['sale', 'refund', '1', '--amount', '25'], { env });
    const before = box.dump();
    const refused = box.run(['sale', 'void', '1'], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('error: sale #1 has refunds (#3)\nhint: void the refunds first: crm sale void 3\n');
    expect(box.dump()).toBe(before);
    box.ok(['sale', 'void', '3'], { env });
    box.ok(['sale', 'void', '1'], { env });
    expect(box.query('SELECT id FROM sales WHERE voided_at IS NOT NULL ORDER BY id')).toEqual([{ id: 1 }, { id: 3 }]);

    const other = shop();
    other.ok(['sale', 'refund', '1', '--amount', '25'], { env });
    const entries = JSON.parse(other.ok(['audit', 'list', '--format', 'json'], { env })) as { id: number; action: string }[];
    const refund = entries.find((e) => e.action === 'sale.refund')!;
    other.ok(['undo', String(refund.id), '--yes'], { env });
    expect(other.query('SELECT count(*) AS n FROM sales WHERE refund_of IS NOT NULL')).toEqual([{ n: 0 }]);
    // The sale whose refund was undone can be refunded in full again.
    expect(other.ok(['sale', 'refund', '1'], { env })).toMatch(/^\d+\n$/);
    expect(other.query('SELECT amount_cents FROM sales WHERE refund_of = 1')).toEqual([{ amount_cents: -10000 }]);
  });
});

describe('revenue is net of refunds', () => {
  it('report sales shows gross, refunds and net; counts sales, not refund rows', () => {
    const box = shop();
    box.ok(['sale', 'refund', '1', '--amount', '30', '--date', '2025-06-05'], { env });
    // Gross 100 + 40 = 140, refunds 30, net 110; two sales, two orders: average order 55.
    const report = reportJson(box, '--period', '2025-06', '--by', 'month');
    expect(report.sales).toEqual([
      {
        period: '2025-06',
        count: 2,
        gross_revenue: '140.00',
        gross_revenue_cents: 14000,
        refunds: '30.00',
        refunds_cents: 3000,
        revenue: '110.00',
        revenue_cents: 11000,
        average_order: '55.00',
        average_order_cents: 5500,
        previous_revenue: '0.00',
        previous_revenue_cents: 0,
        change: null,
      },
    ]);
    expect(report.total).toMatchObject({ count: 2, gross_revenue_cents: 14000, refunds_cents: 3000, revenue_cents: 11000, average_order_cents: 5500 });
    expect(box.ok(['report', 'sales', '--period', '2025-06', '--by', 'day', '--format', 'csv'], { env }).split('\r\n').filter((l) => !/,0,0\.00,0\.00,0\.00,/.test(l))).toEqual([
      'period,count,gross_revenue,refunds,revenue,average_order,previous_revenue,change',
      '2025-06-01,1,100.00,0.00,100.00,100.00,0.00,',
      '2025-06-02,1,40.00,0.00,40.00,40.00,100.00,-0.6',
      '2025-06-05,0,0.00,30.00,-30.00,,0.00,',
      '',
    ]);
  });

  it('--by customer: a (no customer) row for guest sales; the email and external id beside the name', () => {
    const box = shop();
    box.ok(['sale', 'refund', '1', '--amount', '30'], { env });
    const report = reportJson(box, '--by', 'customer');
    expect(report.sales.map((r) => [r.customer, r.customer_id, r.email, r.external_id, r.count, r.gross_revenue_cents, r.refunds_cents, r.revenue_cents])).toEqual([
      ['Ann', 1, 'ann@example.com', '17850', 1, 10000, 3000, 7000],
      ['(no customer)', null, null, null, 1, 4000, 0, 4000],
    ]);
    const csv = box.ok(['report', 'sales', '--by', 'customer', '--format', 'csv'], { env }).split('\r\n');
    expect(csv[0]).toBe('customer,customer_id,email,external_id,count,gross_revenue,refunds,revenue,average_order,previous_revenue,change');
    expect(csv[1]).toBe('Ann,1,ann@example.com,17850,1,100.00,30.00,70.00,70.00,,');
  });

  it("a customer's figures are net and leave guest sales out; a refund is no order and no purchase", () => {
    const box = shop();
    box.ok(['sale', 'refund', '1', '--amount', '30', '--date', '2025-06-10'], { env });
    const shown = JSON.parse(box.ok(['customer', 'show', '1', '--format', 'json'], { env })) as Record<string, Record<string, unknown>>;
    expect(JSON.stringify(shown)).toMatch(/"orders":1\b/);
    const top = box.ok(['report', 'customers', '--format', 'csv'], { env }).split('\r\n');
    const header = top.indexOf('rank,customer_id,customer,orders,lifetime_value,last_purchase');
    expect(top.slice(header, header + 3)).toEqual(['rank,customer_id,customer,orders,lifetime_value,last_purchase', '1,1,Ann,1,70.00,2025-06-01', '']);
    box.ok(['segment', 'create', 'spent', '--where', 'total_spent >= 70 and orders = 1 and last_purchase = 2025-06-01'], { env });
    const members = box.ok(['segment', 'show', 'spent', '--format', 'csv'], { env });
    expect(members).toContain('Ann');
    box.ok(['segment', 'create', 'over', '--where', 'total_spent > 70'], { env });
    expect(box.ok(['segment', 'show', 'over', '--format', 'csv'], { env })).not.toContain('Ann');
  });
});

describe('guest sales', () => {
  it('sale record without --customer records a guest sale', () => {
    const box = fresh();
    const result = box.run(['sale', 'record', '--product', 'Cup', '--amount', '12.50'], { env });
    expect(result).toMatchObject({ code: 0, stdout: '1\n' });
    expect(result.stderr).toBe('recorded sale #1 12.50 Cup on 2025-06-15 for (guest)\n');
    expect(box.query('SELECT customer_id, amount_cents FROM sales')).toEqual([{ customer_id: null, amount_cents: 1250 }]);
  });
});

describe('refunds and guests in import files', () => {
  const HEADER = 'external_id,customer,product,sku,quantity,unit_price,amount,date,order_id,refund_of';

  it('negative lines are refunds, refund_of links them, empty customers are guests; orders count once', () => {
    const box = fresh();
    box.ok(['customer', 'add', '--name', 'Ann', '--external-id', '17850'], { env });
    const path = file(box, 'shop.csv', [
      HEADER,
      'L1,17850,Hand warmer,22633,6,1.85,,2025-05-01,536365,', // 11.10
      'L2,17850,Lantern,71053,2,3.39,6.78,2025-05-01,536365,', // 6.78, amount given and equal
      'L3,,Candle,84029,4,2.10,,2025-05-02,536366,', // guest 8.40
      ',17850,Lantern,71053,-1,3.39,,2025-05-03,C536367,L2', // refund 3.39 of L2
      ',,Candle,84029,-1,,-2.10,2025-05-04,,', // guest refund, not linked
    ]);
    const result = box.run(['import', 'sales', path, '--customer-key', 'external_id'], { env });
    expect(result.stderr).toMatch(/^imported 5, updated 0, skipped 0, rejected 0 in /m);
    expect(box.query('SELECT external_id, customer_id, quantity, amount_cents, refund_of FROM sales ORDER BY id')).toEqual([
      { external_id: 'L1', customer_id: 1, quantity: 6, amount_cents: 1110, refund_of: null },
      { external_id: 'L2', customer_id: 1, quantity: 2, amount_cents: 678, refund_of: null },
      { external_id: 'L3', customer_id: null, quantity: 4, amount_cents: 840, refund_of: null },
      { external_id: null, customer_id: 1, quantity: -1, amount_cents: -339, refund_of: 2 },
      { external_id: null, customer_id: null, quantity: -1, amount_cents: -210, refund_of: null },
    ]);
    // Gross 11.10 + 6.78 + 8.40 = 26.28, refunds 3.39 + 2.10 = 5.49, net 20.79; 3 sales in 2 orders.
    const report = reportJson(box, '--period', '2025-05', '--by', 'month');
    expect(report.total).toMatchObject({ count: 3, gross_revenue_cents: 2628, refunds_cents: 549, revenue_cents: 2079, average_order_cents: Math.round(2079 / 2) });
    // Ann: one order (536365), 11.10 + 6.78 - 3.39 = 14.49.
    const top = box.ok(['report', 'customers', '--format', 'csv'], { env });
    expect(top).toContain('1,1,Ann,1,14.49,2025-05-01');
    // Re-importing the same file adds nothing.
    expect(box.run(['import', 'sales', path, '--customer-key', 'external_id'], { env }).stderr).toMatch(/^imported 0, updated 0, skipped 5, rejected 0 in /m);
    // The export names the refunded sale, so the file goes round.
    expect(box.ok(['export', 'sales'], { env }).split('\r\n')[4]).toBe(',17850,Lantern,-1,-3.39,2025-05-03,,C536367,71053,3.39,L2');
  });

  it('bad refund rows are invalid rows naming the line; nothing is written', () => {
    const box = fresh();
    box.ok(['customer', 'add', '--name', 'Ann', '--external-id', '17850'], { env });
    box.ok(['import', 'sales', file(box, 'ok.csv', [HEADER, 'L1,17850,Lantern,71053,2,3.39,,2025-05-01,536365,']), '--customer-key', 'external_id'], { env });
    box.ok(['sale', 'record', '--customer', '1', '--product', 'Tray', '--amount', '5', '--date', '2025-05-02'], { env });
    box.ok(['sale', 'void', '2'], { env });
    const before = box.dump();
    const path = file(box, 'bad.csv', [
      HEADER,
      ',17850,Lantern,71053,-1,3.39,3.39,2025-05-03,C1,', // 2: negative quantity, positive amount
      ',17850,Lantern,71053,2,3.39,7.00,2025-05-03,C2,', // 3: amount is not quantity × unit price
      ',17850,Lantern,71053,-3,3.39,,2025-05-03,C3,L1', // 4: 10.17 refunded of 6.78
      ',17850,Tray,,-1,,-5.00,2025-05-03,C4,2', // 5: refund of a voided sale
      ',17850,Lantern,71053,-1,3.39,,2025-05-03,C5,L9', // 6: no such sale
      ',,Lantern,71053,1,3.39,,2025-05-03,536365,', // 7: a guest line in Ann's order
      ',17850,Lantern,71053,1,3.39,,2025-05-03,C6,L1', // 8: refund_of on a sale
      ',17850,Lantern,71053,0,3.39,,2025-05-03,C7,', // 9: quantity 0
    ]);
    const result = box.run(['import', 'sales', path, '--customer-key', 'external_id'], { env });
    expect(result.code).toBe(1);
    const lines = result.stderr.split('\n').filter((l) => l.startsWith('line '));
    expect(lines).toEqual([
      'line 2: amount: 3.39 is not quantity × unit_price (-1 × 3.39 = -3.39)',
      'line 3: amount: 7.00 is not quantity × unit_price (2 × 3.39 = 6.78)',
      'line 4: amount: a refund of 10.17 is more than the 6.78 that remains refundable of sale #1',
      'line 5: refund_of: sale #2 is voided',
      'line 6: refund_of: no sale with external id or id L9',
      'line 7: order_id: order 536365 belongs to customer #1, not a guest',
      'line 8: refund_of: is given but the row is not a refund (its amount is not negative)',
      'line 9: quantity: must not be 0 (a negative quantity is a refund)',
    ]);
    expect(box.dump()).toBe(before);
  });

  it('an order cannot mix a customer and guest lines within a file', () => {
    const box = fresh();
    box.ok(['customer', 'add', '--name', 'Ann', '--external-id', '17850'], { env });
    const before = box.dump();
    const path = file(box, 'mixed.csv', [HEADER, ',,Candle,84029,1,2.10,,2025-05-02,536366,', ',17850,Candle,84029,1,2.10,,2025-05-02,536366,']);
    const result = box.run(['import', 'sales', path, '--customer-key', 'external_id'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^line 3: order_id: order 536366 is for a guest \(line 2\), not 17850$/m);
    expect(box.dump()).toBe(before);
  });
});
