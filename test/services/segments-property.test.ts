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
import { whereCondition } from '../../src/services/segments.js';
import { NOW, evaluate, generateCustomers, insertCustomers, randomExpr, render, rng, type RefCustomer } from '../helpers/segments-reference.js';

let dir: string;
let db: Kysely<DB>;
let customers: RefCustomer[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'crm-seg-prop-'));
  const path = join(dir, 'crm.db');
  db = await openDatabase(path);
  customers = generateCustomers(160, 7);
  insertCustomers(path, customers);
});

afterAll(async () => {
  await db?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function members(expression: string): Promise<number[]> {
  const rows = await db.selectFrom('customers').select('customers.id').where(whereCondition(expression, new Date(NOW))).orderBy('customers.id').execute();
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
