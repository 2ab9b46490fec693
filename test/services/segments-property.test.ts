// Property-style check of the expression language: many random expressions over a generated
// customer set; the members SQLite returns must equal those the test's own evaluator finds.
process.env.TZ = 'UTC';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import type { DB } from '../../src/db/schema.js';
import Database from 'better-sqlite3';
import { segmentMembersSql, type SegmentMember } from '../../src/db/segment-sql.js';
import { quintileCuts, quintileScore } from '../../src/domain/rfm.js';
import { whereCondition } from '../../src/services/segments.js';
import {
  NOW,
  evaluate,
  generateCustomers,
  insertCustomers,
  lastPurchase,
  orders,
  randomExpr,
  render,
  rng,
  totalSpent,
  type RefCustomer,
  type RefExpr,
} from '../helpers/segments-reference.js';

let dir: string;
let path: string;
let db: Kysely<DB>;
let customers: RefCustomer[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'crm-seg-prop-'));
  path = join(dir, 'crm.db');
  db = await openDatabase(path);
  customers = generateCustomers(160, 7);
  insertCustomers(path, customers);
});

afterAll(async () => {
  await db?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function members(expression: string): Promise<number[]> {
  const rows = await db.selectFrom('customers').select('customers.id').where(whereCondition(db, expression, new Date(NOW))).orderBy('customers.id').execute();
  return rows.map((r) => r.id);
}

describe('segment expressions against a reference evaluator', () => {
  it('finds exactly the customers the reference finds, for 600 random expressions', async () => {
    const random = rng(2025);
    let nonTrivial = 0;
    for (let i = 0; i < 600; i++) {
      const tree = randomExpr(random, 3);
      const text = render(random, tree);
      const expected = customers.filter((c) => evaluate(c, tree)).map((c) => c.id);
      if (expected.length > 0 && expected.length < customers.length) nonTrivial++;
      let actual: number[];
      try {
        actual = await members(text);
      } catch (error) {
        throw new Error(`expression ${i} failed: ${text}\n${error instanceof Error ? error.message : String(error)}`);
      }
      expect({ text, ids: actual }).toEqual({ text, ids: expected });
    }
    // The generator must exercise real selections, not only empty or full sets.
    expect(nonTrivial).toBeGreaterThan(300);
  });

  it('gives `not X` exactly the customers `X` leaves out, for every generated X', async () => {
    const random = rng(99);
    const all = customers.map((c) => c.id);
    for (let i = 0; i < 150; i++) {
      const text = render(random, randomExpr(random, 2));
      const inside = new Set(await members(text));
      const outside = await members(`not (${text})`);
      expect(outside).toEqual(all.filter((id) => !inside.has(id)));
    }
  });
});

// `segment show` reads members with one statement of its own (segment-sql.ts): customers with
// purchases joined to their sales and grouped (purchase conditions in HAVING), and customers without
// purchases with the purchase fields as constants. Same members, and the same figures, as the reference.
describe('segment show members query against the reference', () => {
  let raw: Database.Database;
  beforeAll(() => {
    raw = new Database(path, { readonly: true });
  });
  afterAll(() => raw?.close());

  function shown(expression: string): SegmentMember[] {
    const query = segmentMembersSql({ name: 'x', kind: 'expression', expression, description: null }, new Date(NOW), 'sqlite');
    return raw.prepare(query.sql).all(...query.params) as SegmentMember[];
  }
  const expected = (tree: RefExpr) =>
    customers
      .filter((c) => evaluate(c, tree))
      .map((c) => ({ id: c.id, total_spent: totalSpent(c), orders: orders(c), last_purchase: lastPurchase(c) }));
  const figures = (rows: SegmentMember[]) => rows.map((r) => ({ id: r.id, total_spent: r.total_spent, orders: r.orders, last_purchase: r.last_purchase }));

  it('finds the reference members with their spend, orders and last purchase, for 400 random expressions', () => {
    const random = rng(7007);
    let withPurchaseFields = 0;
    for (let i = 0; i < 400; i++) {
      // Every other expression is a conjunction, so purchase and plain conditions are split often.
      const tree: RefExpr = i % 2 === 0 ? randomExpr(random, 3) : { type: 'and', left: randomExpr(random, 2), right: randomExpr(random, 2) };
      const text = render(random, tree);
      if (/total_spent|orders|last_purchase/.test(text)) withPurchaseFields++;
      expect({ text, rows: figures(shown(text)) }).toEqual({ text, rows: expected(tree) });
    }
    expect(withPurchaseFields).toBeGreaterThan(150);
  });

  it('includes customers without purchases exactly when the purchase conditions allow them', () => {
    const cases: Array<[string, (c: RefCustomer) => boolean]> = [
      ['orders = 0', (c) => orders(c) === 0],
      ['total_spent > 1000 and city = "Shanghai"', (c) => totalSpent(c) > 100000 && c.city?.toLowerCase() === 'shanghai'],
      ['last_purchase is empty or tag = "vip"', (c) => lastPurchase(c) === null || c.tags.includes('vip')],
      ['not total_spent > 5 and age < 40', (c) => totalSpent(c) <= 500 && c.age !== null && c.age < 40],
    ];
    for (const [text, wanted] of cases) {
      const members = customers.filter(wanted);
      expect(members.some((c) => orders(c) === 0) || text.includes('1000'), text).toBe(true);
      expect(figures(shown(text)), text).toEqual(members.map((c) => ({ id: c.id, total_spent: totalSpent(c), orders: orders(c), last_purchase: lastPurchase(c) })));
    }
  });
});

describe('the contract\'s finer points, on four hand-made customers', () => {
  let small: Kysely<DB>;
  let smallDir: string;
  // 1: churned, bought 10 days ago · 2: no tags, never bought · 3: vip, bought 200 days ago ·
  // 4: no tags, only a voided sale 5 days ago. Saved churn-risk scores, latest last: 1: 0.9 then
  // 0.4 · 2: none · 3: 0.75 · 4: 0.2 then 0.95
  const people: RefCustomer[] = [
    { id: 1, name: 'Ann', email: null, phone: null, age: 30, gender: 'female', company: null, city: 'Shanghai', source: null, created_at: '2025-01-10T08:00:00.000Z', tags: ['churned'], fields: { plan: 'Gold' }, sales: [{ amount_cents: 150000, sold_on: '2025-05-22', voided: false }], tickets: ['open', 'closed'], risks: [0.9, 0.4] },
    { id: 2, name: 'Bo', email: null, phone: null, age: null, gender: null, company: null, city: null, source: null, created_at: '2025-05-31T23:59:59.000Z', tags: [], fields: {}, sales: [], tickets: [], risks: [] },
    { id: 3, name: 'Cy', email: null, phone: null, age: 41, gender: 'male', company: null, city: 'shanghai', source: null, created_at: '2024-06-01T00:00:00.000Z', tags: ['vip'], fields: { level: '10' }, sales: [{ amount_cents: 99999, sold_on: '2024-11-13', voided: false }], tickets: ['pending'], risks: [0.75] },
    { id: 4, name: 'Di', email: null, phone: null, age: 25, gender: 'other', company: null, city: 'Berlin', source: null, created_at: '2025-02-01T12:00:00.000Z', tags: [], fields: { level: '9' }, sales: [{ amount_cents: 500000, sold_on: '2025-05-27', voided: true }], tickets: [], risks: [0.2, 0.95] },
  ];
  beforeAll(async () => {
    smallDir = mkdtempSync(join(tmpdir(), 'crm-seg-small-'));
    small = await openDatabase(join(smallDir, 'crm.db'));
    insertCustomers(join(smallDir, 'crm.db'), people);
  });
  afterAll(async () => {
    await small?.destroy();
    rmSync(smallDir, { recursive: true, force: true });
  });

  const examples: Array<[string, number[]]> = [
    ['not tag = "churned"', [2, 3, 4]],
    ['tag != "churned"', [2, 3, 4]],
    ['tag is empty', [2, 4]],
    ['last_purchase < 90d', [1]],
    ['last_purchase > 90d', [3]],
    ['last_purchase is empty', [2, 4]],
    ['last_purchase between 2024-11-13 and 2025-05-22', [1, 3]],
    ['total_spent > 1000', [1]],
    ['total_spent >= 999.99', [1, 3]],
    ['total_spent = 0', [2, 4]],
    ['orders = 0', [2, 4]],
    ['open_tickets = 1', [1, 3]],
    ['churn_risk > 0.7', [3, 4]],
    ['churn_risk >= 40%', [1, 3, 4]],
    ['churn_risk = 0.4', [1]],
    ['churn_risk is empty', [2]],
    ['not churn_risk > 0.7', [1, 2]],
    ['churn_risk between 0.3 and 0.8', [1, 3]],
    ['city = "SHANGHAI"', [1, 3]],
    ['city != "shanghai"', [2, 4]],
    ['city ~ "ang"', [1, 3]],
    ['age between 25 and 30', [1, 4]],
    ['age != 30', [2, 3, 4]],
    ['age is empty', [2]],
    ['created = 2025-05-31', [2]],
    ['created >= yesterday', [2]],
    ['created < 1y', []],
    ['field.plan = "gold"', [1]],
    ['field.level > 9', [3]],
    ['field.level >= 9', [3, 4]],
    ['field.level is empty', [1, 2]],
    ['gender in ("F", "m")', [1, 3]],
    ['not age > 26 or city = "Berlin" and tag is empty', [2, 4]],
    ['(not age > 26 or city = "Berlin") and tag is empty', [2, 4]],
    ['not (age > 26 or city = "Berlin")', [2]],
  ];
  for (const [expression, ids] of examples) {
    it(`${expression} → ${JSON.stringify(ids)}`, async () => {
      if (expression === 'created < 1y') {
        await expect(async () => whereCondition(db, expression, new Date(NOW))).rejects.toThrow(/date or an age/);
        return;
      }
      const rows = await small.selectFrom('customers').select('customers.id').where(whereCondition(small, expression, new Date(NOW))).orderBy('customers.id').execute();
      expect(rows.map((r) => r.id)).toEqual(ids);
    });
  }
});

describe('compiled SQL', () => {
  it('carries every value as a bound parameter and none in the SQL text', () => {
    const expression = `name = "Robert'); DROP TABLE customers;--" or city in ("Xq1", 'Xq2') or field.zzkey ~ "Xq3" or tag = "Xq4"
      or total_spent between 1234 and 5678 or last_purchase < 77d or created >= 2024-02-03 or age != 61 or company is empty`;
    const query = db.selectFrom('customers').select('customers.id').where(whereCondition(db, expression, new Date(NOW))).compile();
    for (const text of ['Robert', 'DROP', 'Xq1', 'Xq2', 'Xq3', 'Xq4', 'zzkey', '1234', '123400', '5678', '567800', '77', '2024-02-03', '61']) {
      expect(query.sql, text).not.toContain(text);
    }
    expect(query.parameters).toEqual(
      expect.arrayContaining(["Robert'); DROP TABLE customers;--", 'Xq1', 'Xq2', 'zzkey', 'Xq3', 'Xq4', 123400, 567800, '2025-03-16', 61]),
    );
  });
});

describe('RFM quintile cut points', () => {
  it('score like the rank formula 1 + floor(5 × smaller / n), ties and small sets included', () => {
    const random = rng(5150);
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + Math.floor(random() * (trial < 100 ? 12 : 200));
      const spread = 1 + Math.floor(random() * (trial % 3 === 0 ? 4 : 1000));
      const values = Array.from({ length: n }, () => Math.floor(random() * spread) - (trial % 5 === 0 ? 50 : 0));
      const cuts = quintileCuts(values);
      for (const v of values) {
        const smaller = values.filter((x) => x < v).length;
        expect(quintileScore(v, cuts), `${values.join(',')} at ${v}`).toBe(1 + Math.floor((5 * smaller) / n));
      }
    }
    expect(quintileCuts([])).toEqual([]);
  });
});
