// The churn-risk history read on a fresh migrated database (SQLite, or PostgreSQL with
// CRM_TEST_BACKEND=postgres): every customer's live sales up to the as-of day, in day order, however
// many customers and sales there are (enough here that the read grows its per-customer columns,
// fills several blocks of sales and needs one block larger than the rest for a single customer).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import { openDatabase } from '../../src/db/connection.js';
import { readRiskHistory } from '../../src/db/risk-history.js';
import type { DB } from '../../src/db/schema.js';
import { createPgDatabase, dropPgDatabase, ON_POSTGRES, pgUrl } from '../helpers/cli.js';
import { rng } from '../helpers/random.js';

const DAY_MS = 86_400_000;
const dayNumber = (day: string) => Date.parse(`${day}T00:00:00Z`) / DAY_MS;
const dayOf = (n: number) => new Date(n * DAY_MS).toISOString().slice(0, 10);
const AS_OF = '2025-12-31';
const CUSTOMERS = 5_000;
const SALES_EACH = 20;
const BIG_CUSTOMER_SALES = 80_000;

let dir: string;
let pgDatabase: string | undefined;
let db: Kysely<DB>;
/** What the read should give: each customer's live sales up to AS_OF as `day cents`, sorted. */
const expected = new Map<number, string[]>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'crm-risk-history-'));
  if (ON_POSTGRES) pgDatabase = createPgDatabase();
  db = pgDatabase ? await openDatabase(pgUrl(pgDatabase), { env: { ...process.env, CRM_PG_UNVERIFIED: '1' } }) : await openDatabase(join(dir, 'crm.db'));
  const random = rng(17);
  const at = '2026-01-01T00:00:00.000Z';
  const customers = Array.from({ length: CUSTOMERS + 1 }, (_, i) => ({ name: `Customer ${i + 1}`, created_at: at, updated_at: at }));
  const sales: Array<{ customer_id: number; product: string; amount_cents: number; sold_on: string; created_at: string; voided_at: string | null }> = [];
  const from = dayNumber('2019-01-01');
  const add = (customer: number) => {
    const day = from + Math.floor(random() * 2_600); // up to mid 2026: some after the as-of day
    const cents = Math.floor(random() * 200_000) - 20_000; // refunds too
    const voided = random() < 0.05;
    sales.push({ customer_id: customer, product: 'Tea', amount_cents: cents, sold_on: dayOf(day), created_at: at, voided_at: voided ? at : null });
    if (voided || dayOf(day) > AS_OF) return;
    let list = expected.get(customer);
    if (!list) expected.set(customer, (list = []));
    list.push(`${day} ${cents}`);
  };
  for (let c = 1; c <= CUSTOMERS; c++) for (let s = 0; s < SALES_EACH; s++) add(c);
  for (let s = 0; s < BIG_CUSTOMER_SALES; s++) add(CUSTOMERS + 1);
  // One sale of more cents than 32 bits hold.
  sales.push({ customer_id: 3, product: 'Teahouse', amount_cents: 5_000_000_000, sold_on: '2024-02-29', created_at: at, voided_at: null });
  expected.get(3)!.push(`${dayNumber('2024-02-29')} 5000000000`);
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < customers.length; i += 1_000) await trx.insertInto('customers').values(customers.slice(i, i + 1_000)).execute();
    for (let i = 0; i < sales.length; i += 5_000) await trx.insertInto('sales').values(sales.slice(i, i + 5_000)).execute();
  });
}, 60_000);

afterAll(async () => {
  await db.destroy();
  if (pgDatabase) dropPgDatabase(pgDatabase);
  rmSync(dir, { recursive: true, force: true });
});

describe('readRiskHistory', () => {
  it('gives every customer with a live sale up to the day, by id, with those sales in day order', async () => {
    const { sales } = await readRiskHistory(db, AS_OF, '2026-01-01T00:00:00.000Z');
    expect([...sales.customers]).toEqual([...expected.keys()].sort((a, b) => a - b));
    const outOfOrder: number[] = [];
    const mismatched: number[] = [];
    for (let i = 0; i < sales.customers.length; i++) {
      const { days, cents } = sales.blocks[sales.blockOf[i]!]!;
      const read: string[] = [];
      for (let j = sales.starts[i]!; j < sales.ends[i]!; j++) {
        if (j > sales.starts[i]! && days[j]! < days[j - 1]!) outOfOrder.push(sales.customers[i]!);
        read.push(`${days[j]} ${cents[j]}`);
      }
      if (read.sort().join() !== expected.get(sales.customers[i]!)!.sort().join()) mismatched.push(sales.customers[i]!);
    }
    expect(outOfOrder).toEqual([]);
    expect(mismatched).toEqual([]);
    expect(new Set(sales.blockOf).size).toBeGreaterThan(2);
  });
});
