// `crm export … --segment NAME`: only the segment's customers, and only their sales.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';

const env = { CRM_NOW: '2025-06-01T09:00:00Z' };
let box: Sandbox;

beforeAll(() => {
  box = sandbox();
  box.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com', '--city', 'Shanghai'], { env });
  box.ok(['customer', 'add', '--name', 'Anna Berg', '--email', 'anna@example.com', '--city', 'Berlin'], { env });
  box.ok(['customer', 'add', '--name', 'Zhou Min', '--email', 'zhou@example.com', '--city', 'shanghai'], { env });
  box.ok(['sale', 'record', '--customer', 'li@example.com', '--product', 'Tea', '--amount', '10', '--date', '2025-05-01'], { env });
  box.ok(['sale', 'record', '--customer', 'anna@example.com', '--product', 'Pot', '--amount', '20', '--date', '2025-05-02'], { env });
  box.ok(['sale', 'record', '--customer', 'zhou@example.com', '--product', 'Cup', '--amount', '30', '--date', '2025-05-03'], { env });
  box.ok(['segment', 'create', 'shanghai', '--where', 'city = "Shanghai"'], { env });
});
afterAll(() => box.cleanup());

describe('export --segment', () => {
  it('exports only the customers in the segment', () => {
    const rows = JSON.parse(box.ok(['export', 'customers', '--segment', 'shanghai', '--format', 'json'], { env })) as { email: string }[];
    expect(rows.map((r) => r.email)).toEqual(['li@example.com', 'zhou@example.com']);
  });

  it('exports only the sales of those customers', () => {
    const rows = JSON.parse(box.ok(['export', 'sales', '--segment', 'shanghai', '--format', 'json'], { env })) as { product: string; amount_cents: number }[];
    expect(rows.map((r) => [r.product, r.amount_cents])).toEqual([
      ['Tea', 1000],
      ['Cup', 3000],
    ]);
  });

  it('an unknown segment is exit 1 and writes no file', () => {
    const result = box.run(['export', 'customers', '--segment', 'nope', '--output', `${box.dir}/out.csv`], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: no segment named "nope"/m);
    expect(existsSync(`${box.dir}/out.csv`)).toBe(false);
  });
});
