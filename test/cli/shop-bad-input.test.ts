// The bad inputs of issue 16 that touch sale lines, orders and refunds, gathered in one place: each is a
// clear error naming the line (or the sale), the right exit code, and a database left as it was.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';

const env = { CRM_NOW: '2025-06-15T09:00:00Z' };

let boxes: Sandbox[] = [];
afterEach(() => {
  for (const box of boxes) box.cleanup();
  boxes = [];
});

/** Ann (#1, shop number 17850) and Bob (#2, 13047); Ann's order 536365 (sale #1, L1) and a guest's order 536371 (sale #2). */
function shop(): Sandbox {
  const box = sandbox();
  boxes.push(box);
  box.ok(['init'], { env });
  box.ok(['customer', 'add', '--name', 'Ann', '--external-id', '17850'], { env });
  box.ok(['customer', 'add', '--name', 'Bob', '--external-id', '13047'], { env });
  const path = join(box.dir, 'orders.csv');
  writeFileSync(path, ['external_id,order_id,customer,sku,product,quantity,unit_price,date', 'L1,536365,17850,71053,Lantern,2,3.39,2025-05-01 08:26:00', 'L2,536371,,22086,Paper chain,4,2.55,2025-05-01 09:00:00', ''].join('\n'));
  box.ok(['import', 'sales', path, '--customer-key', 'external_id'], { env });
  return box;
}

function importRows(box: Sandbox, header: string, rows: string[]) {
  const path = join(box.dir, 'bad.csv');
  writeFileSync(path, [header, ...rows, ''].join('\n'));
  return box.run(['import', 'sales', path, '--customer-key', 'external_id'], { env });
}

const problems = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('line '));

describe('bad shop input: clear errors naming the line, nothing written', () => {
  it('a negative quantity whose amount (with or without a unit price) disagrees', () => {
    const box = shop();
    const before = box.dump();
    const result = importRows(box, 'customer,product,quantity,unit_price,amount,date', [
      '17850,Lantern,-2,,6.78,2025-05-03', // a refund quantity, a sale amount
      '17850,Lantern,-2,3.39,6.78,2025-05-03', // positive unit price and positive amount
      '17850,Lantern,-2,3.39,-6.00,2025-05-03', // both negative, but not -2 × 3.39
      '17850,Lantern,2,,-6.78,2025-05-03', // a sale quantity, a refund amount
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(problems(result.stderr)).toEqual([
      'line 2: amount: 6.78 and quantity -2 disagree: a refund has both negative',
      'line 3: amount: 6.78 is not quantity × unit_price (-2 × 3.39 = -6.78)',
      'line 4: amount: -6.00 is not quantity × unit_price (-2 × 3.39 = -6.78)',
      'line 5: amount: -6.78 and quantity 2 disagree: a refund has both negative',
    ]);
    expect(box.dump()).toBe(before);
  });

  it('an order_id reused by another customer or across a guest order', () => {
    const box = shop();
    const before = box.dump();
    const result = importRows(box, 'order_id,customer,product,quantity,unit_price,date', [
      '536365,13047,Hand warmer,6,1.85,2025-05-02', // Ann's order, now Bob
      '536371,13047,Hand warmer,6,1.85,2025-05-02', // a guest's order, now Bob
      '536400,13047,Hand warmer,6,1.85,2025-05-02',
      '536400,17850,Hand warmer,6,1.85,2025-05-02', // a new order for two customers within the file
    ]);
    expect(result.code).toBe(1);
    expect(problems(result.stderr)).toEqual([
      'line 2: order_id: order 536365 belongs to customer #1, not #2',
      'line 3: order_id: order 536371 belongs to a guest, not #2',
      'line 5: order_id: order 536400 is for customer 13047 (line 4), not 17850',
    ]);
    expect(box.dump()).toBe(before);
  });

  it('a refund of a voided sale: by refund_of in a file (exit 1) and by sale refund (exit 1)', () => {
    const box = shop();
    box.ok(['sale', 'void', '1', '--reason', 'entered twice'], { env });
    const before = box.dump();
    const result = importRows(box, 'customer,product,quantity,unit_price,date,refund_of', ['17850,Lantern,-1,3.39,2025-05-04,L1', '17850,Lantern,-1,3.39,2025-05-04,1']);
    expect(result.code).toBe(1);
    expect(problems(result.stderr)).toEqual(['line 2: refund_of: sale #1 is voided', 'line 3: refund_of: sale #1 is voided']);
    const direct = box.run(['sale', 'refund', '1'], { env });
    expect(direct).toMatchObject({ code: 1, stdout: '' });
    expect(direct.stderr).toBe('error: sale #1 is voided; there is nothing to refund\n');
    expect(box.dump()).toBe(before);
  });

  it('--customer-key external_id with a value that matches nothing, also on a refund line', () => {
    const box = shop();
    const before = box.dump();
    // 2 is Bob's crm id, not a shop number: under --customer-key external_id it matches nothing.
    const result = importRows(box, 'customer,product,quantity,unit_price,date,refund_of', ['99999,Lantern,1,3.39,2025-05-04,', '2,Lantern,1,3.39,2025-05-04,', '99999,Lantern,-1,3.39,2025-05-04,L1']);
    expect(result.code).toBe(1);
    expect(problems(result.stderr)).toEqual([
      'line 2: customer: no customer with external id 99999',
      'line 3: customer: no customer with external id 2',
      'line 4: customer: no customer with external id 99999',
    ]);
    expect(box.dump()).toBe(before);
    const wrongKey = box.run(['import', 'sales', join(box.dir, 'bad.csv'), '--customer-key', 'number'], { env });
    expect(wrongKey.code).toBe(2);
    expect(wrongKey.stderr).toMatch(/^error: option '--customer-key <key>' argument 'number' is invalid\. Allowed choices are external_id, email, phone, id\.\n/);
    expect(box.dump()).toBe(before);
  });
});
