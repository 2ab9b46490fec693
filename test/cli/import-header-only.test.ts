// A header-only file is an import of nothing (a nightly export on a day without new rows), not an
// error; a 0-byte file still is one, because it is not even a CSV file with a header.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';

const env = { CRM_NOW: '2025-06-01T10:00:00Z' };
const HEADERS = {
  customers: 'name,email,phone,city,tags',
  sales: 'customer,product,quantity,amount,date',
  activities: 'customer,type,at,direction,summary',
  tickets: 'customer,subject,priority,kind',
};
let box: Sandbox;
let before: string;

beforeAll(() => {
  box = sandbox();
  box.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com'], { env });
  before = box.dump();
});
afterAll(() => box?.cleanup());

const file = (name: string, text: string) => {
  const path = join(box.dir, name);
  writeFileSync(path, text);
  return path;
};

describe('import of a header-only file', () => {
  for (const [kind, header] of Object.entries(HEADERS)) {
    it(`${kind}: exit 0, "imported 0, …", nothing written`, () => {
      const result = box.run(['import', kind, file(`${kind}.csv`, `${header}\n`)], { env });
      expect(result.code).toBe(0);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^imported 0, updated 0, skipped 0, rejected 0 in \d+\.\d s\n$/);
      expect(box.dump()).toBe(before);
    });
  }

  it('a header without a line break, and CRLF, are header-only too', () => {
    for (const text of [HEADERS.customers, `${HEADERS.customers}\r\n`]) {
      const result = box.run(['import', 'customers', file('bare.csv', text)], { env });
      expect(result.code, JSON.stringify(text)).toBe(0);
      expect(result.stderr).toMatch(/^imported 0, /);
    }
    expect(box.dump()).toBe(before);
  });

  it('--format json prints the summary with zeros', () => {
    const result = box.run(['import', 'sales', file('sales.csv', `${HEADERS.sales}\n`), '--format', 'json'], { env });
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ kind: 'sales', dry_run: false, rows: 0, imported: 0, updated: 0, skipped: 0, rejected: 0, stamped_now: 0, audit_id: null, rejects: null });
    expect(box.dump()).toBe(before);
  });

  it('the header is still checked: an unknown column is an error', () => {
    const result = box.run(['import', 'customers', file('unknown.csv', 'name,colour\n')], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: line 1: unknown column "colour"$/m);
  });

  it('a 0-byte file stays an error that says the file is empty', () => {
    const result = box.run(['import', 'customers', file('empty.csv', '')], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .*empty\.csv is empty \(0 bytes\)$/m);
    expect(box.dump()).toBe(before);
  });
});
