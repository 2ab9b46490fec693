// Sales services on a fresh migrated database: a customer's totals leave voided sales out.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import { openDatabase } from '../../src/db/connection.js';
import type { DB } from '../../src/db/schema.js';
import { addCustomer } from '../../src/services/customers.js';
import { customerSalesTotals, recordSale, voidSale } from '../../src/services/sales.js';

const meta = (iso: string) => ({ now: new Date(iso), actor: { user: 'test', command: 'crm test' } });
let dir: string;
let db: Kysely<DB>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'crm-sales-'));
  db = await openDatabase(join(dir, 'crm.db'));
});
afterAll(async () => {
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('customerSalesTotals', () => {
  it('counts orders, total spent and last purchase over live sales only', async () => {
    const li = await addCustomer(db, { name: 'Li Wei', email: 'li@example.com' }, meta('2025-01-01T00:00:00Z'));
    expect(await customerSalesTotals(db, li.id)).toEqual({ orders: 0, totalSpent: 0, lastPurchase: null });
    const sale = (amountCents: number, soldOn: string) =>
      recordSale(db, { customer: 'li@example.com', product: 'Tea', amountCents, quantity: 1, soldOn, note: null }, meta('2025-06-01T00:00:00Z'));
    await sale(12_345, '2025-03-01');
    await sale(500, '2025-04-01');
    const late = await sale(99_900, '2025-05-01');
    await voidSale(db, late.sale.id, 'returned', meta('2025-06-02T00:00:00Z'));
    expect(await customerSalesTotals(db, li.id)).toEqual({ orders: 2, totalSpent: 12_845, lastPurchase: '2025-04-01' });
  });
});
